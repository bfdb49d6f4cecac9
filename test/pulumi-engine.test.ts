import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { clientEnv, startHttpsEmulator, TENANT } from "./support/emulator.js";
import { FakeEngine, pwdMain, type OperationResult } from "./support/pulumi-engine.js";
import { copyProject, DEMO_SEED_PASSPHRASE, DEMO_SERIALS, OTHER_TENANT, PROJECT_ROOT } from "./support/pulumi-project.js";
import { publishableFingerprint, seedFingerprint } from "../provider/seeds/fingerprint.js";

// The stack as `pulumi` runs it: the project's own Pulumi.yaml, stacks/ and program, the SDK's
// launcher and dynamic-provider plugin, started where the engine starts them, against the emulator.

const PASSPHRASE = DEMO_SEED_PASSPHRASE;
const TYPE = "pulumi-nodejs:dynamic/entra-tokens:HardwareOathToken";
/** 80 bits: below RFC 4226's 128, so its fingerprint is not published. */
const WEAK_SEED = "JBSWY3DPEHPK3PXP";

function envFor(emulator: GraphEmulator): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"],
    ...clientEnv(emulator),
    // Program and plugins start in other folders: the CA path must not be relative.
    NODE_EXTRA_CA_CERTS: resolve(process.env["NODE_EXTRA_CA_CERTS"] ?? ""),
    ENTRA_TOKENS_SEED_PASSPHRASE: PASSPHRASE,
    PULUMI_CONFIG_PASSPHRASE: "state passphrase for tests",
  };
}

function engineIn(dir: string, emulator: GraphEmulator, cwd = dir, stack = "demo"): FakeEngine {
  return new FakeEngine({ cwd, stack, stateFile: join(dir, `state-${stack}.json`), env: envFor(emulator) });
}

const ops = (result: OperationResult, op: string) =>
  result.steps
    .filter((s) => s.op === op && s.urn.includes("HardwareOathToken"))
    .map((s) => s.name)
    .sort();

function assertOk(result: OperationResult): void {
  assert.deepEqual(result.errors, [], result.diagnostics.join("\n"));
}

/** tokens.yaml of the demo with some lines changed. */
function editTokens(dir: string, edit: (text: string) => string): void {
  const file = join(dir, "tokens.yaml");
  writeFileSync(file, edit(readFileSync(file, "utf8")));
}

/** What the provider did per serial, from its log lines ("entra-tokens: SERIAL: created, activated"). */
function actionsOf(result: OperationResult): Map<string, string[]> {
  const kinds = new Map<string, string[]>();
  for (const line of result.diagnostics) {
    const match = /^entra-tokens: ([^:\s]+): (.*)$/.exec(line);
    if (!match || match[1] === "warning") continue;
    const words = match[2]!.split(", ").flatMap((action): string[] => {
      if (action.startsWith("adopted")) return [];
      if (action.startsWith("created and assigned")) return ["create"];
      const kind = ["created:create", "deleted:delete", "unassigned:unassign", "updated:update", "assigned:assign", "activated:activate"].find((k) => action.startsWith(k.split(":")[0]!));
      return kind ? [kind.split(":")[1]!] : [`?${action}`];
    });
    // Adopted and left as it was: untouched in Entra, as the plan says.
    if (words.length > 0) kinds.set(match[1]!, words.sort());
  }
  return kinds;
}

/** What `entra-tokens plan` says it would do per serial. */
async function planned(dir: string, emulator: GraphEmulator): Promise<Map<string, string[]>> {
  const result = await runCli(["plan", "--file", join(dir, "tokens.yaml"), "--format", "json"], envFor(emulator));
  assert.ok(result.code === 0 || result.code === 2, result.stderr);
  const plan = JSON.parse(result.stdout) as { steps: { kind: string; serial: string }[] };
  const kinds = new Map<string, string[]>();
  for (const step of plan.steps) kinds.set(step.serial, [...(kinds.get(step.serial) ?? []), step.kind].sort());
  return kinds;
}

