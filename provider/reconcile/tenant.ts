import type { TokenCredential } from "@azure/identity";
import { GRAPH_SCOPE } from "../graph/client.js";
import { jwtClaims } from "../graph/permissions.js";
import type { TenantDeclaration } from "../model/index.js";

// Which tenant a run is for, and whether the credentials sign in to it. Graph's access tokens are
// JWTs whose `tid` claim is the tenant that issued them (Microsoft identity platform, "Access token
// claims reference": tid), so the token the run signs in with says where it will write.

export class TenantMismatchError extends Error {}

/** How a tenant is named in headers, prompts and reports: `contoso (72f9…)`, or the id alone. */
export function tenantLabel(tenant: TenantDeclaration): string {
  return tenant.name === undefined ? tenant.id : `${tenant.name} (${tenant.id})`;
}

/** The `tid` of a JWT access token, or undefined when the token is no JWT or has none. */
export function tokenTenantId(accessToken: string): string | undefined {
  const tid: unknown = Reflect.get(jwtClaims(accessToken) ?? {}, "tid");
  return typeof tid === "string" ? tid.toLowerCase() : undefined;
}

/**
 * Refuses a run whose credentials sign in to another tenant than tokens.yaml declares: it would
 * converge the wrong directory. The token is the one the Graph client then reuses (credentials cache it).
 */
export async function checkSignedInTenant(credential: TokenCredential, expected: TenantDeclaration, file: string): Promise<void> {
  const token = await credential.getToken(GRAPH_SCOPE);
  const actual = token ? tokenTenantId(token.token) : undefined;
  if (actual === expected.id) return;
  if (actual === undefined) {
    throw new TenantMismatchError(
      `${file} is for tenant ${tenantLabel(expected)}, but the access token the credentials got names no tenant (no tid claim), so nothing was sent to Entra. ` +
        "Fix: sign in with an Entra app registration or managed identity of that tenant (AZURE_TENANT_ID)",
    );
  }
  throw new TenantMismatchError(
    `${file} is for tenant ${tenantLabel(expected)}, but the credentials sign in to tenant ${actual}; nothing was sent to Entra. ` +
      `Fix: use that tenant's credentials (AZURE_TENANT_ID=${expected.id} and its app's client id and secret), or correct \`tenant.id\` in ${file}`,
  );
}
