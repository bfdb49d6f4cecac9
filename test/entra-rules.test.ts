import assert from "node:assert/strict";
import { applyPlan } from "../provider/apply/apply.js";
import { loadDesired } from "../provider/desired/load.js";
import { GraphClient } from "../provider/graph/client.js";
import { credentialFromEnv } from "../provider/graph/credentials.js";
import { readLive } from "../provider/graph/live.js";
import { TokenRepository } from "../provider/graph/repository.js";
import type { Desired } from "../provider/model/index.js";
import { classifyDrift } from "../provider/plan/drift.js";
import { plan } from "../provider/plan/plan.js";
import { readSeedFiles } from "../provider/seeds/read.js";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { ADMIN_APP, call, clientEnv, startHttpsEmulator, tokenFor } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

// Entra's rules the inventory API alone does not show (docs/entra-rules.md).

const ADELE = "adele.vance@contoso.com";
const ALEX = "alex.wilber@contoso.com";

describe("Entra as it really is: portal tokens, the shared limit, odd devices", function () {
  this.timeout(60_000);
  let emulator: GraphEmulator;
  beforeEach(async () => (emulator = await startHttpsEmulator({ variant: "canonical" })));
  afterEach(() => emulator.stop());

  const repository = () => new TokenRepository(new GraphClient({ credential: credentialFromEnv(clientEnv(emulator)).credential, graphUrl: emulator.graphUrl }));
  async function planned(file: string) {
    const result = await loadDesired(file);
    assert.ok(result.ok, JSON.stringify(result));
    const desired: Desired = result.desired;
    const seeds = await readSeedFiles(desired.seedFiles);
    const repo = repository();
    const live = await readLive(repo, desired);
    return { desired, live, seeds, repo, plan: plan(desired, live, { seeds: seeds.serials() }) };
  }

  it("emulator: a portal-uploaded token is among the user's methods, in no inventory, and counts towards the limit (how-to-mfa-manage-oath-tokens.md)", async () => {
    const portal = emulator.tenant.addMethod(ADELE, { kind: "hardwareOath", serialNumber: "P1", manufacturer: "Token2", model: "C202" });
    for (let i = 0; i < 4; i++) emulator.tenant.addMethod(ADELE, { kind: "microsoftAuthenticator" });
    const token = await tokenFor(emulator, ADMIN_APP);
    const user = emulator.tenant.user(ADELE).id;
    const listed = await call(emulator, token, "GET", `/users/${user}/authentication/hardwareOathMethods`);
    assert.deepEqual(listed.body.value.map((m: { id: string; device: { serialNumber: string } }) => [m.id, m.device.serialNumber]), [[portal.id, "P1"]]);
    const inventory = await call(emulator, token, "GET", "/directory/authenticationMethodDevices/hardwareOathDevices");
    assert.deepEqual(inventory.body.value, []);
    const all = await call(emulator, token, "GET", `/users/${user}/authentication/methods`);
    assert.equal(all.body.value.filter((m: { "@odata.type": string }) => m["@odata.type"] === "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod").length, 4);
    // Five methods: Graph refuses a sixth, though the inventory gives her none.
    const device = emulator.tenant.createDevice({ serialNumber: "N1", manufacturer: "a", model: "b", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    const refused = await call(emulator, token, "POST", `/users/${user}/authentication/hardwareOathMethods`, { device: { id: device.id } });
    assert.equal(refused.status, 400);
    // The docs' removal: DELETE the user's method, then the device with that id.
    assert.equal((await call(emulator, token, "DELETE", `/directory/authenticationMethodDevices/hardwareOathDevices/${portal.id}`)).status, 400, "still assigned");
    assert.equal((await call(emulator, token, "DELETE", `/users/${user}/authentication/hardwareOathMethods/${portal.id}`)).status, 204);
    assert.equal((await call(emulator, token, "DELETE", `/directory/authenticationMethodDevices/hardwareOathDevices/${portal.id}`)).status, 204);
    assert.equal(emulator.tenant.otherMethodsOf(ADELE).filter((m) => m.kind === "hardwareOath").length, 0);
  });

  it("plan never creates a serial a user holds as a portal token, says how to migrate, and apply converges after the migration", async () => {
    const { file } = workspace(2, (i) => `state: activated, upn: ${[ADELE, ALEX][i]}`);
    const portal = emulator.tenant.addMethod(ADELE, { kind: "hardwareOath", serialNumber: "t0", manufacturer: "Token2", model: "C202" });
    const first = await planned(file);
    assert.deepEqual(first.plan.steps.filter((s) => s.serial === "T0"), [], "no create for the portal token's serial");
    assert.deepEqual(first.plan.errors.map((e) => [e.code, e.serial]), [["portal-token", "T0"]]);
    assert.match(first.plan.errors[0]!.fix, new RegExp(`DELETE /users/.*/hardwareOathMethods/${portal.id}, then DELETE /directory/authenticationMethodDevices/hardwareOathDevices/${portal.id}`));
    assert.deepEqual(classifyDrift(first.desired, first.live).filter((d) => d.serial === "T0").map((d) => [d.category, /admin portal/.test(d.live)]), [["missing", true]]);
    const cli = await runCli(["plan", "--file", file], clientEnv(emulator));
    assert.equal(cli.code, 1);
    assert.match(cli.stdout + cli.stderr, /uploaded through the admin portal/);
    // The migration the fix names, then apply: one token per serial, activated from its seed.
    emulator.tenant.unassign(ADELE, portal.id);
    emulator.tenant.deleteDevice(portal.id);
    const second = await planned(file);
    assert.deepEqual(second.plan.errors, []);
    const report = await applyPlan(second.plan, second.repo, { seeds: second.seeds });
    assert.equal(report.failed, 0, JSON.stringify(report.outcomes));
    assert.equal(emulator.tenant.deviceBySerial("T0")?.status, "activated");
    assert.equal(emulator.tenant.allDevices().length, 2);
  });

  it("refuses, in plan, a second token to a user with four authenticator apps, naming the methods found", async () => {
    for (let i = 0; i < 3; i++) emulator.tenant.addMethod(ADELE, { kind: "microsoftAuthenticator" });
    emulator.tenant.addMethod(ADELE, { kind: "softwareOath" });
    emulator.tenant.addMethod(ALEX, { kind: "phone" });
    const { file } = workspace(3, (i) => `state: assigned, upn: ${[ADELE, ADELE, ALEX][i]}`);
    const { plan: p } = await planned(file);
    assert.deepEqual(p.errors.map((e) => [e.code, e.serial]), [["too-many-tokens", "T1"]]);
    assert.match(p.errors[0]!.message, /adele\.vance@contoso\.com already holds 5 methods.*1 inventory tokens.*4 other methods \(microsoftAuthenticatorAuthenticationMethod, microsoftAuthenticatorAuthenticationMethod, microsoftAuthenticatorAuthenticationMethod, softwareOathAuthenticationMethod\)/);
    assert.deepEqual(p.steps.map((s) => `${s.kind} ${s.serial}`).sort(), ["create T0", "create T2"], "the phone does not count; nothing was refused but T1");
  });

  it("reports an unknownFutureValue device, leaves it alone, converges every other token and exits 1", async () => {
    const { file } = workspace(3, (i) => (i === 2 ? "state: available" : `state: activated, upn: ${[ADELE, ALEX][i]}`));
    const odd = emulator.tenant.createDevice({ serialNumber: "T2", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    Object.assign(odd, { status: "unknownFutureValue", displayName: "kept" });
    const applied = await runCli(["apply", "--yes", "--file", file], clientEnv(emulator));
    assert.equal(applied.code, 1, applied.stdout + applied.stderr);
    assert.match(applied.stdout, /T2 \(id [^)]+\) with status "unknownFutureValue"/);
    assert.deepEqual(["T0", "T1"].map((s) => emulator.tenant.deviceBySerial(s)?.status), ["activated", "activated"]);
    assert.deepEqual([emulator.tenant.allDevices().length, odd.status, odd.displayName], [3, "unknownFutureValue", "kept"], "left alone, no second T2");
    const again = await runCli(["plan", "--file", file], clientEnv(emulator));
    assert.equal(again.code, 1, "still a problem to look at");
  });
});

describe("drift takes lastUsedDateTime from the user's method where the device has none", function () {
  this.timeout(60_000);
  let emulator: GraphEmulator;
  afterEach(() => emulator.stop());

  it("raises neverUsed only for the token nobody used", async () => {
    emulator = await startHttpsEmulator({ variant: "canonical" });
    const { file } = workspace(2, (i) => `state: activated, upn: ${[ADELE, ALEX][i]}`);
    assert.equal((await runCli(["apply", "--yes", "--file", file], clientEnv(emulator))).code, 0);
    emulator.tenant.recordSignIn(emulator.tenant.deviceBySerial("T0")!.id, "method only");
    assert.equal(emulator.tenant.deviceBySerial("T0")!.lastUsedDateTime, null, "the device's date stays null");
    const drift = await runCli(["drift", "--format", "json", "--file", file], clientEnv(emulator));
    const items: { category: string; serial: string }[] = JSON.parse(drift.stdout).items;
    assert.deepEqual(items.filter((i) => i.category === "neverUsed").map((i) => i.serial), ["T1"]);
  });
});
