import assert from "node:assert/strict";
import type { GraphEmulator } from "../emulator/server.js";
import { GraphClient } from "../provider/graph/client.js";
import { credentialFromEnv } from "../provider/graph/credentials.js";
import { readLive } from "../provider/graph/live.js";
import { TokenRepository } from "../provider/graph/repository.js";
import { ADMIN_APP, call, clientEnv, startEmulator, startHttpsEmulator, tokenFor } from "./support/emulator.js";

const filter = (f: string) => `/users?$filter=${encodeURIComponent(f)}&$select=id,userPrincipalName`;

describe("finding many users with `in` filters", () => {
  let emulator: GraphEmulator;
  afterEach(() => emulator.stop());

  it("emulator: userPrincipalName/id in (…) up to 15 values, case-insensitive; other filters and a 16th value refused", async () => {
    emulator = await startEmulator();
    const token = await tokenFor(emulator, ADMIN_APP);
    const adele = emulator.tenant.user("adele.vance@contoso.com");
    const byUpn = await call(emulator, token, "GET", filter("userPrincipalName in ('ADELE.VANCE@contoso.com','nobody@contoso.com')"));
    assert.equal(byUpn.status, 200);
    assert.deepEqual(byUpn.body.value, [{ id: adele.id, userPrincipalName: adele.userPrincipalName }]);
    const byId = await call(emulator, token, "GET", filter(`id in ('${adele.id}')`));
    assert.deepEqual(byId.body.value.map((u: { id: string }) => u.id), [adele.id]);
    const sixteen = Array.from({ length: 16 }, (_, i) => `'u${i}@contoso.com'`).join(",");
    const tooMany = await call(emulator, token, "GET", filter(`userPrincipalName in (${sixteen})`));
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.error.message, /Max allowed: 15/);
    for (const other of ["displayName eq 'Adele'", "startswith(userPrincipalName,'a')", "userPrincipalName in ('a@b.c',)"]) {
      assert.equal((await call(emulator, token, "GET", filter(other))).status, 400, other);
    }
    const batched = await call(emulator, token, "POST", "/$batch", { requests: [{ id: "1", method: "GET", url: filter(`userPrincipalName in ('adele.vance@contoso.com')`) }] });
    assert.equal(batched.body.responses[0].status, 200);
    assert.equal(batched.body.responses[0].body.value[0].id, adele.id);
  });

  it("emulator: $batch is logged as route `batch`, so fault rules for `batch` apply", async () => {
    emulator = await startEmulator({ faults: { script: [{ route: "batch", count: 1, outcome: 429 }] } });
    const token = await tokenFor(emulator, ADMIN_APP);
    const first = await call(emulator, token, "POST", "/$batch", { requests: [{ id: "1", method: "GET", url: "/users/adele.vance@contoso.com" }] });
    assert.equal(first.status, 429);
    const second = await call(emulator, token, "POST", "/$batch", { requests: [{ id: "1", method: "GET", url: "/users/adele.vance@contoso.com" }] });
    assert.equal(second.status, 200);
    assert.deepEqual(emulator.requests.filter((r) => !r.batched && r.route !== "token").map((r) => `${r.route} ${r.status}`), ["batch 429", "batch 200"]);
  });

  it("client: resolves 100 UPNs and their tokens' holders with 7 filtered requests in one $batch, each user once", async () => {
    emulator = await startHttpsEmulator();
    // 7,000 users: listing them (8 pages) would cost more than the 7 + 1 filters, so filters are the route.
    for (let i = 0; i < 7000; i++) emulator.tenant.addUser({ userPrincipalName: `staff${i}@contoso.com` });
    const upns: string[] = [];
    for (let i = 0; i < 100; i++) upns.push(emulator.tenant.addUser({ userPrincipalName: i === 0 ? "d'arcy+keys#1@contoso.com" : `person${i}@contoso.com` }).userPrincipalName);
    const stranger = emulator.tenant.addUser({ userPrincipalName: "o'brien@contoso.com" });
    for (let i = 0; i < 3; i++) {
      const holder = i === 0 ? stranger.id : emulator.tenant.user(upns[i]!).id;
      emulator.tenant.createDevice({ serialNumber: `H${i}`, manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30, assignTo: { id: holder } }, true);
    }
    const { credential } = credentialFromEnv(clientEnv(emulator));
    const repository = new TokenRepository(new GraphClient({ credential, graphUrl: emulator.graphUrl }));
    const tokens = [...upns, "ghost@contoso.com"].map((upn, i) => ({ serial: `S${i}`, state: "assigned" as const, upn: upn.toUpperCase(), manufacturer: "Token2", model: "C202", timeIntervalInSeconds: 30 as const, hashFunction: "hmacsha1" as const, location: { file: "tokens.yaml", line: i + 1, column: 1 } }));
    emulator.requests.length = 0;
    const live = await readLive(repository, { file: "tokens.yaml", version: 1, policy: { unmanaged: "report", maxDeletes: 5 }, seedFiles: [], tokens });
    assert.equal(live.directory.users.get("person99@contoso.com")?.userPrincipalName, "person99@contoso.com");
    assert.equal(live.directory.users.get("ghost@contoso.com"), null);
    assert.equal(live.directory.users.get("d'arcy+keys#1@contoso.com")?.id, emulator.tenant.user(upns[0]!).id, "quotes doubled, # and + encoded");
    assert.equal(live.directory.users.get(stranger.id.toLowerCase())?.userPrincipalName, "o'brien@contoso.com");
    const lookups = emulator.requests.filter((r) => r.route === "listUsers" || r.route === "getUser");
    // The user count first; 101 UPNs → 7 filters of ≤ 15; the one holder nobody named → 1 filter by id.
    assert.deepEqual(lookups.map((r) => `${r.route} ${r.status} ${r.batched}`), ["listUsers 200 false", ...Array(7).fill("listUsers 200 true"), "listUsers 200 true"]);
    // Then the methods of the 100 users who get a token (Entra's shared limit, portal tokens): one list
    // each, 20 to a $batch, after one user alone (whether the app may list all methods). Their only
    // hardware methods are inventory devices: no second read for serials.
    const methodReads = emulator.requests.filter((r) => r.route === "listAllMethods" || r.route === "listMethods");
    assert.deepEqual([methodReads.length, methodReads.every((r) => r.route === "listAllMethods" && r.batched)], [100, true]);
    assert.equal(emulator.requests.filter((r) => r.route === "batch").length, 2 + 1 + 5);
  });
});
