import type { AttributeChange, DesiredToken, Directory, LiveToken, LiveUser, UserRef } from "../model/index.js";
import { closest } from "./wording.js";

// The comparison both the planner and the drift report stand on, so they never disagree.

export function serialKey(serial: string): string {
  return serial.toUpperCase();
}

export function indexBySerial(devices: readonly LiveToken[]): Map<string, LiveToken> {
  return new Map(devices.map((d) => [serialKey(d.serial), d]));
}

export function lookupUser(directory: Directory, key: string): LiveUser | null | undefined {
  return directory.users.get(key.toLowerCase());
}

export type TargetUser =
  | { ok: true; user: UserRef }
  | { ok: false; code: "unknown-user" | "guest-user" | "disabled-user"; message: string; fix: string };

/** Whether the user a desired token names can hold a token. */
export function targetUser(token: DesiredToken & { upn: string }, directory: Directory): TargetUser {
  const user = lookupUser(directory, token.upn);
  if (!user) {
    return {
      ok: false,
      code: "unknown-user",
      message: `${token.upn} does not exist in the tenant (deleted, renamed, or a typo)`,
      fix: unknownUserFix(token.upn, directory),
    };
  }
  if (user.userType === "Guest") {
    return { ok: false, code: "guest-user", message: `${token.upn} is a guest; Entra does not allow hardware tokens for guests`, fix: "give the token to a member account" };
  }
  if (!user.accountEnabled) {
    return {
      ok: false,
      code: "disabled-user",
      message: `${token.upn} is disabled; a token assigned to a disabled account is lost to the pool`,
      fix: `run \`entra-tokens leaver ${token.upn}\` to return it to the pool, or re-enable the account first`,
    };
  }
  return { ok: true, user: { id: user.id, upn: user.userPrincipalName } };
}

/** The fix for a UPN Graph does not know: the nearest UPN this run looked up, if it looks like a typo. */
function unknownUserFix(upn: string, directory: Directory): string {
  const known: string[] = [];
  for (const user of directory.users.values()) if (user) known.push(user.userPrincipalName);
  const near = closest(upn, known);
  return `${near === undefined ? "correct the upn" : `correct the upn (did you mean ${near}?)`}, or run \`entra-tokens leaver ${upn}\` to return its tokens to the pool`;
}

/** A readable name for whoever holds a live token. */
export function assigneeLabel(device: LiveToken, directory: Directory): string | undefined {
  if (!device.assignedTo) return undefined;
  const user = lookupUser(directory, device.assignedTo.id);
  return user?.userPrincipalName ?? device.assignedTo.displayName ?? device.assignedTo.id;
}

/**
 * Attribute differences; displayName only when tokens.yaml sets one, except that a pool token
 * (`available`) carries no name but its own: a leaver's name must not stay on it.
 */
export function attributeChanges(desired: DesiredToken, live: LiveToken): AttributeChange[] {
  const changes: AttributeChange[] = [];
  const compare = <F extends AttributeChange["field"]>(field: F, want: string | number | undefined, have: string | number | undefined) => {
    if (want !== undefined && want !== have) changes.push({ field, from: have ?? null, to: want });
  };
  compare("manufacturer", desired.manufacturer, live.manufacturer);
  compare("model", desired.model, live.model);
  compare("timeIntervalInSeconds", desired.timeIntervalInSeconds, live.timeIntervalInSeconds);
  compare("hashFunction", desired.hashFunction, live.hashFunction);
  compare("displayName", desired.displayName, live.displayName);
  if (desired.state === "available" && desired.displayName === undefined && live.displayName !== undefined) {
    changes.push({ field: "displayName", from: live.displayName, to: null });
  }
  return changes;
}
