import { createPublicKey, generateKeyPairSync, randomUUID, sign, timingSafeEqual, verify, type JsonWebKey, type KeyObject } from "node:crypto";

// The identity side: an OAuth2 client-credentials token endpoint (client secret or federated
// assertion) issuing RS256 JWTs whose `roles` claim comes from the configured app registration,
// and their verification.

export const GRAPH_AUDIENCE = "https://graph.microsoft.com";

/** A trust between the app and an outside identity provider (workload identity federation). */
export interface FederatedCredential {
  /** The assertion's `iss`, e.g. https://token.actions.githubusercontent.com. */
  issuer: string;
  /** The assertion's `sub`, e.g. repo:contoso/tokens:environment:entra-read. */
  subject: string;
  /** Accepted `aud` values; Entra's default is api://AzureADTokenExchange. */
  audiences?: string[];
}

export const FEDERATION_AUDIENCE = "api://AzureADTokenExchange";
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface AppRegistration {
  clientId: string;
  /** Absent for apps that only sign in with federated credentials. */
  clientSecret?: string;
  federatedCredentials?: FederatedCredential[];
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
const MAX_VERIFIED_TOKENS = 1000;

export class Authority {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly keyId = randomUUID();
  private readonly verified = new Map<string, { claims: AccessClaims; expiresAt: number }>();

  constructor(
    readonly tenantId: string,
    private readonly apps: AppRegistration[],
    private readonly now: () => number = Date.now,
  ) {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  /** The client-credentials grant, with a client secret or a federated client assertion. */
  async issue(form: URLSearchParams): Promise<{ access_token: string; token_type: "Bearer"; expires_in: number; ext_expires_in: number }> {
    if (form.get("grant_type") !== "client_credentials") {
      throw new OAuthError(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type; only client_credentials is supported.");
    }
    const clientId = form.get("client_id") ?? "";
    const app = this.apps.find((a) => a.clientId === clientId);
    if (!app) {
      throw new OAuthError(400, "unauthorized_client", `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${this.tenantId}'.`);
    }
    const assertion = form.get("client_assertion");
    if (assertion !== null) {
      await this.checkAssertion(app, form.get("client_assertion_type"), assertion);
    } else if (app.clientSecret === undefined || !sameText(form.get("client_secret") ?? "", app.clientSecret)) {
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

  /**
   * Workload identity federation as Entra does it: the assertion's issuer, subject and audience must
   * match one of the app's federated credentials, and its signature must verify against the keys
   * the issuer publishes through OpenID discovery.
   */
  private async checkAssertion(app: AppRegistration, type: string | null, assertion: string): Promise<void> {
    if (type !== JWT_BEARER) throw new OAuthError(400, "invalid_request", `AADSTS50027: client_assertion_type must be ${JWT_BEARER}.`);
    const [header, payload, signature] = assertion.split(".");
    const decoded = header && payload && signature ? { header: parseJson(header), claims: parseJson(payload) } : undefined;
    if (!decoded || typeof decoded.claims !== "object" || decoded.claims === null) throw new OAuthError(400, "invalid_request", "AADSTS50027: JWT token is invalid or malformed.");
    const claims = decoded.claims as Record<string, unknown>;
    const trusts = app.federatedCredentials ?? [];
    const byIssuer = trusts.filter((t) => t.issuer === claims["iss"]);
    if (byIssuer.length === 0) {
      throw new OAuthError(400, "invalid_client", `AADSTS700211: No matching federated identity record found for presented assertion issuer '${String(claims["iss"])}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`);
    }
    const bySubject = byIssuer.filter((t) => t.subject === claims["sub"]);
    if (bySubject.length === 0) {
      throw new OAuthError(400, "invalid_client", `AADSTS700213: No matching federated identity record found for presented assertion subject '${String(claims["sub"])}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`);
    }
    const audiences = Array.isArray(claims["aud"]) ? claims["aud"] : [claims["aud"]];
    if (!bySubject.some((t) => (t.audiences ?? [FEDERATION_AUDIENCE]).some((a) => audiences.includes(a)))) {
      throw new OAuthError(400, "invalid_client", `AADSTS700212: No matching federated identity record found for presented assertion audience '${String(claims["aud"])}'.`);
    }
    if (typeof claims["exp"] !== "number" || claims["exp"] * 1000 <= this.now()) {
      throw new OAuthError(400, "invalid_client", "AADSTS700024: Client assertion is not within its valid time range.");
    }
    const key = await issuerKey(String(claims["iss"]), field(decoded.header, "kid"));
    if (!key || !verify("sha256", Buffer.from(`${header}.${payload}`), key, Buffer.from(signature ?? "", "base64url"))) {
      throw new OAuthError(401, "invalid_client", "AADSTS700027: Client assertion failed signature validation.");
    }
  }

  /** Checks a bearer token; returns its claims or a reason Graph would give in a 401. */
  check(authorization: string | undefined): AccessClaims | { reason: string } {
    const match = /^Bearer (.+)$/i.exec(authorization ?? "");
    if (!match?.[1]) return { reason: "Access token is empty." };
    // A token's signature is checked once; later uses only check its lifetime.
    const known = this.verified.get(match[1]);
    if (known) return known.expiresAt <= this.now() ? { reason: "Lifetime validation failed, the token is expired." } : known.claims;
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
    const checked = { appId: typeof record["appid"] === "string" ? record["appid"] : "", roles };
    // Only tokens we signed get here, so the cache stays as small as the tokens we issued; bounded all the same.
    if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.clear();
    this.verified.set(match[1], { claims: checked, expiresAt: record["exp"] * 1000 });
    return checked;
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

/** One property of parsed outside JSON, or undefined when it is not an object. */
function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined;
}

function parseJson(base64url: string): unknown {
  try {
    return JSON.parse(Buffer.from(base64url, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The issuer's signing key with this id, found through its OpenID discovery document. */
async function issuerKey(issuer: string, kid: unknown): Promise<KeyObject | undefined> {
  try {
    const configuration: unknown = await (await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`)).json();
    const jwksUri = field(configuration, "jwks_uri");
    if (typeof jwksUri !== "string") return undefined;
    const jwks: unknown = await (await fetch(jwksUri)).json();
    const keys = field(jwks, "keys");
    const jwk: unknown = Array.isArray(keys) ? keys.find((k: unknown) => field(k, "kid") === kid) : undefined;
    return typeof jwk === "object" && jwk !== null ? createPublicKey({ key: jwk as JsonWebKey, format: "jwk" }) : undefined;
  } catch {
    return undefined;
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
