import type { Desired, LiveState } from "../model/index.js";
import type { TokenRepository } from "./repository.js";

/** Reads the tenant: the inventory, and every user tokens.yaml names or a token is assigned to. */
export async function readLive(repository: TokenRepository, desired: Desired): Promise<LiveState> {
  const devices = await repository.listDevices();
  const keys = [...desired.tokens.flatMap((t) => (t.upn === undefined ? [] : [t.upn])), ...devices.flatMap((d) => (d.assignedTo ? [d.assignedTo.id] : []))];
  const users = await repository.resolveUsers(keys);
  // Index each user by id and UPN so either reference finds them.
  for (const user of [...users.values()]) if (user) {
    users.set(user.id.toLowerCase(), user);
    users.set(user.userPrincipalName.toLowerCase(), user);
  }
  return { devices, directory: { users } };
}

