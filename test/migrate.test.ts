import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { call, clientEnv, READER_APP, startHttpsEmulator, tokenFor, ADMIN_APP } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

// `entra-tokens migrate`: a portal-uploaded token (entra-docs how-to-mfa-manage-oath-tokens.md, "User has two
// tokens with the same serial number") is removed as the docs say and created in the inventory.

const ADELE = "adele.vance@contoso.com";
const ALEX = "alex.wilber@contoso.com";

describe("migrate: portal-uploaded tokens into the inventory", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  beforeEach(async () => (emulator = await startHttpsEmulator({ variant: "canonical" })));
  afterEach(() => emulator.stop());

  const writes = () => emulator.requests.filter((r) => r.method !== "GET" && !["token", "identity", "batch", "checkMemberGroups"].includes(r.route));

  it("shows the docs' two DELETEs and the steps that follow, changes nothing without --yes, and migrates with it", async () => {
    const { file } = workspace(2, (i) => `state: activated, upn: ${i === 0 ? ADELE : ALEX}`);
    const portal = emulator.tenant.addMethod(ADELE, { kind: "hardwareOath", serialNumber: "T0", manufacturer: "Token2", model: "C202" });
    const adele = emulator.tenant.user(ADELE);
    const env = clientEnv(emulator);

    const planned = await runCli(["plan", "--file", file], env);
    assert.equal(planned.code, 1);
    assert.match(planned.stdout + planned.stderr, /entra-tokens migrate/);

    const preview = await runCli(["migrate", "--file", file], env);
    assert.equal(preview.code, 2, preview.stderr);
    assert.match(preview.stdout, new RegExp(`remove portal token T0 of ${ADELE}: DELETE /users/${adele.id}/authentication/hardwareOathMethods/${portal.id}, then DELETE /directory/authenticationMethodDevices/hardwareOathDevices/${portal.id}`));
    assert.match(preview.stdout, /T0/);
    assert.doesNotMatch(preview.stdout, /T1/, "nothing else of tokens.yaml is part of the migration");
    assert.deepEqual(writes(), []);
    assert.equal(emulator.tenant.allDevices().length, 0);

    const migrated = await runCli(["migrate", "--yes", "--file", file], env);
    assert.equal(migrated.code, 0, migrated.stderr + migrated.stdout);
    assert.match(migrated.stdout, /removed portal token T0/);
    const admin = await tokenFor(emulator, ADMIN_APP);
    const methods = (await call(emulator, admin, "GET", `/users/${adele.id}/authentication/hardwareOathMethods`)).body.value as { id: string; device: { serialNumber: string; status: string } }[];
    assert.deepEqual(methods.map((m) => [m.device.serialNumber, m.device.status]), [["T0", "activated"]], "one T0 only: the inventory's, activated");
    assert.notEqual(methods[0]!.id, portal.id);
    assert.deepEqual(emulator.tenant.allDevices().map((d) => d.serialNumber), ["T0"], "T1 is left to apply");
    // Both removals are in the audit log (entra-docs reference-audit-activities.md, "Authentication Methods").
    const removals = emulator.audit.all().filter((e) => e.targetResources.some((t) => t.id === portal.id));
    assert.deepEqual(removals.map((e) => e.activityDisplayName), ["Admin deleted security info", "Delete Hardware Oath Token"]);
    assert.ok(removals[0]!.targetResources.some((t) => t.type === "User" && t.id === adele.id));

    assert.equal((await runCli(["migrate", "--file", file], env)).code, 0);
    assert.equal((await runCli(["plan", "--file", file], env)).code, 2, "plan goes on with the rest");
  });

  it("previews from the seed files' clear facts, as plan does: a missing seed is an error before --yes, and nothing changes", async () => {
    const { file } = workspace(2, (i) => `state: activated, upn: ${i === 0 ? ADELE : ALEX}`);
    const seeds = join(dirname(file), "seeds.csv");
    writeFileSync(seeds, readFileSync(seeds, "utf8").split("\n").filter((line) => !line.includes(",T0,")).join("\n"));
    emulator.tenant.addMethod(ADELE, { kind: "hardwareOath", serialNumber: "T0", manufacturer: "Token2", model: "C202" });
    const preview = await runCli(["migrate", "--file", file], clientEnv(emulator));
    assert.equal(preview.code, 1, preview.stdout + preview.stderr);
    assert.match(preview.stdout + preview.stderr, /no seed for serial T0, needed to/);
    assert.match(preview.stderr, /Nothing was changed: fix the errors above first/);
    assert.deepEqual(writes(), []);
    assert.equal(emulator.tenant.otherMethodsOf(ADELE).length, 1, "the portal token is still there");
  });

  it("import reports the portal tokens of the tokens' holders and does not write them (their seed is in the uploaded CSV)", async () => {
    const adele = emulator.tenant.user(ADELE);
    emulator.tenant.createDevice({ serialNumber: "INV1", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30, assignTo: { id: adele.id } }, true);
    const portal = emulator.tenant.addMethod(ADELE, { kind: "hardwareOath", serialNumber: "P1", manufacturer: "Token2", model: "C202" });
    const file = join(mkdtempSync(join(tmpdir(), "entra-import-")), "tokens.yaml");
    const imported = await runCli(["import", "--dry-run", "--file", file], clientEnv(emulator));
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, new RegExp(`P1: a token of ${ADELE} uploaded through the admin portal \\(method id ${portal.id}\\), in no inventory: not written.*entra-tokens migrate`));
    assert.match(imported.stdout, /\+ .*INV1/);
    assert.doesNotMatch(imported.stdout, /\+ .*P1/);
  });

  it("with a read-only app, refuses before removing anything", async () => {
    const { file } = workspace(1, () => `state: activated, upn: ${ADELE}`);
    emulator.tenant.addMethod(ADELE, { kind: "hardwareOath", serialNumber: "T0", manufacturer: "Token2", model: "C202" });
    const refused = await runCli(["migrate", "--yes", "--file", file], clientEnv(emulator, READER_APP));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /lacks what migrate needs.*Policy\.ReadWrite\.AuthenticationMethod/);
    assert.deepEqual(writes(), []);
    assert.equal(emulator.tenant.otherMethodsOf(ADELE).filter((m) => m.kind === "hardwareOath").length, 1);
  });
});
