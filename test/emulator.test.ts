import assert from "node:assert/strict";
import { request } from "node:https";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GraphEmulator } from "../emulator/server.js";
import { totpAt } from "../emulator/totp.js";
import type { VariantSetting } from "../emulator/variants.js";
import { ADMIN_APP, call, NOTHING_APP, READER_APP, startEmulator, TENANT, tokenFor } from "./support/emulator.js";

const DEVICES = "/directory/authenticationMethodDevices/hardwareOathDevices";
const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const ADELE = "adele.vance@contoso.com";
const methods = (user: string) => `/users/${encodeURIComponent(user)}/authentication/hardwareOathMethods`;
const device = (serial: string, extra: object = {}) => ({ serialNumber: serial, manufacturer: "Token2", model: "C202", secretKey: SECRET, timeIntervalInSeconds: 30, ...extra });

describe("Graph emulator", () => {
  let emulator: GraphEmulator;
  let admin: string;
  let now = Date.UTC(2026, 10, 22, 12, 0, 0);

  beforeEach(async () => {
    emulator = await startEmulator({ clock: () => now, variant: "canonical" });
    admin = await tokenFor(emulator, ADMIN_APP);
  });
  afterEach(() => emulator.stop());

  describe("identity", () => {
    it("issues tokens only for known apps with the right secret and scope", async () => {
      const post = (form: Record<string, string>) =>
        fetch(`${emulator.url}/${TENANT}/oauth2/v2.0/token`, { method: "POST", body: new URLSearchParams(form) });
      const base = { grant_type: "client_credentials", client_id: ADMIN_APP.clientId, scope: "https://graph.microsoft.com/.default" };
      const wrongSecret = await post({ ...base, client_secret: "nope" });
      assert.equal(wrongSecret.status, 401);
      assert.match(JSON.stringify(await wrongSecret.json()), /AADSTS7000215/);
      const unknownApp = await post({ ...base, client_id: "ghost", client_secret: "x" });
      assert.equal(unknownApp.status, 400);
      assert.match(JSON.stringify(await unknownApp.json()), /AADSTS700016/);
      const badScope = await post({ ...base, client_secret: ADMIN_APP.clientSecret, scope: "User.Read" });
      assert.match(JSON.stringify(await badScope.json()), /invalid_scope/);
      const wrongTenant = await fetch(`${emulator.url}/other-tenant/oauth2/v2.0/token`, { method: "POST", body: new URLSearchParams({ ...base, client_secret: ADMIN_APP.clientSecret }) });
      assert.match(JSON.stringify(await wrongTenant.json()), /AADSTS90002/);
    });

    it("serves the OpenID metadata and instance discovery MSAL asks for", async () => {
      const json = async (path: string) => (await call(emulator, undefined, "GET", `${emulator.url}${path}`)).body;
      const config = await json(`/${TENANT}/v2.0/.well-known/openid-configuration`);
      assert.equal(config.token_endpoint, `${emulator.url}/${TENANT}/oauth2/v2.0/token`);
      const discovery = await json("/common/discovery/instance?api-version=1.1");
      assert.match(discovery.tenant_discovery_endpoint, /openid-configuration$/);
      const keys = await json(`/${TENANT}/discovery/v2.0/keys`);
      assert.equal(keys.keys[0].kty, "RSA");
    });

    it("answers 401 without a valid token and 403 without the permission", async () => {
      const none = await call(emulator, undefined, "GET", DEVICES);
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, "InvalidAuthenticationToken");
      assert.ok(none.headers.get("request-id"));
      assert.ok(none.body.error.innerError["request-id"]);
      const forged = await call(emulator, `${admin.slice(0, -4)}AAAA`, "GET", DEVICES);
      assert.equal(forged.status, 401);
      const nothing = await tokenFor(emulator, NOTHING_APP);
      const denied = await call(emulator, nothing, "GET", DEVICES);
      assert.equal(denied.status, 403);
      assert.deepEqual([denied.body.error.code, denied.body.error.message], ["Authorization_RequestDenied", "Insufficient privileges to complete the operation."]);
      const reader = await tokenFor(emulator, READER_APP);
      assert.equal((await call(emulator, reader, "GET", DEVICES)).status, 200);
      assert.equal((await call(emulator, reader, "POST", DEVICES, device("R1"))).status, 403);
      assert.equal((await call(emulator, reader, "POST", methods(ADELE), { device: { id: "x" } })).status, 403);
    });

    it("rejects expired tokens", async () => {
      now += 2 * 3600 * 1000;
      const expired = await call(emulator, admin, "GET", DEVICES);
      assert.equal(expired.status, 401);
      assert.match(expired.body.error.message, /expired/);
    });
  });

  describe("inventory", () => {
    it("creates, gets, updates and deletes a device, never returning its secret", async () => {
      const created = await call(emulator, admin, "POST", DEVICES, device("S1", { timeIntervalInSeconds: "60", displayName: "fob" }));
      assert.equal(created.status, 201);
      assert.equal(created.body.status, "available");
      assert.equal(created.body.secretKey, null);
      assert.equal(created.body.timeIntervalInSeconds, 60);
      const id: string = created.body.id;
      const got = await call(emulator, admin, "GET", `${DEVICES}/${id}`);
      assert.equal(got.body.serialNumber, "S1");
      assert.ok(!JSON.stringify(got.body).includes(SECRET));
      assert.equal((await call(emulator, admin, "PATCH", `${DEVICES}/${id}`, { displayName: "renamed", hashFunction: "hmacsha256" })).status, 204);
      assert.equal((await call(emulator, admin, "GET", `${DEVICES}/${id}`)).body.displayName, "renamed");
      assert.equal((await call(emulator, admin, "DELETE", `${DEVICES}/${id}`)).status, 204);
      const gone = await call(emulator, admin, "GET", `${DEVICES}/${id}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.error.code, "Request_ResourceNotFound");
    });

    it("enforces Graph's rules on create", async () => {
      const expectError = async (body: object, status: number, code: string) => {
        const r = await call(emulator, admin, "POST", DEVICES, body);
        assert.deepEqual([r.status, r.body.error?.code], [status, code], JSON.stringify(r.body));
      };
      await call(emulator, admin, "POST", DEVICES, device("DUP"));
      await expectError(device("dup"), 409, "serialNumberAlreadyExists");
      await expectError(device("B1", { secretKey: "ABC8" }), 400, "invalidSecretKey");
      await expectError(device("B2", { secretKey: "A".repeat(129) }), 400, "invalidSecretKey");
      await expectError(device("B3", { timeIntervalInSeconds: 45 }), 400, "invalidTimeInterval");
      await expectError({ serialNumber: "B4", secretKey: SECRET, timeIntervalInSeconds: 30 }, 400, "invalidRequest");
      await expectError(device("B5", { assignTo: { id: "partner_fabrikam.com#EXT#@contoso.com" } }), 400, "guestUserNotAllowed");
      await expectError(device("B6", { assignTo: { id: "nobody@contoso.com" } }), 404, "Request_ResourceNotFound");
      const bad = await fetch(`${emulator.graphUrl}${DEVICES}`, { method: "POST", headers: { authorization: `Bearer ${admin}` }, body: "{not json" });
      assert.equal(bad.status, 400);
    });

    it("creates and assigns in one call with assignTo", async () => {
      const r = await call(emulator, admin, "POST", DEVICES, device("A1", { assignTo: { id: ADELE } }));
      assert.equal(r.status, 201);
      assert.equal(r.body.status, "assigned");
      assert.equal(r.body.assignedTo.displayName, "Adele Vance");
    });

    it("bulk-creates with #$delta, reporting failures per item", async () => {
      await call(emulator, admin, "POST", DEVICES, device("EXISTS"));
      const r = await call(emulator, admin, "PATCH", DEVICES, {
        "@context": "#$delta",
        value: [
          { "@contentId": "1", ...device("N1") },
          { "@contentId": "2", ...device("EXISTS") },
          { "@contentId": "3", ...device("N3", { assignTo: { id: ADELE } }) },
        ],
      });
      assert.equal(r.status, 201);
      assert.equal(r.body.value[0].device.serialNumber, "N1");
      assert.equal(r.body.value[1].error.code, "serialNumberAlreadyExists");
      assert.equal(r.body.value[2].device.status, "assigned");
      const tooMany = await call(emulator, admin, "PATCH", DEVICES, { "@context": "#$delta", value: Array.from({ length: 101 }, (_, i) => device(`M${i}`)) });
      assert.equal(tooMany.status, 400);
    });

    it("refuses to update or delete an assigned device", async () => {
      const id = (await call(emulator, admin, "POST", DEVICES, device("A1", { assignTo: { id: ADELE } }))).body.id;
      assert.equal((await call(emulator, admin, "DELETE", `${DEVICES}/${id}`)).body.error.code, "tokenAssigned");
      assert.equal((await call(emulator, admin, "PATCH", `${DEVICES}/${id}`, { displayName: "x" })).body.error.code, "tokenAssigned");
    });

    it("pages with @odata.nextLink, filters and selects", async () => {
      for (let i = 0; i < 25; i++) await call(emulator, admin, "POST", DEVICES, device(`P${i}`, i % 5 === 0 ? { assignTo: { id: `a1d2e3f4-000${1 + (i % 4)}-4000-8000-00000000000${1 + (i % 4)}` } } : {}));
      const serials: string[] = [];
      let url: string | undefined = `${DEVICES}?$top=10&$select=serialNumber,status`;
      let pages = 0;
      while (url) {
        const page = await call(emulator, admin, "GET", url);
        assert.equal(page.status, 200);
        for (const d of page.body.value) {
          assert.deepEqual(Object.keys(d).sort(), ["id", "serialNumber", "status"]);
          serials.push(d.serialNumber);
        }
        url = page.body["@odata.nextLink"];
        pages++;
      }
      assert.equal(pages, 3);
      assert.equal(new Set(serials).size, 25);
      const assigned = await call(emulator, admin, "GET", `${DEVICES}?$filter=${encodeURIComponent("status eq 'assigned'")}`);
      assert.equal(assigned.body.value.length, 5);
      const one = await call(emulator, admin, "GET", `${DEVICES}?$filter=${encodeURIComponent("serialNumber eq 'P7'")}`);
      assert.deepEqual(one.body.value.map((d: { serialNumber: string }) => d.serialNumber), ["P7"]);
      assert.equal((await call(emulator, admin, "GET", `${DEVICES}?$filter=${encodeURIComponent("model ne 'x'")}`)).status, 400);
      assert.equal((await call(emulator, admin, "GET", `${DEVICES}?$select=bogus`)).status, 400);
      assert.equal((await call(emulator, admin, "GET", `${DEVICES}?$skiptoken=garbage`)).status, 400);
      const capped = await call(emulator, admin, "GET", `${DEVICES}?$top=5000`);
      assert.equal(capped.body.value.length, 25);
    });
  });

  describe("a user's methods", () => {
    async function assignedDevice(serial: string, user = ADELE, extra: object = {}): Promise<string> {
      const id: string = (await call(emulator, admin, "POST", DEVICES, device(serial, extra))).body.id;
      const r = await call(emulator, admin, "POST", methods(user), { device: { id } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.id, id);
      return id;
    }

    it("assigns, lists, activates with a real TOTP code, deactivates and unassigns", async () => {
      const id = await assignedDevice("U1");
      const listed = await call(emulator, admin, "GET", methods(ADELE));
      assert.equal(listed.body.value[0]["@odata.type"], "#microsoft.graph.hardwareOathAuthenticationMethod");
      assert.equal(listed.body.value[0].device.status, "assigned");
      const code = totpAt(SECRET, 30, "hmacsha1", now - 30_000); // one step behind: still accepted
      assert.equal((await call(emulator, admin, "POST", `${methods(ADELE)}/${id}/activate`, { verificationCode: code })).status, 204);
      assert.equal((await call(emulator, admin, "GET", `${DEVICES}/${id}`)).body.status, "activated");
      assert.equal((await call(emulator, admin, "POST", `${methods(ADELE)}/${id}/deactivate`)).status, 204);
      assert.equal((await call(emulator, admin, "GET", `${DEVICES}/${id}`)).body.status, "assigned");
      assert.equal((await call(emulator, admin, "DELETE", `${methods(ADELE)}/${id}`)).status, 204);
      const after = await call(emulator, admin, "GET", `${DEVICES}/${id}`);
      assert.deepEqual([after.body.status, after.body.assignedTo], ["available", null]);
    });

    it("marks a wrong code as failedActivation", async () => {
      const id = await assignedDevice("U2");
      const stale = totpAt(SECRET, 30, "hmacsha1", now - 90_000);
      const r = await call(emulator, admin, "POST", `${methods(ADELE)}/${id}/activate`, { verificationCode: stale });
      assert.deepEqual([r.status, r.body.error.code], [400, "invalidVerificationCode"]);
      assert.equal((await call(emulator, admin, "GET", `${DEVICES}/${id}`)).body.status, "failedActivation");
    });

    it("checks codes with the device's hash and interval", async () => {
      const id = await assignedDevice("U3", ADELE, { timeIntervalInSeconds: 60, hashFunction: "hmacsha256" });
      const sha1Code = totpAt(SECRET, 60, "hmacsha1", now);
      const sha256Code = totpAt(SECRET, 60, "hmacsha256", now);
      assert.notEqual(sha1Code, sha256Code);
      assert.equal((await call(emulator, admin, "POST", `${methods(ADELE)}/${id}/activate`, { verificationCode: sha256Code })).status, 204);
    });

    it("assigns and activates in one call, by id or by serial number", async () => {
      const id: string = (await call(emulator, admin, "POST", DEVICES, device("AA1"))).body.id;
      const code = totpAt(SECRET, 30, "hmacsha1", now);
      assert.equal((await call(emulator, admin, "POST", `${methods(ADELE)}/assignAndActivate`, { device: { id }, verificationCode: code })).status, 204);
      await call(emulator, admin, "POST", DEVICES, device("AA2"));
      const bySerial = await call(emulator, admin, "POST", `${methods("lee.gu@contoso.com")}/assignAndActivateBySerialNumber`, { serialNumber: "AA2", verificationCode: code, displayName: "Lee's" });
      assert.equal(bySerial.status, 204);
      const listed = await call(emulator, admin, "GET", methods("lee.gu@contoso.com"));
      assert.deepEqual([listed.body.value[0].device.status, listed.body.value[0].device.displayName], ["activated", "Lee's"]);
      const missing = await call(emulator, admin, "POST", `${methods(ADELE)}/assignAndActivateBySerialNumber`, { serialNumber: "NOPE", verificationCode: code });
      assert.equal(missing.status, 404);
    });

    it("enforces five tokens per user, no guests and one holder per token", async () => {
      for (let i = 0; i < 5; i++) await assignedDevice(`F${i}`);
      const sixth: string = (await call(emulator, admin, "POST", DEVICES, device("F5"))).body.id;
      assert.equal((await call(emulator, admin, "POST", methods(ADELE), { device: { id: sixth } })).body.error.code, "tooManyDevices");
      assert.equal((await call(emulator, admin, "POST", methods("partner_fabrikam.com#EXT#@contoso.com"), { device: { id: sixth } })).body.error.code, "guestUserNotAllowed");
      const taken = await assignedDevice("T1", "lee.gu@contoso.com");
      assert.equal((await call(emulator, admin, "POST", methods("megan.bowen@contoso.com"), { device: { id: taken } })).body.error.code, "tokenAlreadyAssigned");
      assert.equal((await call(emulator, admin, "GET", methods("nobody@contoso.com"))).status, 404);
      assert.equal((await call(emulator, admin, "POST", `${methods("megan.bowen@contoso.com")}/${taken}/activate`, { verificationCode: "123456" })).status, 404);
    });

    it("answers /me as Graph does for app-only tokens", async () => {
      const r = await call(emulator, admin, "GET", "/me/authentication/hardwareOathMethods");
      assert.equal(r.status, 400);
      assert.match(r.body.error.message, /delegated/);
    });
  });

  describe("users", () => {
    it("gets a user by id or UPN with $select", async () => {
      const byUpn = await call(emulator, admin, "GET", "/users/Lee.Gu@contoso.com?$select=id,userType,accountEnabled");
      assert.deepEqual(byUpn.body, { id: "a1d2e3f4-0004-4000-8000-000000000004", userType: "Member", accountEnabled: true });
      const byId = await call(emulator, admin, "GET", `/users/${byUpn.body.id}`);
      assert.equal(byId.body.userPrincipalName, "lee.gu@contoso.com");
      const missing = await call(emulator, admin, "GET", "/users/ghost@contoso.com");
      assert.deepEqual([missing.status, missing.body.error.code], [404, "Request_ResourceNotFound"]);
    });
  });

  describe("$batch", () => {
    it("runs up to 20 requests with mixed results and dependsOn", async () => {
      const id: string = (await call(emulator, admin, "POST", DEVICES, device("B1"))).body.id;
      const r = await call(emulator, admin, "POST", "/$batch", {
        requests: [
          { id: "1", method: "GET", url: "/users/adele.vance@contoso.com" },
          { id: "2", method: "GET", url: "/users/ghost@contoso.com" },
          { id: "3", method: "POST", url: `/users/${ADELE}/authentication/hardwareOathMethods`, headers: { "content-type": "application/json" }, body: { device: { id } } },
          { id: "4", method: "GET", url: "/users/lee.gu@contoso.com", dependsOn: ["2"] },
        ],
      });
      assert.equal(r.status, 200);
      const byId = Object.fromEntries(r.body.responses.map((x: { id: string; status: number }) => [x.id, x.status]));
      assert.deepEqual(byId, { "1": 200, "2": 404, "3": 201, "4": 424 });
      const tooMany = await call(emulator, admin, "POST", "/$batch", { requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: "GET", url: "/users/x" })) });
      assert.equal(tooMany.status, 400);
      const counters = emulator.counters();
      assert.equal(counters["POST assign 201"], 1);
    });
  });

  describe("faults", () => {
    it("throttles with a token bucket and Retry-After, also inside $batch", async () => {
      emulator.setFaults({ throttle: { capacity: 2, refillPerSecond: 0.1 } });
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await call(emulator, admin, "GET", "/users/lee.gu@contoso.com"));
      assert.deepEqual(results.map((r) => r.status), [200, 200, 429]);
      assert.equal(results[2]?.headers.get("retry-after"), "10");
      emulator.setFaults({ routes: { getUser: { throttle: { capacity: 1, refillPerSecond: 0.5 } } } });
      const batch = await call(emulator, admin, "POST", "/$batch", {
        requests: [
          { id: "a", method: "GET", url: "/users/lee.gu@contoso.com" },
          { id: "b", method: "GET", url: "/users/lee.gu@contoso.com" },
        ],
      });
      assert.equal(batch.status, 200);
      assert.deepEqual(batch.body.responses.map((x: { status: number }) => x.status), [200, 429]);
      assert.equal(batch.body.responses[1].headers["retry-after"], "2");
    });

    it("injects scripted 5xx and dropped connections, and seeded random ones repeatably", async () => {
      emulator.setFaults({ script: [{ route: "listDevices", count: 1, outcome: 503 }, { route: "listDevices", count: 1, outcome: "drop", after: 2 }] });
      assert.equal((await call(emulator, admin, "GET", DEVICES)).status, 503);
      await assert.rejects(call(emulator, admin, "GET", DEVICES));
      assert.equal((await call(emulator, admin, "GET", DEVICES)).status, 200);
      const pattern = async () => {
        emulator.setFaults({ seed: 42, errorRate: 0.5 });
        const statuses = [];
        for (let i = 0; i < 12; i++) statuses.push((await call(emulator, admin, "GET", DEVICES)).status);
        return statuses;
      };
      const first = await pattern();
      assert.ok(first.includes(503) && first.includes(200));
      assert.deepEqual(await pattern(), first);
    });

    it("adds latency", async () => {
      emulator.setFaults({ latencyMs: 30 });
      const start = process.hrtime.bigint();
      await call(emulator, admin, "GET", DEVICES);
      assert.ok(process.hrtime.bigint() - start >= 30_000_000n);
    });
  });

  it("logs requests without bodies or secrets", async () => {
    await call(emulator, admin, "POST", DEVICES, device("L1"));
    const log = JSON.stringify(await (await fetch(`${emulator.url}/_emulator/requests`)).json());
    assert.match(log, /createDevice/);
    assert.ok(!log.includes(SECRET) && !log.includes(admin) && !log.includes(ADMIN_APP.clientSecret));
  });
});

describe("Graph emulator over HTTPS with saved state", () => {
  it("serves HTTPS with a CA generated for the run and keeps state across restarts", async () => {
    const statePath = join(mkdtempSync(join(tmpdir(), "emu-state-")), "tenant.json");
    const first = await startEmulator({ https: true, statePath });
    assert.match(first.url, /^https:/);
    const token = await new Promise<string>((resolve, reject) => {
      const body = new URLSearchParams({ grant_type: "client_credentials", client_id: ADMIN_APP.clientId, client_secret: ADMIN_APP.clientSecret, scope: "https://graph.microsoft.com/.default" }).toString();
      const req = request(`${first.url}/${TENANT}/oauth2/v2.0/token`, { method: "POST", ca: first.caCert, headers: { "content-type": "application/x-www-form-urlencoded" } }, (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve(JSON.parse(text).access_token));
      });
      req.on("error", reject);
      req.end(body);
    });
    assert.ok(token.split(".").length === 3);
    first.tenant.createDevice(device("KEEP"), false);
    await first.stop();
    assert.match(readFileSync(statePath, "utf8"), /KEEP/);
    const second = await startEmulator({ statePath });
    assert.ok(second.tenant.deviceBySerial("KEEP"));
    await second.stop();
  });
});

describe("Graph emulator response variants and refusals", () => {
  let now = Date.UTC(2026, 10, 22, 12, 0, 0);
  const started: GraphEmulator[] = [];
  const start = async (variant: VariantSetting) => {
    const emulator = await startEmulator({ clock: () => now, variant });
    started.push(emulator);
    return { emulator, admin: await tokenFor(emulator, ADMIN_APP) };
  };
  afterEach(async () => {
    for (const emulator of started.splice(0)) await emulator.stop();
  });
  const bulk = { "@context": "#$delta", value: [{ "@contentId": "1", ...device("V1") }, { "@contentId": "2", ...device("V1") }, { "@contentId": "3", ...device("V3") }] };

  it("answers the bulk create in the docs' shape: wrapped items, no @contentId, request order", async () => {
    const { emulator, admin } = await start("bulk-documented");
    const r = await call(emulator, admin, "PATCH", DEVICES, bulk);
    assert.equal(r.status, 201);
    assert.deepEqual(r.body.value.map((item: Record<string, unknown>) => "@contentId" in item), [false, false, false]);
    assert.equal(r.body.value[0]["@odata.type"], "#microsoft.graph.hardwareOathAuthenticationMethod");
    assert.equal(r.body.value[0].device.serialNumber, "V1");
    assert.equal(r.body.value[1].error.code, "serialNumberAlreadyExists");
    assert.equal(r.body.value[2].device.serialNumber, "V3");
  });

  it("answers the bulk create with @contentId in another order, and accepts it by POST too", async () => {
    const { emulator, admin } = await start("bulk-shuffled");
    const many = { "@context": "#$delta", value: Array.from({ length: 12 }, (_, i) => ({ "@contentId": String(i), ...device(`S${i}`) })) };
    const r = await call(emulator, admin, "POST", DEVICES, many);
    assert.equal(r.status, 201);
    const ids = r.body.value.map((item: { "@contentId": string }) => item["@contentId"]);
    assert.deepEqual([...ids].sort((a, b) => Number(a) - Number(b)), many.value.map((v) => v["@contentId"]));
    assert.notDeepEqual(ids, many.value.map((v) => v["@contentId"]), "shuffled");
  });

  it("serves 200 creates, 200 updates with the device, GET wrapped in value, wrapped list items and annotations", async () => {
    const created = await start("create-200");
    const one = await call(created.emulator, created.admin, "POST", DEVICES, device("C1"));
    assert.equal(one.status, 200);
    assert.equal(one.body.serialNumber, "C1");

    const updated = await start("update-200");
    const id = (await call(updated.emulator, updated.admin, "POST", DEVICES, device("U1"))).body.id;
    const patch = await call(updated.emulator, updated.admin, "PATCH", `${DEVICES}/${id}`, { displayName: "renamed" });
    assert.deepEqual([patch.status, patch.body.displayName], [200, "renamed"]);

    const got = await start("get-wrapped");
    const gid = (await call(got.emulator, got.admin, "POST", DEVICES, device("G1"))).body.id;
    assert.equal((await call(got.emulator, got.admin, "GET", `${DEVICES}/${gid}`)).body.value.serialNumber, "G1");

    const listed = await start("wrapped-list");
    await call(listed.emulator, listed.admin, "POST", DEVICES, device("L1"));
    const item = (await call(listed.emulator, listed.admin, "GET", DEVICES)).body.value[0];
    assert.deepEqual([item["@odata.type"], item.device.serialNumber, item.id], ["#microsoft.graph.hardwareOathAuthenticationMethod", "L1", item.device.id]);

    const annotated = await start("annotations");
    await call(annotated.emulator, annotated.admin, "POST", DEVICES, device("A1"));
    const list = (await call(annotated.emulator, annotated.admin, "GET", DEVICES)).body;
    assert.equal(list["@odata.count"], 1);
    assert.match(list["@odata.context"], /\$metadata#/);
    assert.equal(list.value[0]["@odata.type"], "#microsoft.graph.hardwareOathTokenAuthenticationMethodDevice");
  });

  it("throttles with Retry-After as an HTTP date, or with 503", async () => {
    const dated = await start("retry-after-date");
    dated.emulator.setFaults({ throttle: { capacity: 1, refillPerSecond: 0.1 } });
    await call(dated.emulator, dated.admin, "GET", DEVICES);
    const throttled = await call(dated.emulator, dated.admin, "GET", DEVICES);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get("retry-after"), new Date(now + 10_000).toUTCString());

    const unavailable = await start("throttle-503");
    unavailable.emulator.setFaults({ throttle: { capacity: 1, refillPerSecond: 0.1 } });
    await call(unavailable.emulator, unavailable.admin, "GET", DEVICES);
    const refused = await call(unavailable.emulator, unavailable.admin, "GET", DEVICES);
    assert.deepEqual([refused.status, refused.headers.get("retry-after")], [503, "10"]);
  });

  it("answers unconfirmed error codes generically under generic-errors, keeping the status", async () => {
    const { emulator, admin } = await start("generic-errors");
    await call(emulator, admin, "POST", DEVICES, device("D1"));
    const again = await call(emulator, admin, "POST", DEVICES, device("D1"));
    assert.deepEqual([again.status, again.body.error.code], [409, "BadRequest"]);
    assert.equal((await call(emulator, admin, "GET", `${DEVICES}/nope`)).body.error.code, "Request_ResourceNotFound");
  });

  it("mixes the variants per answer, the same way for the same seed", async () => {
    const shapes = async () => {
      const { emulator, admin } = await start("mix");
      await call(emulator, admin, "POST", DEVICES, device("M1"));
      const seen: string[] = [];
      for (let i = 0; i < 12; i++) {
        const item = (await call(emulator, admin, "GET", DEVICES)).body.value[0];
        seen.push("device" in item ? "wrapped" : "flat");
      }
      return seen;
    };
    const first = await shapes();
    assert.deepEqual(await shapes(), first);
    assert.ok(first.includes("wrapped") && first.includes("flat"), first.join());
  });

  it("refuses query options and segments it does not implement, as Graph does, and inner $batch bodies without Content-Type", async () => {
    const { emulator, admin } = await start("canonical");
    const id = (await call(emulator, admin, "POST", DEVICES, device("R1"))).body.id;
    for (const path of [`${DEVICES}?$expand=assignedTo`, `${DEVICES}?$orderby=serialNumber`, `${DEVICES}?$count=true`, `${DEVICES}?$search="x"`, `${DEVICES}/${id}?$select=id`, `${DEVICES}/$count`, `${DEVICES}/${id}/assignTo`, `${methods(ADELE)}?$expand=device`]) {
      const r = await call(emulator, admin, "GET", path);
      assert.deepEqual([r.status, r.body.error.code], [400, "BadRequest"], path);
    }
    assert.match((await call(emulator, admin, "GET", `${DEVICES}?$orderby=serialNumber`)).body.error.message, /Query option 'OrderBy' is not allowed/);
    const batch = await call(emulator, admin, "POST", "/$batch", { requests: [{ id: "1", method: "POST", url: methods(ADELE), body: { device: { id } } }] });
    assert.equal(batch.status, 400);
    assert.match(batch.body.error.message, /does not contain Content-Type/);
    assert.equal(emulator.tenant.device(id).status, "available", "nothing of the refused batch ran");
  });
});