describe("Pulumi stack through an engine-faithful harness", function () {
  this.timeout(300_000);
  let emulator: GraphEmulator;

  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(async () => {
    await emulator.stop();
  });

  it("starts program and provider where the engine does: the project root, as Pulumi.yaml ships", () => {
    // No `main`: the engine's working directory is the project root (pkg/engine/project.go).
    assert.deepEqual(pwdMain(PROJECT_ROOT, undefined), { pwd: PROJECT_ROOT, main: "." });
    const engine = new FakeEngine({ cwd: join(PROJECT_ROOT, "stacks"), stack: "demo", stateFile: "/dev/null", env: {} });
    assert.equal(engine.project.root, PROJECT_ROOT);
    assert.equal(engine.pwd, PROJECT_ROOT);
  });

  it("previews, applies, edits, refreshes after out-of-band changes and destroys, run from a sub-folder", async () => {
    const dir = copyProject();
    // `pulumi` run from stacks/: it finds Pulumi.yaml above, as the CLI does.
    const engine = engineIn(dir, emulator, join(dir, "stacks"));

    const preview = await engine.preview();
    assertOk(preview);
    assert.deepEqual(ops(preview, "create"), [...DEMO_SERIALS].sort());
    assert.equal(emulator.tenant.allDevices().length, 0, "preview changes nothing");

    const up = await engine.up();
    assertOk(up);
    const bySerial = () => new Map(emulator.tenant.allDevices().map((d) => [d.serialNumber, d]));
    assert.deepEqual([...bySerial().keys()].sort(), [...DEMO_SERIALS].sort());
    assert.equal(bySerial().get("60234561")?.status, "activated");
    assert.equal(bySerial().get("60234563")?.status, "assigned");
    assert.equal(bySerial().get("FT-0001")?.timeIntervalInSeconds, 60);

    const again = await engine.preview({ expectNoChanges: true });
    assertOk(again);

    // An edit: a pool token goes to a user, an assigned token returns to the pool, and the
    // displayName of an activated token changes (Graph cannot: a warning, not a perpetual diff).
    editTokens(dir, (text) =>
      text
        .replace('  - serial: "60234565"\n    state: available', '  - serial: "60234565"\n    state: activated\n    upn: diego.siciliani@contoso.com')
        // Handed back by its holder (under policy.selfService: keep, a pool token someone holds is theirs otherwise).
        .replace('  - serial: "60234564"\n    state: assigned\n    upn: lee.gu@contoso.com', '  - serial: "60234564"\n    state: available\n    returnedBy: lee.gu@contoso.com')
        .replace("displayName: Adele's key fob", "displayName: Adele's new name"),
    );
    const edited = await engine.up();
    assertOk(edited);
    assert.deepEqual(ops(edited, "update"), ["60234564", "60234565"]);
    assert.ok(edited.diagnostics.some((l) => l.includes("60234561") && l.includes("displayName")), edited.diagnostics.join("\n"));
    assert.equal(bySerial().get("60234565")?.status, "activated");
    assert.equal(bySerial().get("60234564")?.status, "available");
    const settled = await engine.preview({ expectNoChanges: true });
    assertOk(settled);

    // Out of band: someone unassigns a token and deletes another in the portal.
    const fob = bySerial().get("60234562")!;
    emulator.tenant.unassign(fob.assignedToUserId!, fob.id);
    emulator.tenant.deleteDevice(bySerial().get("60234566")!.id);
    const drift = await engine.refresh({ previewOnly: true });
    assertOk(drift);
    assert.deepEqual(drift.steps.filter((s) => s.op !== "same").map((s) => `${s.name}:${s.op}`).sort(), ["60234562:refresh", "60234566:gone"]);
    const refreshed = await engine.up({ refresh: true });
    assertOk(refreshed);
    assert.deepEqual(ops(refreshed, "create"), ["60234566"]);
    assert.deepEqual(ops(refreshed, "update"), ["60234562"]);
    assert.equal(bySerial().get("60234562")?.status, "activated");
    assert.equal(bySerial().get("60234566")?.status, "available");

    // Destroy under policy.unmanaged: report releases the tokens: users keep their sign-in method.
    const destroyed = await engine.destroy();
    assertOk(destroyed);
    assert.deepEqual(ops(destroyed, "retain"), [...DEMO_SERIALS].sort());
    assert.equal(emulator.tenant.allDevices().length, 7);
    assert.deepEqual(engine.loadState().resources, []);
  });

  it("keeps a token removed from tokens.yaml in Entra unless policy.unmanaged is delete, and holds maxDeletes", async () => {
    const dir = copyProject();
    const engine = engineIn(dir, emulator);
    assertOk(await engine.up());
    editTokens(dir, (text) => text.replace('  - serial: "60234566"\n    state: available\n', ""));
    const released = await engine.up();
    assertOk(released);
    assert.deepEqual(ops(released, "retain"), ["60234566"]);
    assert.ok(emulator.tenant.allDevices().some((d) => d.serialNumber === "60234566"), "still in Entra");
    assert.ok(released.diagnostics.some((l) => l.includes("60234566") && l.includes("left in Entra")), released.diagnostics.join("\n"));

    // Under `delete`, removing three tokens with maxDeletes 2 is refused before anything changes.
    editTokens(dir, (text) => text.replace("unmanaged: report", "unmanaged: delete").replace("maxDeletes: 5", "maxDeletes: 2"));
    assertOk(await engine.up()); // the policy itself, recorded on every token
    editTokens(dir, (text) =>
      text.replace('  - serial: "60234565"\n    state: available\n', "").replace(/ {2}- serial: "60234563"\n {4}state: assigned\n {4}upn: megan.bowen@contoso.com\n/, "").replace(/ {2}- serial: "60234564"\n {4}state: assigned\n {4}upn: lee.gu@contoso.com\n/, ""),
    );
    const refused = await engine.up();
    assert.equal(refused.ok, false);
    assert.match(refused.errors.join("\n"), /would delete 3 token\(s\).*above policy\.maxDeletes \(2\).*allowDeletes/s);
    assert.equal(emulator.tenant.allDevices().length, 7, "nothing deleted");

    // Lifted only by explicit config, for a reviewed run.
    writeFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), `${readFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), "utf8")}  entra-tokens:allowDeletes: "true"\n`);
    const allowed = await engine.up();
    assertOk(allowed);
    assert.deepEqual(ops(allowed, "delete"), ["60234563", "60234564", "60234565"]);
    assert.deepEqual(emulator.tenant.allDevices().map((d) => d.serialNumber).sort(), ["60234561", "60234562", "60234566", "FT-0001"]);
  });

  it("adopts a serial that already exists, and says pulumi import cannot work", async () => {
    emulator.tenant.createDevice({ serialNumber: "60234565", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    const before = emulator.tenant.allDevices()[0]!.id;
    const dir = copyProject();
    const engine = engineIn(dir, emulator);
    const up = await engine.up();
    assertOk(up);
    assert.ok(up.diagnostics.some((l) => l.includes("60234565") && l.includes(`adopted the existing device ${before}`)), up.diagnostics.join("\n"));
    assert.equal(emulator.tenant.allDevices().filter((d) => d.serialNumber === "60234565").length, 1);
    assert.equal(engine.loadState().resources.find((r) => r.urn.endsWith("::60234565"))?.outputs["deviceId"], before);

    // `pulumi import` sends Read with no state: the dynamic provider has no code to run (pulumi/pulumi#3550).
    const imported = await engine.importResource(TYPE, "60234565", before);
    assert.equal(imported.ok, false);
  });

  it("refuses to take over an existing serial when adoption is switched off", async () => {
    emulator.tenant.createDevice({ serialNumber: "60234566", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    const dir = copyProject();
    writeFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), `${readFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), "utf8")}  entra-tokens:adoptExisting: "false"\n`);
    const up = await engineIn(dir, emulator).up();
    assert.equal(up.ok, false);
    assert.match(up.errors.join("\n"), /60234566 already exists in Entra.*adoption is off/);
    assert.doesNotMatch(up.errors.join("\n"), /\n\s+at /, up.errors.join("\n"));
  });

  it("refuses, as plan does, a token beyond Entra's shared five-method limit and a serial its user holds as a portal upload, before writing either", async () => {
    // Adele: four authenticator apps and a token tokens.yaml does not manage, so 60234561 would be her sixth method.
    for (let i = 0; i < 4; i++) emulator.tenant.addMethod("adele.vance@contoso.com", { kind: "microsoftAuthenticator" });
    emulator.tenant.createDevice({ serialNumber: "UNMANAGED-1", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30, assignTo: { id: emulator.tenant.user("adele.vance@contoso.com").id } }, true);
    // Alex: 60234562 uploaded through the admin portal (how-to-mfa-manage-oath-tokens.md): among his methods, in no inventory.
    const portal = emulator.tenant.addMethod("alex.wilber@contoso.com", { kind: "hardwareOath", serialNumber: "60234562", manufacturer: "Token2", model: "C202" });
    const dir = copyProject();
    const cli = await runCli(["plan", "--file", join(dir, "tokens.yaml"), "--format", "json"], envFor(emulator));
    assert.equal(cli.code, 1, cli.stderr);
    const refusedByPlan = (JSON.parse(cli.stdout) as { errors: { code: string; serial: string }[] }).errors.map((e) => `${e.code} ${e.serial}`).sort();
    assert.deepEqual(refusedByPlan, ["portal-token 60234562", "too-many-tokens 60234561"], "plan refuses both");

    const up = await engineIn(dir, emulator).up();
    assert.equal(up.ok, false);
    const errors = up.errors.join("\n");
    assert.match(errors, /60234561[\s\S]*adele\.vance@contoso\.com already holds 5 methods[\s\S]*4 other methods \(microsoftAuthenticatorAuthenticationMethod/);
    assert.match(errors, new RegExp(`alex\\.wilber@contoso\\.com holds a token with serial 60234562 uploaded through the admin portal \\(method id ${portal.id}\\)[\\s\\S]*entra-tokens migrate`));
    assert.doesNotMatch(errors, /\n\s+at /, errors);
    const serials = emulator.tenant.allDevices().map((d) => d.serialNumber);
    assert.ok(!serials.includes("60234561") && !serials.includes("60234562"), "neither is created");
    assert.ok(serials.includes("60234563"), "the other tokens converge");
    assert.deepEqual(emulator.tenant.otherMethodsOf("alex.wilber@contoso.com").map((m) => m.id), [portal.id], "the portal token is left as it was");
  });

  it("previews with no seed passphrase, as a pull request does, and still sees a changed seed", async () => {
    const dir = copyProject();
    assertOk(await engineIn(dir, emulator).up());
    const withoutSecret = { ...envFor(emulator) };
    delete withoutSecret["ENTRA_TOKENS_SEED_PASSPHRASE"];
    const preview = () => new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: withoutSecret }).preview();
    const clean = await preview();
    assertOk(clean);
    assert.deepEqual(ops(clean, "update"), []);

    // A new seed for one fob, written into the store as `seeds import` does (the passphrase is the admin's, not the preview's).
    const csv = join(dir, "upload.csv");
    assert.equal((await runCli(["seeds", "export", "-f", join(dir, "tokens.yaml"), "--out", csv], envFor(emulator))).code, 0);
    const newSeed = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U";
    writeFileSync(csv, readFileSync(csv, "utf8").replace(/^(.*,60234565,)[A-Z2-7]+,/m, `$1${newSeed},`));
    const imported = await runCli(["seeds", "import", csv, "--out", join(dir, "demo", "seeds.pskc"), "--force"], envFor(emulator));
    assert.equal(imported.code, 0, imported.stderr);
    const changed = await preview();
    assertOk(changed);
    assert.deepEqual(ops(changed, "update"), ["60234565"], "the fingerprint in clear tells the preview the seed changed");
    assert.ok(!changed.diagnostics.join("\n").includes(newSeed));

    assertOk(await engineIn(dir, emulator).up());
    assert.equal(emulator.tenant.allDevices().find((d) => d.serialNumber === "60234565")?.secretKey, newSeed);
  });

  it("works when Pulumi.yaml names the compiled program as `main` (the engine then starts everything in dist/stacks)", async () => {
    const dir = copyProject();
    writeFileSync(join(dir, "Pulumi.yaml"), `${readFileSync(join(dir, "Pulumi.yaml"), "utf8")}main: dist/stacks/index.js\n`);
    const engine = engineIn(dir, emulator, join(dir, "demo"));
    assert.equal(engine.pwd, join(dir, "dist", "stacks"));
    assertOk(await engine.up());
    assert.equal(emulator.tenant.allDevices().length, 7);
  });

  it("keeps every secret out of the state file and the log, and signs in once per provider process", async () => {
    const dir = copyProject();
    // One fob with a seed shorter than 128 bits, whose fingerprint could be searched.
    const csv = join(dir, "upload.csv");
    assert.equal((await runCli(["seeds", "export", "-f", join(dir, "tokens.yaml"), "--out", csv], envFor(emulator))).code, 0);
    writeFileSync(csv, readFileSync(csv, "utf8").replace(/^(.*,60234565,)[A-Z2-7]+,/m, `$1${WEAK_SEED},`));
    assert.equal((await runCli(["seeds", "import", csv, "--out", join(dir, "demo", "seeds.pskc"), "--force"], envFor(emulator))).code, 0);
    // The engine runs 16 calls at once, as PULUMI_PARALLEL says to it and to the provider: all 7 creates fit.
    const engine = new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: { ...envFor(emulator), PULUMI_PARALLEL: "16" } });
    const up = await engine.up();
    assertOk(up);
    const state = readFileSync(join(dir, "state-demo.json"), "utf8");
    const seeds = emulator.tenant.allDevices().map((d) => d.secretKey);
    for (const seed of seeds) {
      assert.ok(!state.includes(seed), "a seed is in the state in clear");
      assert.ok(!up.diagnostics.join("\n").includes(seed), "a seed reached the log");
    }
    // A 160-bit seed's fingerprint is in clear, as the seed store publishes it; a weak seed's is a secret.
    const resources = engine.loadState().resources;
    const strong = resources.find((r) => r.urn.endsWith("::60234561"))!;
    const strongSeed = emulator.tenant.deviceBySerial("60234561")!.secretKey;
    assert.equal(strong.outputs["seedFingerprint"], publishableFingerprint("60234561", strongSeed));
    assert.ok(state.includes(String(strong.outputs["seedFingerprint"])));
    assert.equal(strong.outputs["secretFingerprint"], undefined);
    const weak = resources.find((r) => r.urn.endsWith("::60234565"))!;
    assert.equal(emulator.tenant.deviceBySerial("60234565")!.secretKey, WEAK_SEED);
    assert.equal(weak.outputs["seedFingerprint"], undefined);
    assert.match(JSON.stringify(weak.outputs["secretFingerprint"]), /1b47061264138c4ac30d75fd1eb44270/, "a weak seed's fingerprint is a secret output");
    const weakFingerprint = String(Reflect.get(weak.outputs["secretFingerprint"] as object, "value"));
    assert.equal(weakFingerprint, seedFingerprint("60234565", WEAK_SEED));
    assert.ok(!state.includes(weakFingerprint));
    assert.ok(!state.includes(WEAK_SEED));
    // The program signs in once to check Graph before registering anything; the provider process once.
    assert.equal(emulator.requests.filter((r) => r.route === "token").length, 2, "one credential per process");
    assert.equal(emulator.requests.filter((r) => r.route === "bulkCreate").length, 1, "the engine's parallel creates went out as one bulk request");
    assert.ok(!up.diagnostics.some((line) => line.includes("bulk requests of at most")), "all 7 creates fit in one request: nothing to say");
  });

  it("says, when the engine's parallelism caps its bulk creates, how many requests that costs and how to lift it", async () => {
    const dir = copyProject();
    const engine = new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: { ...envFor(emulator), PULUMI_PARALLEL: "3" } });
    const up = await engine.up();
    assertOk(up);
    const said = up.diagnostics.filter((line) => line.includes("bulk requests of at most"));
    assert.equal(said.length, 1, up.diagnostics.join("\n"));
    assert.match(said[0]!, /7 token\(s\) to create go to Graph in bulk requests of at most 3 devices[\s\S]*: 3 requests instead of 1\. Run with PULUMI_PARALLEL=100/);
    // At most 3 creates at once: three bulk requests or more (a busy machine may split a gathering).
    assert.ok(emulator.requests.filter((r) => r.route === "bulkCreate").length >= 3);
  });

  it("agrees with `entra-tokens plan` on every token's outcome: adoption, edits, out-of-band changes", async () => {
    // A tenant with tokens already in it: one pool token to adopt, one someone took from the pool.
    emulator.tenant.createDevice({ serialNumber: "60234565", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    const dir = copyProject();
    const engine = engineIn(dir, emulator);
    const compare = async (run: () => Promise<OperationResult>) => {
      const predicted = await planned(dir, emulator);
      const result = await run();
      assertOk(result);
      assert.deepEqual(Object.fromEntries(actionsOf(result)), Object.fromEntries(predicted));
    };
    await compare(() => engine.up());
    editTokens(dir, (text) =>
      text
        .replace('  - serial: "60234566"\n    state: available', '  - serial: "60234566"\n    state: assigned\n    upn: lee.gu@contoso.com')
        .replace('upn: alex.wilber@contoso.com', "upn: diego.siciliani@contoso.com"),
    );
    await compare(() => engine.up({ refresh: true }));
    const devices = new Map(emulator.tenant.allDevices().map((d) => [d.serialNumber, d]));
    emulator.tenant.unassign(devices.get("60234563")!.assignedToUserId!, devices.get("60234563")!.id);
    emulator.tenant.deleteDevice(devices.get("60234565")!.id);
    await compare(() => engine.up({ refresh: true }));
    await compare(() => engine.up({ refresh: true })); // and nothing left to do on either side
  });
});

