import type { TokenCredential } from "@azure/identity";

// Which Microsoft Graph permissions each kind of call needs, and which the signed-in app holds.
// Sources (microsoft-graph-docs-contrib): each operation's permission table (api-reference/beta/api/…),
// and concepts/whats-new-overview.md, October 2025: the UserAuthMethod-HardwareOATH.* permissions
// are "lesser-privileged alternatives" to UserAuthenticationMethod.* for the hardware OATH methods
// only. Listing every method of a user (authentication-list-methods.md) still needs
// UserAuthenticationMethod.Read.All: its table names no per-method permission.

export interface PermissionNeed {
  /** What the run does with it, for the message. */
  purpose: string;
  /** The least privileged permission: the one to grant. */
  least: string;
  /** Every permission that allows it. */
  anyOf: readonly string[];
}

const HARDWARE_READ = "UserAuthMethod-HardwareOATH.Read.All";
const HARDWARE_WRITE = "UserAuthMethod-HardwareOATH.ReadWrite.All";
const METHODS_READ = "UserAuthenticationMethod.Read.All";
const METHODS_WRITE = "UserAuthenticationMethod.ReadWrite.All";

export const NEEDS = {
  // authenticationmethoddevice-list-hardwareoathdevices.md
  readDevices: { purpose: "list the hardware OATH token inventory", least: "Policy.Read.All", anyOf: ["Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"] },
  // authenticationmethoddevice-post-hardwareoathdevices.md, -update.md, hardwareoathtokenauthenticationmethoddevice-delete.md
  writeDevices: { purpose: "create, update and delete tokens in the inventory", least: "Policy.ReadWrite.AuthenticationMethod", anyOf: ["Policy.ReadWrite.AuthenticationMethod"] },
  // user-get.md, user-list.md
  readUsers: { purpose: "look up the users tokens.yaml names", least: "User.Read.All", anyOf: ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"] },
  // authentication-list-hardwareoathmethods.md
  readHardwareMethods: { purpose: "read users' hardware OATH methods (portal-uploaded tokens, last use)", least: HARDWARE_READ, anyOf: [HARDWARE_READ, HARDWARE_WRITE, METHODS_READ, METHODS_WRITE] },
  // authentication-post-hardwareoathmethods.md, hardwareoathauthenticationmethod-activate.md, -delete.md
  writeHardwareMethods: { purpose: "assign, activate and unassign users' tokens", least: HARDWARE_WRITE, anyOf: [HARDWARE_WRITE, METHODS_WRITE] },
  // authentication-list-methods.md
  readAllMethods: { purpose: "count users' authenticator apps towards Entra's five-method limit", least: METHODS_READ, anyOf: [METHODS_READ, METHODS_WRITE] },
} as const satisfies Record<string, PermissionNeed>;

/** The needs a grant does not meet. */
export function unmet(granted: ReadonlySet<string>, needs: readonly PermissionNeed[]): PermissionNeed[] {
  return needs.filter((need) => !need.anyOf.some((permission) => granted.has(permission)));
}

/**
 * The permissions the app's own access token carries: `roles` (application permissions) and
 * `scp` (delegated, space-separated), per the Microsoft identity platform's access token claims
 * reference. undefined when they cannot be known (no JWT, neither claim, or no token yet): then
 * nothing is decided from them and Graph's own 403 will speak.
 */
export async function grantedPermissions(credential: TokenCredential, scope: string): Promise<Set<string> | undefined> {
  let accessToken: string | undefined;
  try {
    accessToken = (await credential.getToken(scope))?.token;
  } catch {
    // The sign-in failure is reported by the first Graph call, with its own typed error.
    return undefined;
  }
  const claims = accessToken === undefined ? undefined : jwtClaims(accessToken);
  if (!claims) return undefined;
  const roles = Reflect.get(claims, "roles");
  const scp = Reflect.get(claims, "scp");
  const granted = new Set<string>();
  if (Array.isArray(roles)) for (const role of roles) if (typeof role === "string") granted.add(role);
  if (typeof scp === "string") for (const scope of scp.split(" ")) if (scope !== "") granted.add(scope);
  return Array.isArray(roles) || typeof scp === "string" ? granted : undefined;
}

/** The claims of a JWT, or undefined when the text is none. */
export function jwtClaims(accessToken: string): object | undefined {
  const payload = accessToken.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    return typeof claims === "object" && claims !== null ? claims : undefined;
  } catch {
    return undefined;
  }
}
