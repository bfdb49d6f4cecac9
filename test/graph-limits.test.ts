import assert from "node:assert/strict";
import { GraphLimits, requestCost, resourceUnitQuota } from "../emulator/quotas.js";
import type { GraphEmulator } from "../emulator/server.js";
import { isWriteScope, WriteQuota } from "../provider/graph/write-quota.js";
import { ADMIN_APP, call, startHttpsEmulator, TENANT, tokenFor } from "./support/emulator.js";

// The graph-limits profile: concepts/throttling-limits.md, "Identity and access service limits".

describe("emulator throttle profile graph-limits (concepts/throttling-limits.md)", function () {
  this.timeout(60_000);
  let emulator: GraphEmulator;
  let now = Date.UTC(2026, 11, 2, 1, 0, 0);
  afterEach(() => emulator?.stop());

  it("charges the documented costs", () => {
    const q = (text: string) => new URLSearchParams(text);
    assert.deepEqual(requestCost("GET", "/users", q("")), { units: 2, writes: 0 });
    assert.deepEqual(requestCost("GET", "/users", q("$select=id")), { units: 1, writes: 0 });
    assert.deepEqual(requestCost("GET", "/directory/authenticationMethodDevices/hardwareOathDevices", q("$top=5&$select=id")), { units: 1, writes: 0 }, "never below 1");
    assert.deepEqual(requestCost("POST", "/users/u/checkMemberGroups", q("")), { units: 4, writes: 1 });
    assert.deepEqual(requestCost("DELETE", "/users/u/authentication/hardwareOathMethods/x", q("")), { units: 1, writes: 1 });
    assert.deepEqual([resourceUnitQuota(49), resourceUnitQuota(50), resourceUnitQuota(500), resourceUnitQuota(501)], [3500, 5000, 5000, 8000]);
  });

  it("enforces 3,000 writes per 2.5 minutes per app and tenant, with WriteLimitExceeded", () => {
    let clock = 0;
    const limits = new GraphLimits("tenant", () => 10_000, () => clock);
    const write = () => limits.charge("app", "POST", "/users/u/authentication/hardwareOathMethods", new URLSearchParams());
    // All at once: 3,000 units are within the 8,000 per 10 s of a large tenant; the write quota is the limit.
    for (let i = 0; i < 3000; i++) assert.ok(write().ok, `write ${i}`);
    const refused = write();
    assert.ok(!refused.ok);
    assert.equal(refused.headers["x-ms-throttle-information"], "WriteLimitExceeded");
    assert.equal(refused.headers["x-ms-throttle-scope"], "Tenant_Application/Write/app/tenant");
    clock += refused.retryAfterSeconds * 1000;
    assert.ok(write().ok, "after Retry-After, one more write fits");
    assert.ok(limits.charge("app", "GET", "/users/u", new URLSearchParams()).ok, "reads are still permitted");
  });

  it("over HTTP: every request inside a $batch is charged; past the quota 429 with Retry-After and x-ms-throttle-* headers", async () => {
    emulator = await startHttpsEmulator({ variant: "canonical", clock: () => now, throttle: "graph-limits" });
    const admin = await tokenFor(emulator, ADMIN_APP);
    const quota = resourceUnitQuota(emulator.tenant.userCount());
    assert.equal(quota, 3500, "the demo tenant is small");
    const first = await call(emulator, admin, "GET", "/users/adele.vance@contoso.com");
    assert.equal(first.headers.get("x-ms-resource-unit"), "1");
    const batch = (n: number) => ({ requests: Array.from({ length: n }, (_, i) => ({ id: String(i), method: "GET", url: "/users/adele.vance@contoso.com" })) });
    let statuses: number[] = [];
    let percentage: string | undefined;
    for (let left = quota - 1; left > 0; left -= 20) {
      const answer = await call(emulator, admin, "POST", "/$batch", batch(Math.min(20, left)));
      statuses = statuses.concat(answer.body.responses.map((r: { status: number }) => r.status));
      percentage = answer.body.responses.at(-1).headers["x-ms-throttle-limit-percentage"] ?? percentage;
    }
    assert.ok(statuses.every((s) => s === 200), "exactly the quota is served");
    assert.equal(percentage, "1.00", "the answers near the limit say how much of it is used");
    const over = await call(emulator, admin, "POST", "/$batch", batch(1));
    const refused = over.body.responses[0];
    assert.equal(refused.status, 429);
    assert.equal(refused.headers["retry-after"], "1");
    assert.equal(refused.headers["x-ms-throttle-scope"], `Tenant_Application/ReadWrite/${ADMIN_APP.clientId}/${TENANT}`);
    assert.equal(refused.headers["x-ms-throttle-information"], "ResourceUnitLimitExceeded");
    now += 1000;
    assert.equal((await call(emulator, admin, "GET", "/users/adele.vance@contoso.com")).status, 200, "refilled at 350 units a second");
  });

  it("the client spends writes at the write quota's pace: 3,000 at once, then one per 50 ms, emptied by a write-limit 429", () => {
    let clock = 0;
    const quota = new WriteQuota(() => clock);
    assert.equal(quota.reserve(3000), 0, "a fresh app's bucket is full");
    assert.equal(quota.reserve(20), 1000, "20 more wait for 20 refills of 50 ms");
    assert.equal(quota.reserve(20), 2000, "and queue behind the first 20");
    clock += 2000;
    assert.equal(quota.reserve(0), 0, "reads never wait here");
    assert.equal(quota.reserve(1), 50);
    clock += 600_000;
    assert.equal(quota.reserve(3000), 0, "refilled, but never beyond the quota");
    assert.equal(quota.reserve(1), 50);
    clock += 10_000;
    quota.exhausted();
    assert.equal(quota.reserve(1), 50, "Graph said the quota is spent (earlier work of the app): the next write waits");
    // The page's own example scope, and the emulator's.
    assert.ok(!isWriteScope("Tenant_Application/ReadWrite/9a3d526c-b3c1-4479-ba74-197b5c5751ae/0785ef7c-2d7a-4542-b048-95bcab406e0b"));
    assert.ok(isWriteScope(`Tenant_Application/Write/${ADMIN_APP.clientId}/${TENANT}`));
    assert.ok(isWriteScope(`Tenant/Write/${ADMIN_APP.clientId}/${TENANT}`));
    assert.ok(!isWriteScope(undefined));
  });
});