// State that earlier versions wrote, with the tenant it describes. Every later version must still
// read, refresh, update and delete it: its provider text calls the runtime's `v1` interface forever.
// - pulumi-state-v1: `pulumi up` of the demo stack with the first release.
// - pulumi-state-v1-seed-fingerprints: the same with the last version that stored the long provider
//   text, one of its tokens adopted (seed fingerprints among the inputs, `adopted` and `userId`
//   among the outputs).
// - pulumi-state-v1-closure-configure: the same with the last version whose text the SDK's closure
//   serializer wrote (a kind and one `configure`), one token adopted.
// - pulumi-state-v1-project-text: the same with the last version whose text this project wrote as a
//   kind and one `configure` (fingerprints as secret outputs), one token adopted.
for (const fixture of ["pulumi-state-v1", "pulumi-state-v1-seed-fingerprints", "pulumi-state-v1-closure-configure", "pulumi-state-v1-project-text"]) {
  describe(`Pulumi state of an earlier version (${fixture})`, function () {
    this.timeout(300_000);
    const FIXTURE = join(PROJECT_ROOT, "test", "fixtures", fixture);
    let emulator: GraphEmulator;

    before(async () => {
      emulator = await startHttpsEmulator({ snapshot: JSON.parse(readFileSync(join(FIXTURE, "tenant-snapshot.json"), "utf8")) });
    });
    after(async () => {
      await emulator.stop();
    });

    it("is read, refreshed, updated and deleted by this version", async () => {
      const dir = copyProject();
      writeFileSync(join(dir, "state-demo.json"), readFileSync(join(FIXTURE, "state.json")));
      const engine = engineIn(dir, emulator);
      const adoptedBefore = engine.loadState().resources.filter((r) => r.outputs["adopted"] === true).map((r) => r.id);
      const refreshed = await engine.refresh();
      assertOk(refreshed);
      assert.deepEqual(refreshed.steps.filter((s) => s.op !== "same"), []);
      assertOk(await engine.preview({ expectNoChanges: true }));

      editTokens(dir, (text) => text.replace(/ {2}- serial: "60234563"\n {4}state: assigned\n {4}upn: megan.bowen@contoso.com/, '  - serial: "60234563"\n    state: available\n    returnedBy: megan.bowen@contoso.com'));
      const updated = await engine.up();
      assertOk(updated);
      assert.deepEqual(ops(updated, "update"), ["60234563"]);
      assert.equal(emulator.tenant.deviceBySerial("60234563")?.status, "available");
      const state = engine.loadState().resources;
      assert.deepEqual(state.filter((r) => r.outputs["adopted"] === true).map((r) => r.id), adoptedBefore, "adoption is remembered");
      // The updated token now carries this version's text; the others keep theirs until they change.
      const texts = new Set(state.filter((r) => r.type === TYPE).map((r) => String(r.outputs["__provider"])));
      assert.equal(texts.size, 2);
      assert.ok(String(state.find((r) => r.id === "60234563")!.outputs["__provider"]).length < 400, "the updated token stores the short text");

      editTokens(dir, (text) => text.replace("unmanaged: report", "unmanaged: delete"));
      assertOk(await engine.up());
      writeFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), `${readFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), "utf8")}  entra-tokens:allowDeletes: "true"\n`);
      const destroyed = await engine.destroy();
      assertOk(destroyed);
      assert.deepEqual(ops(destroyed, "delete"), [...DEMO_SERIALS].sort());
      assert.equal(emulator.tenant.allDevices().length, 0);
    });

    it("still runs the provider text stored in it, which names no path of the machine that wrote it", () => {
      const state = readFileSync(join(FIXTURE, "state.json"), "utf8");
      assert.ok(state.includes("__provider"));
      assert.ok(!/\/(work|home|root|tmp)\//.test(state), "an absolute path in the stored provider text");
    });
  });
}

