import { resolve } from "node:path";
import type { TokenCredential } from "@azure/identity";
import { formatDiagnostic } from "../desired/diagnostics.js";
import { loadDesired } from "../desired/load.js";
import { checkSignedInTenant } from "../reconcile/tenant.js";
import { projectRoot } from "./project-root.js";
import { NAMESPACE } from "./stack-settings.js";

// The provider's own tenant check. The program checks the credentials before it registers anything,
// but `pulumi refresh` and `pulumi destroy` run the provider without the program: with another
// tenant's credentials a refresh would find none of the stack's devices and drop them from the
// state, a destroy would delete by serial in the wrong tenant. So the provider process reads the
// tenant from the stack's tokens file (`entra-tokens:tokensFile`, as the program does) and checks
// the credentials' `tid` once, before its first Graph request.

/** The stack's tokens file could not be read, so the provider cannot tell which tenant the stack is for. */
export class StackTokensFileError extends Error {}

/** Refuses credentials of another tenant than the stack's tokens file declares; a file naming no tenant checks nothing (one-tenant repositories). */
export async function checkProviderTenant(readConfig: (key: string) => unknown, credential: TokenCredential): Promise<void> {
  const named = readConfig(`${NAMESPACE}:tokensFile`);
  const file = resolve(projectRoot(), typeof named === "string" && named !== "" ? named : "tokens.yaml");
  // Only the tenant is needed: seed paths are the program's concern.
  const loaded = await loadDesired(file, { allowSeedsOutsideRepository: true });
  if (!loaded.ok) {
    throw new StackTokensFileError(
      `entra-tokens checks that the credentials sign in to the tenant the stack's tokens file declares, and could not read ${file}; nothing was sent to Entra:\n` +
        `${loaded.diagnostics.map(formatDiagnostic).join("\n")}\nFix: run pulumi in the project whose stack names this file (${NAMESPACE}:tokensFile), or correct the file (npx entra-tokens validate -f ${file})`,
    );
  }
  if (loaded.desired.tenant) await checkSignedInTenant(credential, loaded.desired.tenant, file);
}
