import { cpSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PROJECT_ROOT = join(__dirname, "..", "..", "..");

/** The demo seed store's passphrase (public: demo/seeds.pskc holds made-up seeds). */
export const DEMO_SEED_PASSPHRASE = "entra-tokens demo passphrase (public, demo only)";
/** The serials of the demo tokens.yaml. */
export const DEMO_SERIALS = ["60234561", "60234562", "60234563", "60234564", "60234565", "60234566", "FT-0001"];
/** A second tenant's directory id (its own emulator), beside the test emulator's TENANT. */
export const OTHER_TENANT = "22222222-3333-4444-8555-666666666666";

/**
 * A copy of the project as a user's clone has it after `npm ci && npm run build`: Pulumi.yaml,
 * package.json, stacks/, tokens.yaml, the demo seeds and dist/ exactly as shipped (node_modules
 * linked), so a test can edit tokens.yaml without touching the repository.
 */
export function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "entra-pulumi-"));
  for (const entry of ["Pulumi.yaml", "package.json", "stacks", "tokens.yaml", "demo", "schemas", "dist"]) {
    cpSync(join(PROJECT_ROOT, entry), join(dir, entry), { recursive: true, filter: (source) => !source.includes(`${join("dist", "test-tls")}`) });
  }
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}