/** The per-kind counts of the plan the program prints at the top of a preview ("Plan: 2 to create, …"). */
function previewCounts(result: OperationResult): Record<string, number> {
  const text = result.diagnostics.find((line) => line.includes("entra-tokens plan of this preview"));
  assert.ok(text, `no plan in the preview:\n${result.diagnostics.join("\n")}`);
  const counts: Record<string, number> = { create: 0, assign: 0, activate: 0, update: 0, unassign: 0, delete: 0 };
  for (const [, n, kind] of text.matchAll(/(\d+) to (\w+)/g)) counts[kind!] = Number(n);
  return counts;
}

async function planCounts(dir: string, emulator: GraphEmulator): Promise<Record<string, number>> {
  const result = await runCli(["plan", "--file", join(dir, "tokens.yaml"), "--format", "json"], envFor(emulator));
  assert.ok(result.code === 0 || result.code === 2, result.stderr);
  const { summary } = JSON.parse(result.stdout) as { summary: Record<string, number> };
  return Object.fromEntries(["create", "assign", "activate", "update", "unassign", "delete"].map((k) => [k, summary[k] ?? -1]));
}

describe("Pulumi's Graph cost against the CLI's", function () {
  this.timeout(300_000);
  let emulator: GraphEmulator;
  before(async () => {
    emulator = await startHttpsEmulator();
  });
  after(async () => {
    await emulator.stop();
  });

  it("refreshes a stack with the user look-ups `entra-tokens plan` makes, though the engine reads its tokens a few at a time", async () => {
    // 40 tokens of 40 people, already assigned in Entra (the stack adopts them).
    const lines = ["version: 1", "defaults: { manufacturer: Token2, model: C202 }", "tokens:"];
    for (let i = 0; i < 40; i++) {
      const upn = `holder${i}@contoso.com`;
      const user = emulator.tenant.addUser({ userPrincipalName: upn });
      const device = emulator.tenant.createDevice({ serialNumber: `RF-${i}`, manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
      emulator.tenant.assign(user.id, { device: { id: device.id } });
      lines.push(`  - { serial: RF-${i}, state: assigned, upn: ${upn} }`);
    }
    const dir = copyProject();
    writeFileSync(join(dir, "tokens.yaml"), `${lines.join("\n")}\n`);
    // Four Reads at a time, as PULUMI_PARALLEL tells the engine and the provider.
    const engine = new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: { ...envFor(emulator), PULUMI_PARALLEL: "4" } });
    assertOk(await engine.up());
    const userLookups = () => emulator.requests.filter((r) => r.route === "listUsers" || r.route === "getUser").length;
    emulator.requests.length = 0;
    const refreshed = await engine.refresh();
    assertOk(refreshed);
    assert.deepEqual(refreshed.steps.filter((s) => s.op !== "same"), []);
    const byRefresh = userLookups();
    emulator.requests.length = 0;
    const plan = await runCli(["plan", "--file", join(dir, "tokens.yaml")], envFor(emulator));
    assert.equal(plan.code, 0, plan.stderr);
    assert.ok(byRefresh <= userLookups(), `refresh looked users up in ${byRefresh} requests, plan in ${userLookups()}`);
  });
});

