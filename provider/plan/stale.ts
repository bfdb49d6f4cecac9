import type { Desired, LiveToken } from "../model/index.js";

// Stale tokens: activated, but nobody signed in with them within policy.staleAfterDays. Pure: the
// caller passes the time. The date is the device's lastUsedDateTime, the one the inventory carries
// (graph-api.md: it may stay null on the device while the user's method has it; then the token is
// not judged stale, as nothing says when it was used).

const DAY_MS = 86_400_000;

/** Whole days since the token was last used, when policy.staleAfterDays is set and it is exceeded. */
export function staleDays(device: Pick<LiveToken, "status" | "lastUsedDateTime">, desired: Pick<Desired, "policy">, now: number | undefined): number | undefined {
  const limit = desired.policy.staleAfterDays;
  if (limit === undefined || now === undefined || device.status !== "activated" || device.lastUsedDateTime === undefined) return undefined;
  const used = Date.parse(device.lastUsedDateTime);
  if (Number.isNaN(used)) return undefined;
  const days = Math.floor((now - used) / DAY_MS);
  return days > limit ? days : undefined;
}

export function staleMessage(days: number, lastUsed: string, limit: number): string {
  return `activated but not used to sign in for ${days} days (last ${lastUsed.slice(0, 10)}; policy.staleAfterDays: ${limit})`;
}

export const STALE_FIX = "check the user still has and uses the token; retire it (`entra-tokens retire`) or return it to the pool if not";
