import {
  AzureCliCredential,
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from "@azure/identity";
import { credentialAfterReading, readCredentialFile } from "./credential-files.js";
import { escapeTerminal } from "../safety/escape.js";
import { usableUrl } from "./connection.js";
import { CredentialConfigError } from "./errors.js";
import { explainSignInFailures } from "./sign-in-check.js";

// Credentials from the standard AZURE_* variables, so the same settings work for the Azure SDKs,
// the az CLI and GitHub Actions. ENTRA_TOKENS_AUTH forces one kind; otherwise the first that is
// configured wins, in the order below.

export const AUTH_KINDS = ["client-secret", "certificate", "workload-identity", "github-oidc", "azure-cli", "managed-identity"] as const;
export type AuthKind = (typeof AUTH_KINDS)[number];

export interface CredentialChoice {
  kind: AuthKind;
  credential: TokenCredential;
}

type Env = Readonly<Record<string, string | undefined>>;

export function credentialFromEnv(env: Env = process.env): CredentialChoice {
  checkTenantId(env["AZURE_TENANT_ID"]);
  const choice = chooseCredential(env);
  const tenantId = env["AZURE_TENANT_ID"];
  // Kinds that sign in at AZURE_AUTHORITY_HOST get failures that name that URL and the fix.
  if (tenantId && ["client-secret", "certificate", "workload-identity", "github-oidc"].includes(choice.kind)) {
    return { kind: choice.kind, credential: explainSignInFailures(choice.credential, { host: env["AZURE_AUTHORITY_HOST"], tenantId }) };
  }
  return choice;
}

// A tenant is named by its ID (a GUID) or a domain; the identity library builds a regular
// expression from the value (msal/utils.js getAuthority), which a long one breaks.
const TENANT_ID = /^[0-9A-Za-z.-]{1,253}$/;

function checkTenantId(tenantId: string | undefined): void {
  if (tenantId === undefined || tenantId === "" || TENANT_ID.test(tenantId)) return;
  const why = tenantId.length > 253 ? `is ${tenantId.length} characters long` : "holds characters no tenant ID or domain has";
  throw new CredentialConfigError(
    `AZURE_TENANT_ID=${escapeTerminal(tenantId, 60)} ${why}; nothing was sent. Fix: set AZURE_TENANT_ID to the tenant's ID (a GUID: Entra admin center, Overview, Tenant ID) or its domain, e.g. contoso.onmicrosoft.com`,
    "choose credentials",
  );
}

function chooseCredential(env: Env): CredentialChoice {
  const forced = env["ENTRA_TOKENS_AUTH"];
  if (forced !== undefined && !(AUTH_KINDS as readonly string[]).includes(forced)) {
    throw new CredentialConfigError(`ENTRA_TOKENS_AUTH=${escapeTerminal(forced, 60)} is not a kind of sign-in we know; nothing was sent. Fix: set ENTRA_TOKENS_AUTH to one of ${AUTH_KINDS.join(", ")}, or unset it to pick the kind from the AZURE_* variables`, "choose credentials");
  }
  const kind = (forced as AuthKind | undefined) ?? detect(env);
  if (kind === undefined) {
    throw new CredentialConfigError(
      "No Entra credentials found. Set AZURE_TENANT_ID and AZURE_CLIENT_ID plus one of: AZURE_CLIENT_SECRET; " +
        "AZURE_CLIENT_CERTIFICATE_PATH; AZURE_FEDERATED_TOKEN_FILE; or run in GitHub Actions with `permissions: id-token: write`. " +
        "Or set ENTRA_TOKENS_AUTH=azure-cli (after `az login`) or ENTRA_TOKENS_AUTH=managed-identity.",
      "choose credentials",
    );
  }
  const authorityHost = env["AZURE_AUTHORITY_HOST"];
  // MSAL asks login.microsoftonline.com to vouch for an authority it does not know; a private
  // authority (the emulator, a proxy) cannot be vouched for, so skip that discovery for it.
  const options = authorityHost ? { authorityHost, disableInstanceDiscovery: !isMicrosoftAuthority(authorityHost) } : {};
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new CredentialConfigError(`${kind} authentication needs ${name}; set it in the environment`, "choose credentials");
    return value;
  };
  switch (kind) {
    case "client-secret":
      return { kind, credential: new ClientSecretCredential(need("AZURE_TENANT_ID"), need("AZURE_CLIENT_ID"), need("AZURE_CLIENT_SECRET"), options) };
    case "certificate": {
      const [tenantId, clientId, path] = [need("AZURE_TENANT_ID"), need("AZURE_CLIENT_ID"), need("AZURE_CLIENT_CERTIFICATE_PATH")];
      const password = env["AZURE_CLIENT_CERTIFICATE_PASSWORD"];
      return {
        kind,
        credential: credentialAfterReading(async () => {
          const certificate = { certificate: await readCredentialFile("AZURE_CLIENT_CERTIFICATE_PATH", path), ...(password ? { certificatePassword: password } : {}) };
          return new ClientCertificateCredential(tenantId, clientId, certificate, options);
        }),
      };
    }
    case "workload-identity": {
      // What WorkloadIdentityCredential is (a client assertion read from the file), reading the
      // file through our guards, each time an assertion is needed (the file is rotated).
      const [tenantId, clientId, path] = [need("AZURE_TENANT_ID"), need("AZURE_CLIENT_ID"), need("AZURE_FEDERATED_TOKEN_FILE")];
      const assertion = () => readCredentialFile("AZURE_FEDERATED_TOKEN_FILE", path);
      return { kind, credential: credentialAfterReading(async () => (await assertion(), new ClientAssertionCredential(tenantId, clientId, assertion, options))) };
    }
    case "github-oidc": {
      const requestUrl = need("ACTIONS_ID_TOKEN_REQUEST_URL");
      const requestToken = need("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
      return { kind, credential: new ClientAssertionCredential(need("AZURE_TENANT_ID"), need("AZURE_CLIENT_ID"), () => githubOidcToken(requestUrl, requestToken), options) };
    }
    case "azure-cli":
      return { kind, credential: new AzureCliCredential(env["AZURE_TENANT_ID"] ? { tenantId: env["AZURE_TENANT_ID"] } : {}) };
    case "managed-identity": {
      const clientId = env["AZURE_CLIENT_ID"];
      const credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
      // With AZURE_FEDERATED_TOKEN_FILE set, the library signs in with that file (its own readFile,
      // managedIdentityCredential/tokenExchangeMsi.js): it is checked through our guards first.
      const federated = env["AZURE_FEDERATED_TOKEN_FILE"];
      return { kind, credential: federated ? credentialAfterReading(async () => (await readCredentialFile("AZURE_FEDERATED_TOKEN_FILE", federated), credential)) : credential };
    }
  }
}

const MICROSOFT_AUTHORITIES = ["login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn", "login.microsoft.com"];

function isMicrosoftAuthority(authorityHost: string): boolean {
  return MICROSOFT_AUTHORITIES.includes(usableUrl("the Entra sign-in endpoint", { url: authorityHost, setting: "AZURE_AUTHORITY_HOST" }, "https://login.microsoftonline.com").hostname);
}

function detect(env: Env): AuthKind | undefined {
  if (env["AZURE_CLIENT_SECRET"]) return "client-secret";
  if (env["AZURE_CLIENT_CERTIFICATE_PATH"]) return "certificate";
  if (env["AZURE_FEDERATED_TOKEN_FILE"]) return "workload-identity";
  if (env["ACTIONS_ID_TOKEN_REQUEST_URL"] && env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] && env["AZURE_CLIENT_ID"]) return "github-oidc";
  return undefined;
}

/** GitHub Actions' OIDC token for Entra's federated credential audience. */
async function githubOidcToken(requestUrl: string, requestToken: string): Promise<string> {
  const url = new URL(requestUrl);
  url.searchParams.set("audience", "api://AzureADTokenExchange");
  const response = await fetch(url, { headers: { authorization: `Bearer ${requestToken}` } });
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok || typeof body !== "object" || body === null || !("value" in body) || typeof body.value !== "string") {
    throw new CredentialConfigError(
      `GitHub Actions did not issue an OIDC token (HTTP ${response.status}); give the job \`permissions: id-token: write\``,
      "get a GitHub OIDC token",
    );
  }
  return body.value;
}