describe("Pulumi in review: the preview's plan, a deletion guard that counts what Entra holds, fast failures", function () {
  this.timeout(300_000);
  let emulator: GraphEmulator;
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(async () => {
    await emulator.stop();
  });

  const retire = (text: string, serial: string) => text.replace(new RegExp(`( {2}- serial: "${serial}"\\n {4}state: )\\w+(\\n {4}upn: [^\\n]+)?`), "$1retired");

  it("prints at the top of the preview the per-kind counts `entra-tokens plan --format json` gives on the same files and tenant", async () => {
    // Something of every kind: one device to adopt, one to retire, a reassignment.
    emulator.tenant.createDevice({ serialNumber: "60234565", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    const dir = copyProject();
    const engine = engineIn(dir, emulator);
    const first = await engine.preview();
    assertOk(first);
    assert.deepEqual(previewCounts(first), await planCounts(dir, emulator));
    assert.ok(first.diagnostics.some((l) => l.includes("adopted by the stack, not created: 60234565")), first.diagnostics.join("\n"));
    assertOk(await engine.up());

    editTokens(dir, (text) => retire(text, "60234566").replace("upn: alex.wilber@contoso.com", "upn: diego.siciliani@contoso.com"));
    const second = await engine.preview();
    assertOk(second);
    const counts = previewCounts(second);
    assert.deepEqual(counts, await planCounts(dir, emulator));
    assert.equal(counts["delete"], 1, "the retired token deletes its device");
    assert.ok(second.diagnostics.some((l) => l.includes("1 token(s) will be deleted from Entra: 60234566")), second.diagnostics.join("\n"));

    const up = await engine.up();
    assertOk(up);
    const state = engine.loadState().resources;
    assert.equal(state.find((r) => r.urn.endsWith("::60234565"))?.outputs["adopted"], true, "the state records the adoption");
    assert.equal(state.find((r) => r.urn.endsWith("::60234561"))?.outputs["adopted"], undefined);
  });

  it("does not refuse a fresh stack over a tenant whose retired tokens are already gone", async () => {
    const dir = copyProject();
    editTokens(dir, (text) => retire(retire(text, "60234565"), "60234566").replace("maxDeletes: 5", "maxDeletes: 0"));
    const engine = engineIn(dir, emulator);
    const preview = await engine.preview();
    assertOk(preview);
    assert.equal(previewCounts(preview)["delete"], 0);
    assertOk(await engine.up());
    assert.equal(emulator.tenant.allDevices().length, 5);
  });

  it("after lost state, or on a new backend, counts only the devices Entra still holds, and still refuses more than maxDeletes", async () => {
    const dir = copyProject();
    assertOk(await engineIn(dir, emulator).up());
    // 60234565 was already deleted in the portal; 60234566 still exists and will really be deleted.
    emulator.tenant.deleteDevice(emulator.tenant.deviceBySerial("60234565")!.id);
    editTokens(dir, (text) => retire(retire(text, "60234565"), "60234566").replace("maxDeletes: 5", "maxDeletes: 0"));

    // Lost state: the stack's state file is gone; nothing remembers the previous inventory.
    rmSync(join(dir, "state-demo.json"));
    const refused = await engineIn(dir, emulator).up();
    assert.equal(refused.ok, false);
    assert.match(refused.errors.join("\n"), /would delete 1 token\(s\) from Entra \(60234566\), above policy\.maxDeletes \(0\)/);
    assert.ok(emulator.tenant.deviceBySerial("60234566"), "nothing deleted");

    // A new backend (another state file, another stack) within the budget: one real deletion, five adoptions.
    editTokens(dir, (text) => text.replace("maxDeletes: 0", "maxDeletes: 1"));
    const fresh = engineIn(dir, emulator, dir, "production");
    const up = await fresh.up();
    assertOk(up);
    assert.ok(up.diagnostics.some((l) => l.includes("5 token(s) already in Entra are adopted")), up.diagnostics.join("\n"));
    assert.equal(emulator.tenant.deviceBySerial("60234566"), undefined);
    assert.equal(emulator.tenant.allDevices().length, 5);
    assertOk(await fresh.preview({ expectNoChanges: true }));
  });

  it("runs `up` for two stacks of two tenants, each from its own tokens file, and refuses a stack the other tenant's credentials", async () => {
    const fabrikam = await startHttpsEmulator({ tenantId: OTHER_TENANT });
    try {
      const dir = copyProject();
      const tenants = { contoso: { id: TENANT, serials: ["60234561", "60234562"] }, fabrikam: { id: OTHER_TENANT, serials: ["60234563"] } };
      for (const [name, { id, serials }] of Object.entries(tenants)) {
        mkdirSync(join(dir, "tenants", name), { recursive: true });
        cpSync(join(dir, "demo", "seeds.pskc"), join(dir, "tenants", name, "seeds.pskc"));
        const tokens = serials.map((serial) => `  - { serial: "${serial}", state: available }`);
        writeFileSync(join(dir, "tenants", name, "tokens.yaml"), ["version: 1", `tenant: { id: ${id}, name: ${name} }`, "defaults: { manufacturer: Token2, model: C202 }", "seeds: [{ file: seeds.pskc, passphraseEnv: ENTRA_TOKENS_SEED_PASSPHRASE }]", "tokens:", ...tokens, ""].join("\n"));
        // stacks/Pulumi.<tenant>.yaml names its tokens file, as docs/many-tenants.md lays it out.
        writeFileSync(join(dir, "stacks", `Pulumi.${name}.yaml`), `config:\n  entra-tokens:tokensFile: tenants/${name}/tokens.yaml\n`);
      }
      const stackOf = (name: string, graph: GraphEmulator) => new FakeEngine({ cwd: dir, stack: name, stateFile: join(dir, `state-${name}.json`), env: { ...envFor(graph), ...(graph === fabrikam ? { AZURE_TENANT_ID: OTHER_TENANT } : {}) } });
      assertOk(await stackOf("contoso", emulator).up());
      assertOk(await stackOf("fabrikam", fabrikam).up());
      assert.deepEqual(emulator.tenant.allDevices().map((d) => d.serialNumber).sort(), ["60234561", "60234562"]);
      assert.deepEqual(fabrikam.tenant.allDevices().map((d) => d.serialNumber), ["60234563"]);
      // contoso's stack with fabrikam's credentials and Graph: refused before a resource is registered.
      rmSync(join(dir, "state-contoso.json"));
      const wrong = await stackOf("contoso", fabrikam).up();
      assert.equal(wrong.ok, false);
      assert.match(wrong.errors.join("\n"), /is for tenant contoso \(11111111-2222-4333-8444-555555555555\), but the credentials sign in to tenant 22222222-3333-4444-8555-666666666666; nothing was sent to Entra/);
      assert.deepEqual(wrong.steps.filter((s) => !s.urn.includes("::pulumi:pulumi:Stack::")), [], "no resource was registered");
      assert.deepEqual(fabrikam.tenant.allDevices().map((d) => d.serialNumber), ["60234563"]);
    } finally {
      await fabrikam.stop();
    }
  });

  it("fails before registering a resource when Graph cannot be reached, naming ENTRA_TOKENS_GRAPH_URL", async () => {
    const dir = copyProject();
    const closed = await startHttpsEmulator();
    const unreachable = closed.graphUrl;
    await closed.stop();
    for (const run of ["preview", "up"] as const) {
      const engine = new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: { ...envFor(emulator), ENTRA_TOKENS_GRAPH_URL: unreachable } });
      const result = await engine[run]();
      assert.equal(result.ok, false);
      assert.match(result.errors.join("\n"), /connection refused \(the URL comes from ENTRA_TOKENS_GRAPH_URL\)/);
      // One message, no stack: printing a stack through the SDK's launcher can cost a minute (program-errors.ts).
      assert.doesNotMatch(result.errors.join("\n"), /\n\s+at /, result.errors.join("\n"));
      assert.deepEqual(result.steps.filter((s) => !s.urn.includes("::pulumi:pulumi:Stack::")), [], "no resource was registered");
    }
  });
});
