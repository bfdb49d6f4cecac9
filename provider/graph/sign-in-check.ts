import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { connectionProblem } from "./connection.js";
import { CredentialConfigError } from "./errors.js";

// MSAL reports an authority it cannot reach, or a tenant the authority does not know, as
// "endpoints_resolution_error: Endpoints cannot be resolved", which names neither the URL nor the
// setting. When a sign-in fails without Entra's own AADSTS reason, one request to the tenant's
// OpenID metadata (what MSAL asked for) tells which it was.

const DEFAULT_AUTHORITY = "https://login.microsoftonline.com";
const PROBE_TIMEOUT_MS = 5_000;
const EARLY_CHECK_MS = 1_000;

export interface Authority {
  /** AZURE_AUTHORITY_HOST, or undefined for Entra's public cloud. */
  host: string | undefined;
  tenantId: string;
}

/** `credential`, whose sign-in failures name the unreachable URL or the unknown tenant and the fix. */
export function explainSignInFailures(credential: TokenCredential, authority: Authority): TokenCredential {
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const token = credential.getToken(scopes, options);
      // The identity library retries a refused connection for several seconds before giving up:
      // a sign-in still pending after a second is checked alongside, and a sure diagnosis wins.
      let timer: NodeJS.Timeout | undefined;
      const early = new Promise<Error | undefined>((resolve) => {
        timer = setTimeout(() => void diagnose(authority).then(resolve), EARLY_CHECK_MS);
        timer.unref();
      });
      try {
        const first = await Promise.race([token.then((value) => ({ value })), early.then((diagnosis) => ({ diagnosis }))]);
        if ("value" in first) return first.value;
        if (first.diagnosis) {
          token.catch(() => undefined);
          throw first.diagnosis;
        }
        return await token;
      } catch (error: unknown) {
        const message = error instanceof Error ? error.message : String(error);
        if (error instanceof CredentialConfigError || /AADSTS\d+/.test(message)) throw error;
        throw (await diagnose(authority)) ?? error;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

async function diagnose(authority: Authority): Promise<Error | undefined> {
  const host = (authority.host ?? DEFAULT_AUTHORITY).replace(/\/+$/, "");
  const hostSetting = authority.host ? "AZURE_AUTHORITY_HOST" : `the default sign-in host (${DEFAULT_AUTHORITY}; AZURE_AUTHORITY_HOST changes it)`;
  const url = `${host}/${encodeURIComponent(authority.tenantId)}/v2.0/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  } catch (error: unknown) {
    const problem = connectionProblem("the Entra sign-in endpoint", { url, setting: hostSetting }, error);
    if (problem) return new CredentialConfigError(`sign-in failed: ${problem.message}`, "sign in");
    if (error instanceof Error && error.name === "TimeoutError") {
      return new CredentialConfigError(`sign-in failed: the Entra sign-in endpoint at ${url} did not answer within ${PROBE_TIMEOUT_MS / 1000} s (the host comes from ${hostSetting}). Fix: check ${authority.host ? "AZURE_AUTHORITY_HOST and " : ""}the network or proxy`, "sign in");
    }
    return undefined;
  }
  if (response.status === 400 || response.status === 404) {
    return new CredentialConfigError(
      `sign-in failed: ${host} knows no tenant "${authority.tenantId}" (HTTP ${response.status} for ${url}). Fix: set AZURE_TENANT_ID to your tenant's id (Entra admin center → Overview → Tenant ID) or its primary domain` +
        (authority.host ? `, and check that AZURE_AUTHORITY_HOST (${authority.host}) is the right login host` : ""),
      "sign in",
    );
  }
  if (!response.ok) {
    return new CredentialConfigError(`sign-in failed: ${url} answered HTTP ${response.status}, not Entra's OpenID metadata (the host comes from ${hostSetting}). Fix: check ${authority.host ? "AZURE_AUTHORITY_HOST" : "the network or proxy"}`, "sign in");
  }
  return undefined;
}
