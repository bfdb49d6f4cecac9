import assert from "node:assert/strict";
import type { GraphEmulator } from "../emulator/server.js";
import type { TenantSnapshot } from "../emulator/tenant.js";
import { GraphClient } from "../provider/graph/client.js";
import { credentialFromEnv } from "../provider/graph/credentials.js";
import { readLive } from "../provider/graph/live.js";
import { listingIsCheaper, TokenRepository } from "../provider/graph/repository.js";
import type { Desired } from "../provider/model/index.js";
import { plan } from "../provider/plan/plan.js";
import { ADMIN_APP, call, clientEnv, startEmulator, startHttpsEmulator, tokenFor } from "./support/emulator.js";

// Users are found by the cheaper of two routes (provider/graph/repository.ts): the directory
// listed at 999 a page, or `in` filters of 15. The user count that picks the route is the
// documented advanced query `$count=true` + `ConsistencyLevel: eventual`.

const COUNT = "/users?$count=true&$top=1&$select=id";

function repositoryFor(emulator: GraphEmulator): TokenRepository {
  const { credential } = credentialFromEnv(clientEnv(emulator));
  return new TokenRepository(new GraphClient({ credential, graphUrl: emulator.graphUrl }));
}

/** How users were looked up: "count", "page" (a listing page) and "filter" per request, in order. */
function userRequests(emulator: GraphEmulator, log: { route: string; path: string; batched: boolean }[] = emulator.requests): string[] {
  return log.filter((r) => r.route === "listUsers").map((r) => (r.batched ? "filter" : "listed"));
}

function desiredFor(upns: readonly string[]): Desired {
  const tokens = upns.map((upn, i) => ({ serial: `S${i}`, state: "assigned" as const, upn, manufacturer: "Token2", model: "C202", timeIntervalInSeconds: 30 as const, hashFunction: "hmacsha1" as const, location: { file: "tokens.yaml", line: i + 1, column: 1 } }));
  return { file: "tokens.yaml", version: 1, policy: { unmanaged: "report", maxDeletes: 5 }, seedFiles: [], tokens };
}

function tenantOf(users: number): TenantSnapshot {
  return { users: Array.from({ length: users }, (_, i) => ({ id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, userPrincipalName: `user${i}@contoso.com`, displayName: `User ${i}`, userType: "Member" as const, accountEnabled: true })), devices: [] };
}

