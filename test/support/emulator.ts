import { GraphEmulator, type EmulatorOptions } from "../../emulator/server.js";
import type { AppRegistration } from "../../emulator/auth.js";
import { demoUsers } from "../../emulator/demo.js";
import { testTls } from "./tls.js";

export const TENANT = "11111111-2222-4333-8444-555555555555";
export const FULL_ROLES = ["Policy.ReadWrite.AuthenticationMethod", "UserAuthenticationMethod.ReadWrite.All", "User.Read.All"];

/** The test apps sign in with a client secret. */
export type SecretApp = AppRegistration & { clientSecret: string };

export const ADMIN_APP: SecretApp = { clientId: "admin-app", clientSecret: "admin-secret-value-123", roles: FULL_ROLES };
export const READER_APP: SecretApp = { clientId: "reader-app", clientSecret: "reader-secret-value-456", roles: ["Policy.Read.All", "UserAuthenticationMethod.Read.All", "User.Read.All"] };
export const NOTHING_APP: SecretApp = { clientId: "nothing-app", clientSecret: "nothing-secret-value-789", roles: [] };

/**
 * An emulator on a free loopback port with the demo users and three apps of different rights.
 * Tests get every documented response shape by default (`variant: "mix"`, seeded so a run repeats);
 * pass `variant` to pin one shape (see emulator/variants.ts).
 */
export function startEmulator(options: EmulatorOptions = {}): Promise<GraphEmulator> {
  return GraphEmulator.start({
    tenantId: TENANT,
    apps: [ADMIN_APP, READER_APP, NOTHING_APP],
    snapshot: { users: demoUsers(), devices: [] },
    variant: "mix",
    variantSeed: 1,
    ...options,
  });
}

export async function tokenFor(emulator: GraphEmulator, app: SecretApp): Promise<string> {
  const response = await fetch(`${emulator.url}/${TENANT}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: app.clientId, client_secret: app.clientSecret, scope: "https://graph.microsoft.com/.default" }),
  });
  const body: unknown = await response.json();
  if (typeof body !== "object" || body === null || !("access_token" in body) || typeof body.access_token !== "string") {
    throw new Error(`no token: ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, read only by assertions (which fail on any unexpected shape). */
  body: any;
}

/** One raw Graph call, as any HTTP client would make it. */
export async function call(emulator: GraphEmulator, token: string | undefined, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const url = path.startsWith("http") ? path : `${emulator.graphUrl}${path}`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers["authorization"] = `Bearer ${token}`;
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) };
}

/** Environment for a client (in-process or the CLI) to reach `emulator` as `app`. */
export function clientEnv(emulator: GraphEmulator, app: SecretApp = ADMIN_APP): Record<string, string> {
  return {
    AZURE_TENANT_ID: TENANT,
    AZURE_CLIENT_ID: app.clientId,
    AZURE_CLIENT_SECRET: app.clientSecret,
    AZURE_AUTHORITY_HOST: emulator.url,
    ENTRA_TOKENS_GRAPH_URL: emulator.graphUrl,
    NODE_EXTRA_CA_CERTS: process.env["NODE_EXTRA_CA_CERTS"] ?? "",
  };
}

/** An HTTPS emulator the test process trusts (see prepare-tls). */
export function startHttpsEmulator(options: EmulatorOptions = {}): Promise<GraphEmulator> {
  return startEmulator({ https: testTls(), ...options });
}
