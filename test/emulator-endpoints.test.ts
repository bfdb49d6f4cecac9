import assert from "node:assert/strict";
import { GraphClient } from "../provider/graph/client.js";
import { credentialFromEnv } from "../provider/graph/credentials.js";
import { TokenRepository } from "../provider/graph/repository.js";
import type { GraphEmulator } from "../emulator/server.js";
import type { VariantSetting } from "../emulator/variants.js";
import { ADMIN_APP, call, clientEnv, startHttpsEmulator, tokenFor } from "./support/emulator.js";

// The documented endpoints and query options beyond the ones the client calls
// (microsoft-graph-docs-contrib, api-reference/beta/api/ unless noted).

const DEVICES = "/directory/authenticationMethodDevices/hardwareOathDevices";
const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const ADELE = "adele.vance@contoso.com";
const ALEX = "alex.wilber@contoso.com";
const methods = (user: string) => `/users/${encodeURIComponent(user)}/authentication/hardwareOathMethods`;
const device = (serial: string, extra: object = {}) => ({ serialNumber: serial, manufacturer: "Token2", model: "C202", secretKey: SECRET, timeIntervalInSeconds: 30, ...extra });

describe("Graph emulator: documented endpoints, filters and $batch rules", function () {
  this.timeout(60_000);
  let emulator: GraphEmulator;
  let admin: string;
  async function start(variant: VariantSetting = "canonical") {
    emulator = await startHttpsEmulator({ variant });
    admin = await tokenFor(emulator, ADMIN_APP);
  }
  afterEach(() => emulator.stop());

  it("assigns by reference: PUT …/device/assignTo/$ref and …/hardwareOathDevices/{id}/assignTo/$ref answer 204 (hardwareoathtokenauthenticationmethoddevice-put-assignto.md, -post-assignto.md)", async () => {
    await start();
    const adele = emulator.tenant.user(ADELE);
    const alex = emulator.tenant.user(ALEX);
    const first = emulator.tenant.createDevice(device("REF1"), false);
    const second = emulator.tenant.createDevice(device("REF2"), false);
    const reference = (id: string) => ({ "@odata.id": `https://graph.microsoft.com/beta/users/${id}` });
    const put = await call(emulator, admin, "PUT", `${methods(adele.id)}/${first.id}/device/assignTo/$ref`, reference(adele.id));
    assert.deepEqual([put.status, put.body], [204, undefined]);
    assert.equal(emulator.tenant.device(first.id).assignedToUserId, adele.id);
    assert.equal(emulator.tenant.device(first.id).status, "assigned");
    const byDevice = await call(emulator, admin, "PUT", `${DEVICES}/${second.id}/assignTo/$ref`, reference(alex.id));
    assert.equal(byDevice.status, 204);
    assert.equal(emulator.tenant.device(second.id).assignedToUserId, alex.id);
    assert.deepEqual(emulator.audit.all().map((e) => e.activityDisplayName).slice(-2), ["Assign Hardware Oath Token", "Assign Hardware Oath Token"]);
    // A body that names no user, and a body naming someone else than the path: refused, nothing changed.
    const third = emulator.tenant.createDevice(device("REF3"), false);
    assert.equal((await call(emulator, admin, "PUT", `${methods(adele.id)}/${third.id}/device/assignTo/$ref`, { id: adele.id })).status, 400);
    assert.equal((await call(emulator, admin, "PUT", `${methods(adele.id)}/${third.id}/device/assignTo/$ref`, reference(alex.id))).status, 400);
    assert.equal(emulator.tenant.device(third.id).assignedToUserId, null);
    // A $ref the emulator does not model is still refused as Graph refuses unknown segments.
    assert.equal((await call(emulator, admin, "GET", `${DEVICES}/${third.id}/assignedTo/$ref`)).status, 400);
  });

  it("filters the inventory with eq on every property the resource page marks filterable (hardwareoathtokenauthenticationmethoddevice.md)", async () => {
    await start();
    const adele = emulator.tenant.user(ADELE);
    emulator.tenant.createDevice(device("F1", { manufacturer: "Yubico", model: "5Ci", hashFunction: "hmacsha256" }), false);
    emulator.tenant.createDevice(device("F2", { timeIntervalInSeconds: 60 }), false);
    emulator.tenant.createDevice(device("F3", { assignTo: { id: adele.id } }), true);
    const serials = async (filter: string) => {
      const r = await call(emulator, admin, "GET", `${DEVICES}?$filter=${encodeURIComponent(filter)}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.value.map((d: { serialNumber: string }) => d.serialNumber).sort();
    };
    assert.deepEqual(await serials("manufacturer eq 'Yubico'"), ["F1"]);
    assert.deepEqual(await serials("model eq 'C202'"), ["F2", "F3"]);
    assert.deepEqual(await serials("hashFunction eq 'hmacsha256'"), ["F1"]);
    assert.deepEqual(await serials("timeIntervalInSeconds eq 60"), ["F2"]);
    assert.deepEqual(await serials(`assignedTo/id eq '${adele.id}'`), ["F3"]);
    assert.deepEqual(await serials("status eq 'available' and model eq 'C202'"), ["F2"]);
    for (const bad of ["displayName eq 'x'", "timeIntervalInSeconds eq '60'", "manufacturer eq 30", "model ne 'C202'"]) {
      assert.equal((await call(emulator, admin, "GET", `${DEVICES}?$filter=${encodeURIComponent(bad)}`)).status, 400, bad);
    }
  });

  it("serves $select, $filter and $top on a user's hardwareOathMethods (authentication-list-hardwareoathmethods.md)", async () => {
    await start();
    const adele = emulator.tenant.user(ADELE);
    const ids = ["M1", "M2", "M3"].map((serial) => emulator.tenant.createDevice(device(serial, { assignTo: { id: adele.id } }), true).id);
    const first = await call(emulator, admin, "GET", `${methods(ADELE)}?$top=2&$select=id,createdDateTime`);
    assert.equal(first.status, 200);
    assert.equal(first.body.value.length, 2);
    assert.deepEqual(Object.keys(first.body.value[0]).sort(), ["@odata.type", "createdDateTime", "id"]);
    const next = await call(emulator, admin, "GET", first.body["@odata.nextLink"]);
    assert.equal(next.body.value.length, 1);
    assert.equal(next.body["@odata.nextLink"], undefined);
    const one = await call(emulator, admin, "GET", `${methods(ADELE)}?$filter=${encodeURIComponent(`id eq '${ids[1]}'`)}`);
    assert.deepEqual(one.body.value.map((m: { id: string }) => m.id), [ids[1]]);
    assert.equal((await call(emulator, admin, "GET", `${methods(ADELE)}?$select=secretKey`)).status, 400);
  });

  it("refuses a whole $batch holding a write without a body, as Graph does (concepts/json-batching.md, request 4 of its example)", async () => {
    await start();
    const adele = emulator.tenant.user(ADELE);
    const held = emulator.tenant.createDevice(device("B1", { assignTo: { id: adele.id } }), true);
    const deactivate = { id: "1", method: "POST", url: `${methods(adele.id)}/${held.id}/deactivate` };
    const refused = await call(emulator, admin, "POST", "/$batch", { requests: [deactivate] });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /Write request id : 1 does not contain Content-Type header or body/);
    const served = await call(emulator, admin, "POST", "/$batch", { requests: [{ ...deactivate, body: {}, headers: { "Content-Type": "application/json" } }] });
    assert.deepEqual(served.body.responses.map((r: { status: number }) => r.status), [204]);
    // A read or a delete needs no body.
    const reads = await call(emulator, admin, "POST", "/$batch", { requests: [{ id: "1", method: "GET", url: methods(adele.id) }] });
    assert.deepEqual(reads.body.responses.map((r: { status: number }) => r.status), [200]);
  });

  for (const serialFilter of ["exact", "ignoreCase"] as const) {
    it(`reads a serial back whatever case rules serialNumber eq follows (undocumented; emulator serves ${serialFilter})`, async () => {
      await start({ serialFilter });
      emulator.tenant.createDevice(device("ab1"), false);
      const repository = new TokenRepository(new GraphClient({ credential: credentialFromEnv(clientEnv(emulator)).credential, graphUrl: emulator.graphUrl }));
      const [found, absent] = await repository.readBackBySerial(["AB1", "ZZ9"]);
      assert.ok(found?.ok && absent?.ok);
      assert.equal(found.value?.serial, "ab1");
      assert.equal(absent.value, undefined);
      const filtered = await call(emulator, admin, "GET", `${DEVICES}?$filter=${encodeURIComponent("serialNumber eq 'AB1'")}`);
      assert.equal(filtered.body.value.length, serialFilter === "exact" ? 0 : 1, "the emulator really serves both behaviours");
    });
  }
});
