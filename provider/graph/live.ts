import type { Desired, LiveState } from "../model/index.js";
import type { TokenRepository } from "./repository.js";

/**
 * Reads the tenant: the inventory, and every user tokens.yaml names or a token is assigned to,
 * each user fetched once. The inventory and the named users are independent reads, so they run
 * side by side; only holders nobody named are looked up afterwards, by id.
 */
export async function readLive(repository: TokenRepository, desired: Desired): Promise<LiveState> {
  const upns = desired.tokens.flatMap((t) => (t.upn === undefined ? [] : [t.upn]));
  const [devices, users] = await Promise.all([repository.listDevices(), repository.resolveUsers(upns)]);
  const holders = devices.flatMap((d) => (d.assignedTo && !users.has(d.assignedTo.id.toLowerCase()) ? [d.assignedTo.id] : []));
  if (holders.length > 0) for (const [key, user] of await repository.resolveUsers(holders)) users.set(key, user);
  return { devices, directory: { users } };
}
