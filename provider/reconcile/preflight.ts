import { GraphFailure } from "../graph/errors.js";
import { CHECK_MEMBERSHIP, memberGroups, READ_METHOD_POLICY, readMethodConfiguration } from "../graph/method-policy.js";
import type { TokenRepository } from "../graph/repository.js";
import type { Desired, LiveState } from "../model/index.js";
import { preflight, targetGroups, usersToCheck, type PreflightWarning } from "../plan/preflight.js";

// plan and apply check, before anything else, that Entra will let the users use their tokens at all.
// A preflight that cannot read the policy warns and names the permission; it never stops a plan.

export async function runPreflight(repository: TokenRepository, desired: Desired, live: LiveState, concurrency: number): Promise<PreflightWarning[]> {
  let config;
  try {
    config = await readMethodConfiguration(repository.client);
  } catch (error: unknown) {
    if (!(error instanceof GraphFailure)) throw error;
    return [unreadable(`could not ${READ_METHOD_POLICY.operation} (${error.message.split(". Fix:")[0]})`, `grant the app ${READ_METHOD_POLICY.permission} to have plan and apply check it`)];
  }
  const users = usersToCheck(desired, live.directory, config);
  const groups = targetGroups(config);
  let memberships = new Map<string, Set<string>>();
  if (users.length > 0 && groups.length > 0) {
    try {
      memberships = await memberGroups(repository.client, users, groups, concurrency);
    } catch (error: unknown) {
      if (!(error instanceof GraphFailure)) throw error;
      return [...preflight(desired, live.directory, config, undefined), unreadable(`could not ${CHECK_MEMBERSHIP.operation} (${error.message.split(". Fix:")[0]})`, `grant the app ${CHECK_MEMBERSHIP.permission} to have plan and apply check it`)];
    }
  }
  return preflight(desired, live.directory, config, memberships);
}

function unreadable(message: string, fix: string): PreflightWarning {
  return { code: "preflight-unreadable", message, fix };
}

export function formatPreflight(warnings: readonly PreflightWarning[]): string {
  return warnings.map((w) => `warning [${w.code}] ${w.message}\n    fix: ${w.fix}\n`).join("");
}