describe("user look-ups by the cheaper route", function () {
  this.timeout(60_000);
  let emulator: GraphEmulator;
  afterEach(() => emulator.stop());

  it("emulator: $count=true answers @odata.count only with ConsistencyLevel: eventual (also inside $batch), and not where advanced queries are missing", async () => {
    emulator = await startEmulator({ snapshot: tenantOf(1200) });
    const token = await tokenFor(emulator, ADMIN_APP);
    const get = async (headers: Record<string, string>) => {
      const res = await fetch(`${emulator.graphUrl}${COUNT}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
      return (await res.json()) as Record<string, unknown>;
    };
    const counted = await get({ ConsistencyLevel: "eventual" });
    assert.equal(counted["@odata.count"], 1200);
    assert.equal((counted["value"] as unknown[]).length, 1);
    // "silently ignores the $count query parameter (?$count=true) if it's used" without the header.
    assert.equal("@odata.count" in (await get({})), false);
    const batched = await call(emulator, token, "POST", "/$batch", { requests: [{ id: "1", method: "GET", url: COUNT, headers: { ConsistencyLevel: "eventual" } }] });
    assert.equal(batched.body.responses[0].body["@odata.count"], 1200);
    assert.equal((await call(emulator, token, "GET", "/users?$count=maybe")).status, 400);
    await emulator.stop();
    emulator = await startEmulator({ snapshot: tenantOf(3), advancedQueries: false });
    const b2c = await fetch(`${emulator.graphUrl}${COUNT}`, { headers: { authorization: `Bearer ${await tokenFor(emulator, ADMIN_APP)}`, ConsistencyLevel: "eventual" } });
    assert.equal("@odata.count" in ((await b2c.json()) as object), false);
  });

  it("the crossover: listing when its pages cost fewer units than the filters, filters otherwise, no count when it cannot pay", () => {
    // 2,997 users are 3 pages; 3,000 are 4.
    assert.equal(listingIsCheaper(3, 2997), false);
    assert.equal(listingIsCheaper(4, 2997), true);
    assert.equal(listingIsCheaper(4, 3000), false);
    assert.equal(listingIsCheaper(2, 0), true, "an empty directory is still one page");
  });

  for (const { users, named, route } of [
    // With the ghost: 45 names are 3 filters against 3 pages (count, then filters), 46 are 4 (count, then 3 pages).
    { users: 2997, named: 44, route: ["listed", "filter", "filter", "filter"] },
    { users: 2997, named: 45, route: ["listed", "listed", "listed", "listed"] },
    // 2 filters: a count cannot pay for itself, none is asked.
    { users: 2997, named: 29, route: ["filter", "filter"] },
  ]) {
    it(`${named} named users and a ghost in a ${users}-user tenant: ${route.join(", ")}`, async () => {
      emulator = await startHttpsEmulator({ snapshot: tenantOf(users) });
      const upns = Array.from({ length: named }, (_, i) => `USER${i * 7}@contoso.com`);
      const found = await repositoryFor(emulator).resolveUsers([...upns, "ghost@contoso.com"]);
      assert.deepEqual(userRequests(emulator), route);
      assert.equal(found.get("user7@contoso.com")?.displayName, "User 7");
      assert.equal(found.get("ghost@contoso.com"), null);
    });
  }

  it("plan and live state are the same by either route, holders nobody named included", async () => {
    const snapshot = tenantOf(500);
    snapshot.devices.push({ id: "d0000000-0000-4000-8000-000000000001", serialNumber: "HELD", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30, hashFunction: "hmacsha1", displayName: null, status: "assigned", assignedToUserId: snapshot.users[499]!.id, assignedDateTime: "2026-01-01T00:00:00Z", lastUsedDateTime: null });
    const desired = desiredFor([...Array.from({ length: 60 }, (_, i) => `user${i}@contoso.com`), "ghost@contoso.com"]);
    const byRoute = async (advancedQueries: boolean) => {
      emulator = await startHttpsEmulator({ snapshot, advancedQueries });
      const live = await readLive(repositoryFor(emulator), desired);
      const route = userRequests(emulator);
      await emulator.stop();
      return { live, route, plan: plan(desired, live, { seeds: new Set() }) };
    };
    const listed = await byRoute(true);
    const filtered = await byRoute(false);
    // Listing: the count and one page, and the holder comes from the same listing.
    assert.deepEqual(listed.route, ["listed", "listed"]);
    // No count answer: 5 filters for the 61 names, 1 for the holder.
    assert.deepEqual(filtered.route, ["listed", ...Array(6).fill("filter")]);
    assert.deepEqual(listed.live, filtered.live);
    assert.deepEqual(listed.plan, filtered.plan);
  });

  it("a session's small look-ups switch to one listing once their filters would cost more (the Pulumi engine's gathered calls)", async () => {
    emulator = await startHttpsEmulator({ snapshot: tenantOf(1000) });
    const repository = repositoryFor(emulator);
    const rounds: string[][] = [];
    for (let round = 0; round < 4; round++) {
      const before = emulator.requests.length;
      const found = await repository.resolveUsers(Array.from({ length: 15 }, (_, i) => `user${round * 15 + i}@contoso.com`));
      assert.equal(found.get(`user${round * 15}@contoso.com`)?.userPrincipalName, `user${round * 15}@contoso.com`);
      rounds.push(userRequests(emulator, emulator.requests.slice(before)));
    }
    // 1, then 2 filter units: below a count's worth; the third would make 3 > 2 pages: count, list, and then nothing more.
    assert.deepEqual(rounds, [["filter"], ["filter"], ["listed", "listed", "listed"], []]);
  });
});
