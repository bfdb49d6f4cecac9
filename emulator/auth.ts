import { generateKeyPairSync, randomUUID, sign, timingSafeEqual, verify, type KeyObject } from "node:crypto";

// The identity side: an OAuth2 client-credentials token endpoint issuing RS256 JWTs whose
// `roles` claim comes from the configured app registration, and their verification.

export const GRAPH_AUDIENCE = "https://graph.microsoft.com";

export interface AppRegistration {
  clientId: string;
  clientSecret: string;
  displayName?: string;
  /** Application permissions granted with admin consent, e.g. Policy.ReadWrite.AuthenticationMethod. */
  roles: string[];
}

export interface AccessClaims {
  appId: string;
  roles: string[];
}

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

const TOKEN_LIFETIME_SECONDS = 3600;

export class Authority {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly keyId = randomUUID();

  constructor(
    readonly tenantId: string,
    private readonly apps: AppRegistration[],
    private readonly now: () => number = Date.now,
  ) {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  /** The client-credentials grant. */
  issue(form: URLSearchParams): { access_token: string; token_type: "Bearer"; expires_in: number; ext_expires_in: number } {
    if (form.get("grant_type") !== "client_credentials") {
      throw new OAuthError(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type; only client_credentials is supported.");
    }
    const clientId = form.get("client_id") ?? "";
    const app = this.apps.find((a) => a.clientId === clientId);
    if (!app) {
      throw new OAuthError(400, "unauthorized_client", `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${this.tenantId}'.`);
    }
    const secret = form.get("client_secret") ?? "";
    if (!sameText(secret, app.clientSecret)) {
      throw new OAuthError(401, "invalid_client", `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
    }
    const scope = form.get("scope") ?? "";
    if (!scope.split(" ").includes(`${GRAPH_AUDIENCE}/.default`)) {
      throw new OAuthError(400, "invalid_scope", `AADSTS1002012: The provided value for scope '${scope}' is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`);
    }
    const nowSeconds = Math.floor(this.now() / 1000);
    const token = this.sign({
      aud: GRAPH_AUDIENCE,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat: nowSeconds,
      nbf: nowSeconds,
      exp: nowSeconds + TOKEN_LIFETIME_SECONDS,
      appid: app.clientId,
      app_displayname: app.displayName ?? app.clientId,
      idtyp: "app",
      roles: app.roles,
      tid: this.tenantId,
    });
    return { access_token: token, token_type: "Bearer", expires_in: TOKEN_LIFETIME_SECONDS, ext_expires_in: TOKEN_LIFETIME_SECONDS };
  }

  /** Checks a bearer token; returns its claims or a reason Graph would give in a 401. */
  check(authorization: string | undefined): AccessClaims | { reason: string } {
    const match = /^Bearer (.+)$/i.exec(authorization ?? "");
    if (!match?.[1]) return { reason: "Access token is empty." };
    const parts = match[1].split(".");
    const [header, payload, signature] = parts;
    if (parts.length !== 3 || !header || !payload || signature === undefined) return { reason: "IDX14100: JWT is not well formed." };
    const valid = verify("sha256", Buffer.from(`${header}.${payload}`), this.publicKey, Buffer.from(signature, "base64url"));
    if (!valid) return { reason: "Access token validation failure. Invalid signature." };
    let claims: unknown;
    try {
      claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      return { reason: "IDX14100: JWT is not well formed." };
    }
    if (typeof claims !== "object" || claims === null) return { reason: "IDX14100: JWT is not well formed." };
    const record = claims as Record<string, unknown>;
    if (record["aud"] !== GRAPH_AUDIENCE) return { reason: "Access token validation failure. Invalid audience." };
    if (typeof record["exp"] !== "number" || record["exp"] * 1000 <= this.now()) return { reason: "Lifetime validation failed, the token is expired." };
    const roles = Array.isArray(record["roles"]) ? record["roles"].filter((r): r is string => typeof r === "string") : [];
    return { appId: typeof record["appid"] === "string" ? record["appid"] : "", roles };
  }

  /** The JWKS document, so that a client could verify our tokens the way it would Entra's. */
  jwks(): { keys: object[] } {
    const jwk = this.publicKey.export({ format: "jwk" });
    return { keys: [{ ...jwk, kid: this.keyId, use: "sig", alg: "RS256" }] };
  }

  private sign(claims: object): string {
    const header = Buffer.from(JSON.stringify({ typ: "JWT", alg: "RS256", kid: this.keyId })).toString("base64url");
    const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const signature = sign("sha256", Buffer.from(`${header}.${payload}`), this.privateKey).toString("base64url");
    return `${header}.${payload}.${signature}`;
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** OpenID configuration that MSAL (behind @azure/identity) fetches before asking for a token. */
export function openIdConfiguration(baseUrl: string, tenantId: string): object {
  const authority = `${baseUrl}/${tenantId}`;
  return {
    token_endpoint: `${authority}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${authority}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `${baseUrl}/${tenantId}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
    authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${authority}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "tid"],
    tenant_region_scope: "EU",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: "graph.microsoft.com",
  };
}

/** Answer to MSAL's instance discovery, naming this host as its own cloud. */
export function instanceDiscovery(baseUrl: string, tenantId: string): object {
  const host = new URL(baseUrl).host;
  return {
    tenant_discovery_endpoint: `${baseUrl}/${tenantId}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}
