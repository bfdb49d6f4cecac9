import { randomUUID } from "node:crypto";
import type { Device, TenantSnapshot, User } from "../emulator/tenant.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";

// Synthetic tenants for the Graph bench: token i is in the pool when i % 5 == 0, else held by
// user{i}, activated when i is even. Scenarios change about 1% of that.

export const BENCH_TENANT = "bench-tenant";
export const BENCH_APP = { clientId: "bench", clientSecret: "bench-secret-not-real", roles: ["Policy.ReadWrite.AuthenticationMethod", "UserAuthenticationMethod.ReadWrite.All", "User.Read.All"] };

export type Scenario = "converge" | "no-op plan" | "drift" | "1% change";

const serial = (i: number) => `SN${String(i).padStart(7, "0")}`;
const upn = (i: number) => `user${i}@contoso.com`;
const secret = (i: number) => encodeBase32(Buffer.from(`bench-seed-${i}`.padEnd(20, "#")));

export interface BenchTenant {
  yaml: string;
  seedsCsv: string;
  snapshot: TenantSnapshot;
  /** What Graph's rules make the least a client could spend (see minimumUnits). */
  work: Work;
}

export interface Work {
  devicesListed: number;
  /** Users in the tenant: a listing of the directory reads them all. */
  tenantUsers: number;
  usersNamed: number;
  holdersUnnamed: number;
  creates: number;
  /** Operations that go one per request, 20 to a $batch: assign, activate, unassign, update, delete. */
  batchable: number;
}

/**
 * The fewest throttle units Graph's rules allow, a unit being one request Graph executes: each
 * request inside a `$batch` counts, the envelope does not (../shared/graph-api.md, "Finding many
 * users": 300 users per HTTP request, 20 throttle units). Pages of 999, bulk creates of 100 (with
 * assignTo), one request per activation and per other per-token operation, and users by either
 * route: `in` filters of 15, or a `$count` and the directory listed at 999 a page.
 */
export function minimumUnits(w: Work): { filters: number; listing: number; cheapest: number } {
  const rest = Math.max(1, Math.ceil(w.devicesListed / 999)) + w.batchable + Math.ceil(w.creates / 100);
  const filters = rest + Math.ceil(w.usersNamed / 15) + Math.ceil(w.holdersUnnamed / 15);
  const listing = rest + (w.usersNamed + w.holdersUnnamed === 0 ? 0 : 1 + Math.max(1, Math.ceil(w.tenantUsers / 999)));
  return { filters, listing, cheapest: Math.min(filters, listing) };
}

/** Users per token in the tenant: staff beyond the holders (a 10,000-token tenant has 12,000 users). */
const USERS_PER_TOKEN = 1.2;

export function benchTenant(count: number, scenario: Scenario): BenchTenant {
  const added = scenario === "1% change" ? Math.max(2, Math.round(count * 0.005)) : 0;
  const yaml = ["version: 1", "defaults: { manufacturer: Token2, model: C202 }", "policy: { unmanaged: report, maxDeletes: 5 }", "seeds: [{ file: seeds.csv, allowPlaintext: true }]", "tokens:"];
  const csv = ["serial number,secret key,time interval"];
  const users: User[] = [];
  const devices: Device[] = [];
  const user = (u: string): User => {
    const created: User = { id: randomUUID(), userPrincipalName: u, displayName: u.split("@")[0] ?? u, userType: "Member", accountEnabled: true };
    users.push(created);
    return created;
  };
  const work: Work = { devicesListed: scenario === "converge" ? 0 : count, tenantUsers: 0, usersNamed: 0, holdersUnnamed: 0, creates: 0, batchable: 0 };
  // 1% change: every 400th held token goes back to the pool, every 400th pool token is renamed.
  const returned = (i: number) => scenario === "1% change" && i < count && i % 5 !== 0 && i % 400 === 1;
  const renamed = (i: number) => scenario === "1% change" && i < count && i % 400 === 0;
  for (let i = 0; i < count + added; i++) {
    const isNew = i >= count;
    const pool = i % 5 === 0 && !isNew;
    const activated = i % 2 === 0;
    csv.push(`${serial(i)},${secret(i)},30`);
    if (returned(i)) {
      // A leaver's token: `returnedBy` has apply take it back even where self-service claims are kept.
      yaml.push(`  - { serial: "${serial(i)}", state: available, returnedBy: ${upn(i)} }`);
      work.usersNamed++;
    } else if (pool) {
      yaml.push(`  - { serial: "${serial(i)}", state: available${renamed(i) ? ", displayName: renamed" : ""} }`);
    } else {
      yaml.push(`  - { serial: "${serial(i)}", state: ${activated ? "activated" : "assigned"}, upn: ${upn(i)} }`);
      work.usersNamed++;
    }
    if (renamed(i) || returned(i)) work.batchable++;
    const holder = pool ? undefined : user(upn(i));
    if (scenario === "converge" || isNew) {
      work.creates++;
      if (activated && !pool) work.batchable++;
      continue;
    }
    // Drift, 1% of tokens: a pool token taken by someone tokens.yaml does not name, a holder deleted, an activation lost.
    let holderId = holder?.id ?? null;
    let status: Device["status"] = pool ? "available" : activated ? "activated" : "assigned";
    if (scenario === "drift" && i % 100 === 0) {
      holderId = user(`self.service${i}@contoso.com`).id;
      status = "assigned";
      work.holdersUnnamed++;
    } else if (scenario === "drift" && i % 100 === 1 && holder) {
      users.pop();
      holderId = null;
      status = "available";
    } else if (scenario === "drift" && i % 100 === 2) {
      status = "assigned";
    }
    devices.push({
      id: randomUUID(),
      serialNumber: serial(i),
      manufacturer: "Token2",
      model: "C202",
      secretKey: secret(i),
      timeIntervalInSeconds: 30,
      hashFunction: "hmacsha1",
      displayName: null,
      status,
      assignedToUserId: holderId,
      assignedDateTime: holderId === null ? null : "2026-01-01T00:00:00Z",
      lastUsedDateTime: status === "activated" ? "2026-01-02T00:00:00Z" : null,
    });
  }
  for (let i = 0; users.length < Math.round(count * USERS_PER_TOKEN); i++) user(`staff${i}@contoso.com`);
  work.tenantUsers = users.length;
  return { yaml: `${yaml.join("\n")}\n`, seedsCsv: `${csv.join("\n")}\n`, snapshot: { users, devices }, work };
}
