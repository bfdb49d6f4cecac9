import { ALL_USERS_TARGET, type Desired, type Directory, type MethodConfiguration } from "../model/index.js";
import { lookupUser } from "./compare.js";

// Entra refuses to activate or use hardware tokens when the method is disabled in the
// authentication methods policy, or for users outside its targets. Pure: the caller reads the
// configuration and the memberships; this says what is wrong and how to fix it.

export interface PreflightWarning {
  code: "method-disabled" | "outside-targets" | "preflight-unreadable" | "audit-unreadable";
  message: string;
  fix: string;
  upn?: string;
  serials?: string[];
}

const POLICY_PAGE = "Entra admin center → Protection → Authentication methods → Policies → Hardware OATH tokens";

/** The users (by id) whose group memberships decide whether they are in the method's targets. */
export function usersToCheck(desired: Desired, directory: Directory, config: MethodConfiguration): string[] {
  const everyoneIncluded = config.includeTargets.includes(ALL_USERS_TARGET);
  if (everyoneIncluded && config.excludeTargets.length === 0) return [];
  return [...holders(desired, directory).keys()];
}

/** The groups to ask about: every target but "all users". */
export function targetGroups(config: MethodConfiguration): string[] {
  return [...new Set([...config.includeTargets, ...config.excludeTargets])].filter((id) => id !== ALL_USERS_TARGET);
}

/** `memberships` undefined: they could not be read, so only the method's state is checked. */
export function preflight(desired: Desired, directory: Directory, config: MethodConfiguration, memberships: ReadonlyMap<string, ReadonlySet<string>> | undefined): PreflightWarning[] {
  const warnings: PreflightWarning[] = [];
  if (config.state === "disabled") {
    warnings.push({
      code: "method-disabled",
      message: "the hardware OATH method is disabled in the authentication methods policy: Entra refuses to activate or use hardware tokens",
      fix: `enable it for the users who hold tokens: ${POLICY_PAGE} → Enable`,
    });
  }
  if (!memberships) return warnings;
  for (const [userId, { upn, serials }] of holders(desired, directory)) {
    const groups = memberships.get(userId) ?? new Set<string>();
    const included = config.includeTargets.some((t) => t === ALL_USERS_TARGET || groups.has(t));
    const excluded = config.excludeTargets.some((t) => t === ALL_USERS_TARGET || groups.has(t));
    if (included && !excluded) continue;
    warnings.push({
      code: "outside-targets",
      message: `${upn} is ${excluded ? "excluded from" : "not in"} the hardware OATH method's targets: Entra will not let them use token${serials.length === 1 ? "" : "s"} ${serials.join(", ")}`,
      fix: `${excluded ? "remove them from the excluded group" : "add them to a targeted group"} (${POLICY_PAGE} → Target), or give the token to someone else`,
      upn,
      serials,
    });
  }
  return warnings;
}

/** Users tokens.yaml gives tokens to, by id, with their serials; users Graph does not know are the planner's business. */
function holders(desired: Desired, directory: Directory): Map<string, { upn: string; serials: string[] }> {
  const byId = new Map<string, { upn: string; serials: string[] }>();
  for (const token of desired.tokens) {
    if (token.upn === undefined || (token.state !== "assigned" && token.state !== "activated")) continue;
    const user = lookupUser(directory, token.upn);
    if (!user) continue;
    const entry = byId.get(user.id) ?? { upn: user.userPrincipalName, serials: [] };
    entry.serials.push(token.serial);
    byId.set(user.id, entry);
  }
  return byId;
}
