import type { Desired, LiveState, LiveToken, LiveUser } from "../model/index.js";
import type { TokenRepository } from "./repository.js";

/**
 * Reads the tenant: the inventory, and every user tokens.yaml names or a token is assigned to,
 * each user fetched once. The inventory and the named users are independent reads, so they run
 * side by side; only holders nobody named are looked up afterwards, by id. Then the methods of the
 * users who would get a token (readUserMethods).
 */
export async function readLive(repository: TokenRepository, desired: Desired): Promise<LiveState> {
  const upns = desired.tokens.flatMap((t) => (t.upn === undefined ? [] : [t.upn]));
  const [{ devices, odd }, users] = await Promise.all([repository.listInventory(), repository.resolveUsers(upns)]);
  const holders = devices.flatMap((d) => (d.assignedTo && !users.has(d.assignedTo.id.toLowerCase()) ? [d.assignedTo.id] : []));
  if (holders.length > 0) for (const [key, user] of await repository.resolveUsers(holders)) users.set(key, user);
  const userMethods = await readUserMethods(repository, desired, devices, users);
  return { devices, directory: { users }, ...(odd.length > 0 ? { oddDevices: odd } : {}), ...(userMethods ? { userMethods } : {}) };
}

/**
 * The methods of the users `desired` gives a token they do not hold yet (only those), for Entra's
 * shared five-method limit and the tokens uploaded through the portal; undefined when nobody gets one.
 * Every front plans with them: the CLI for a whole file, the Pulumi session for each gathering of changes.
 */
export async function readUserMethods(
  repository: TokenRepository,
  desired: Desired,
  devices: readonly LiveToken[],
  users: ReadonlyMap<string, LiveUser | null>,
  /** Every device of the inventory, those about to be deleted included: their methods are no portal tokens. */
  inventory: readonly LiveToken[] = devices,
): Promise<LiveState["userMethods"]> {
  const receivers = usersGettingTokens(desired, devices, users);
  return receivers.length === 0 ? undefined : await repository.userMethods(receivers, new Set(inventory.map((d) => d.id)));
}

/** Ids of the users tokens.yaml gives a token they do not hold yet. */
function usersGettingTokens(desired: Desired, devices: readonly LiveToken[], users: ReadonlyMap<string, LiveUser | null>): string[] {
  const bySerial = new Map(devices.map((d) => [d.serial.toUpperCase(), d]));
  const ids = new Set<string>();
  for (const token of desired.tokens) {
    if (token.upn === undefined || token.state === "retired") continue;
    const user = users.get(token.upn.toLowerCase());
    if (!user) continue;
    if (bySerial.get(token.serial.toUpperCase())?.assignedTo?.id.toLowerCase() !== user.id.toLowerCase()) ids.add(user.id.toLowerCase());
  }
  return [...ids];
}

/**
 * Drift's view of use: an activated token whose device has no lastUsedDateTime takes the date from
 * the holder's method, read only for those holders. Without this, every such token looks never used.
 */
export async function withMethodLastUse(repository: TokenRepository, live: LiveState): Promise<LiveState> {
  const holders = live.devices.flatMap((d) => (d.status === "activated" && d.lastUsedDateTime === undefined && d.assignedTo ? [d.assignedTo.id] : []));
  if (holders.length === 0) return live;
  const lastUse = await repository.methodLastUse(holders);
  const devices = live.devices.map((d) => {
    const used = d.lastUsedDateTime === undefined ? lastUse.get(d.id) : undefined;
    return used === undefined ? d : { ...d, lastUsedDateTime: used };
  });
  return { ...live, devices };
}
