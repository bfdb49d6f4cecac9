import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { applyPlan } from "../provider/apply/apply.js";
import { loadDesired } from "../provider/desired/load.js";
import { GraphClient } from "../provider/graph/client.js";
import { credentialFromEnv } from "../provider/graph/credentials.js";
import { PermissionError, UnsupportedDeviceError } from "../provider/graph/errors.js";
import { readLive } from "../provider/graph/live.js";
import { TokenRepository } from "../provider/graph/repository.js";
import type { Desired } from "../provider/model/index.js";
import { plan } from "../provider/plan/plan.js";
import { readSeedFiles } from "../provider/seeds/read.js";
import type { GraphEmulator } from "../emulator/server.js";
import { VARIANT_SETTINGS, type VariantSetting } from "../emulator/variants.js";
import { CLI, runCli } from "./support/cli.js";
import { ADMIN_APP, clientEnv, READER_APP, startHttpsEmulator } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

const USERS = ["adele.vance", "alex.wilber", "megan.bowen", "lee.gu", "nestor.wilke", "diego.siciliani"].map((u) => `${u}@contoso.com`);
const mixed = (i: number) => (i % 3 === 0 ? "state: available" : `state: ${i % 3 === 1 ? "activated" : "assigned"}, upn: ${USERS[i % USERS.length]}`);

function repositoryFor(emulator: GraphEmulator, app = ADMIN_APP, retry = { baseDelayMs: 50 }): TokenRepository {
  const { credential } = credentialFromEnv(clientEnv(emulator, app));
  return new TokenRepository(new GraphClient({ credential, graphUrl: emulator.graphUrl, retry }));
}

async function loaded(file: string): Promise<Desired> {
  const result = await loadDesired(file);
  assert.ok(result.ok, JSON.stringify(result));
  return result.desired;
}

async function converge(emulator: GraphEmulator, file: string, repository = repositoryFor(emulator)) {
  const desired = await loaded(file);
  const seeds = await readSeedFiles(desired.seedFiles);
  const p = plan(desired, await readLive(repository, desired), { seeds: seeds.serials() });
  assert.deepEqual(p.errors, []);
  return { plan: p, report: await applyPlan(p, repository, { seeds }) };
}

async function planOf(emulator: GraphEmulator, file: string) {
  const desired = await loaded(file);
  const seeds = await readSeedFiles(desired.seedFiles);
  return plan(desired, await readLive(repositoryFor(emulator), desired), { seeds: seeds.serials() });
}

// The integration suites run against every documented response shape: each alone, and the seeded
// mix the other suites get by default (emulator/variants.ts).
for (const variant of VARIANT_SETTINGS) {
  describe(`reconciler against the emulator, response variant ${variant}`, function () {
    // The full storm's Retry-After waits are real seconds, and plan now also reads the methods of each
    // user who gets a token (the shared five-method limit, docs/entra-rules.md): about 180 s on a busy
    // machine. A limit, not a measure: the assertions below decide.
    this.timeout(360_000);
    let emulator: GraphEmulator;
    beforeEach(async () => {
      emulator = await startHttpsEmulator({ variant });
    });
    afterEach(() => emulator.stop());

    it("converges an empty tenant, and a second run is a no-op", async () => {
      const { file } = workspace(18, mixed);
      const { report } = await converge(emulator, file);
      assert.equal(report.failed, 0);
      const devices = emulator.tenant.allDevices();
      assert.equal(devices.length, 18);
      assert.deepEqual(
        devices.map((d) => d.status),
        Array.from({ length: 18 }, (_, i) => (i % 3 === 0 ? "available" : i % 3 === 1 ? "activated" : "assigned")),
      );
      const again = await planOf(emulator, file);
      assert.deepEqual(again.steps, []);
      // Creates go in bulk and activations in $batch: far fewer requests than operations.
      const counters = emulator.counters();
      assert.equal((counters["PATCH bulkCreate 201"] ?? 0) + (counters["PATCH bulkCreate 200"] ?? 0), 1);
      assert.ok((counters["POST activate 204"] ?? 0) === 6);
    });

    it("repairs a messy tenant: wrong assignees, failed activations, unmanaged tokens", async () => {
      const { file, secrets } = workspace(6, (i) => `state: activated, upn: ${USERS[i]}`);
      const t = emulator.tenant;
      const body = (i: number) => ({ serialNumber: `T${i}`, manufacturer: "Token2", model: "C202", secretKey: secrets[i]!, timeIntervalInSeconds: 30 });
      t.createDevice({ ...body(0), assignTo: { id: USERS[3] } }, true); // wrong assignee
      t.createDevice({ ...body(1), assignTo: { id: USERS[1] } }, true);
      assert.throws(() => t.activate(USERS[1]!, t.deviceBySerial("T1")!.id, { verificationCode: "000000" })); // failedActivation
      t.createDevice(body(2), false); // in the pool instead of assigned
      t.createDevice({ serialNumber: "STRAY", manufacturer: "X", model: "Y", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
      const { plan: p, report } = await converge(emulator, file);
      assert.deepEqual(p.unmanaged.map((u) => u.serial), ["STRAY"]);
      assert.equal(report.failed, 0, JSON.stringify(report.outcomes));
      for (let i = 0; i < 6; i++) {
        const d = t.deviceBySerial(`T${i}`)!;
        assert.equal(d.status, "activated", `T${i}`);
        assert.equal(d.assignedToUserId, t.user(USERS[i]!).id);
      }
      assert.ok(t.deviceBySerial("STRAY"), "unmanaged tokens are reported, not deleted, under policy report");
      assert.deepEqual((await planOf(emulator, file)).steps, []);
    });

    it("survives a throttling storm, 5xx and dropped connections", async () => {
      // The mix gets the full storm; each variant alone a shorter one (Retry-After waits are real seconds).
      const tokens = stormSize(variant);
      const { file } = workspace(tokens, (i) => (i % 3 === 0 ? "state: available" : `state: activated, upn: user${i}@contoso.com`));
      for (let i = 0; i < tokens; i++) emulator.tenant.addUser({ userPrincipalName: `user${i}@contoso.com` });
      emulator.setFaults({ seed: 7, throttle: { capacity: 4, refillPerSecond: 8 }, errorRate: 0.1, dropRate: 0.05, routes: { token: {} } });
      const { report } = await converge(emulator, file);
      assert.equal(report.failed, 0, JSON.stringify(report.outcomes.filter((o) => o.status !== "succeeded")));
      emulator.setFaults({});
      assert.deepEqual((await planOf(emulator, file)).steps, []);
      const statuses = emulator.requests.map((r) => r.status);
      assert.ok((statuses.includes(429) || statuses.includes(503)) && statuses.includes(0), "the storm really happened");
      assert.equal(emulator.tenant.allDevices().length, tokens, "no duplicates");
    });

    it("a run killed mid-way is finished by the next, with no duplicates", async () => {
      const { file } = workspace(60, (i) => `state: activated, upn: user${i}@contoso.com`);
      for (let i = 0; i < 60; i++) emulator.tenant.addUser({ userPrincipalName: `user${i}@contoso.com` });
      emulator.setFaults({ routes: { activate: { latencyMs: 400 } } });
      const child = spawn(process.execPath, [CLI, "apply", "--yes", "--file", file, "--concurrency", "1"], { env: { PATH: process.env["PATH"], ...clientEnv(emulator) }, stdio: "ignore" });
      const exited = new Promise((resolve) => child.on("exit", resolve));
      while (!emulator.requests.some((r) => r.route === "activate" && r.status === 204)) await new Promise((r) => setTimeout(r, 20));
      child.kill("SIGKILL");
      await exited;
      const activatedBefore = emulator.tenant.allDevices().filter((d) => d.status === "activated").length;
      assert.ok(activatedBefore > 0 && activatedBefore < 60, `killed mid-way (${activatedBefore} activated)`);
      emulator.setFaults({});
      const again = await runCli(["apply", "--yes", "--file", file], clientEnv(emulator));
      assert.equal(again.code, 0, again.stdout + again.stderr);
      const devices = emulator.tenant.allDevices();
      assert.equal(devices.length, 60);
      assert.ok(devices.every((d) => d.status === "activated"));
      assert.equal((await runCli(["plan", "--file", file], clientEnv(emulator))).code, 0);
    });

  });
}

function stormSize(variant: VariantSetting): number {
  return variant === "mix" ? 45 : 9;
}

describe("reconciler against the emulator (HTTPS, real credentials flow)", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(() => emulator.stop());

  it("names the missing permission and how to grant it", async () => {
    const { file } = workspace(2, mixed);
    const desired = await loaded(file);
    const repository = repositoryFor(emulator, READER_APP);
    const seeds = await readSeedFiles(desired.seedFiles);
    const p = plan(desired, await readLive(repository, desired), { seeds: seeds.serials() });
    const report = await applyPlan(p, repository, { seeds });
    const failure = report.outcomes.find((o) => o.status === "failed");
    assert.match(failure?.message ?? "", /Policy\.ReadWrite\.AuthenticationMethod.*Grant admin consent/);
    const direct = await repository.createDevices([{ serial: "P", secretKey: "JBSWY3DPEHPK3PXP", manufacturer: "a", model: "b", timeIntervalInSeconds: 30, hashFunction: "hmacsha1" }]);
    assert.ok(!direct[0]!.ok && direct[0]!.error instanceof PermissionError);
  });

  it("CLI: plan exits 2 then 0, apply refuses in CI without --yes, drift reports, and no secret is printed", async () => {
    const { file, secrets } = workspace(9, mixed);
    const env = clientEnv(emulator);
    const outputs: string[] = [];
    const run = async (...args: string[]) => {
      const r = await runCli([...args, "--file", file], { ...env, CI: "true" });
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    assert.equal((await run("plan")).code, 2);
    const refused = await run("apply");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--yes/);
    assert.equal(emulator.tenant.allDevices().length, 0, "nothing applied without --yes");
    const applied = await run("apply", "--yes");
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /Applied: 12 done by this run, 0 already so, 0 failed, 0 skipped/);
    assert.equal((await run("plan")).code, 0);
    const json = await run("plan", "--format", "json");
    assert.equal(JSON.parse(json.stdout).changes, false);
    // A self-service grab of a pool token and a deleted user:
    emulator.tenant.assign("lee.gu@contoso.com", { device: { id: emulator.tenant.deviceBySerial("T3")!.id } });
    emulator.tenant.deleteUser("alex.wilber@contoso.com");
    const drift = await run("drift", "--format", "markdown");
    assert.equal(drift.code, 2);
    // policy.selfService defaults to keep: the claim is reported as a notice, not as drift to undo.
    assert.match(drift.stdout, /\| Claimed by self-service \(kept\) \| 1 \|/);
    assert.match(drift.stdout, /\| Orphaned \(user deleted or disabled\) \| 2 \|/);
    const planAfter = await run("plan");
    assert.equal(planAfter.code, 1, "a deleted user is an error to fix in tokens.yaml");
    const everything = outputs.join("\n") + JSON.stringify(emulator.requests);
    for (const secret of [...secrets, ADMIN_APP.clientSecret]) assert.ok(!everything.includes(secret), "a secret reached the output");
    assert.doesNotMatch(everything, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, "no bearer token in the output");
  });

  it("two applies at once: each change is claimed by one run, the other reports it as already so", async () => {
    const { file } = workspace(30, (i) => (i % 3 === 0 ? "state: available" : `state: assigned, upn: user${i}@contoso.com`));
    for (let i = 0; i < 30; i++) emulator.tenant.addUser({ userPrincipalName: `user${i}@contoso.com` });
    const desired = await loaded(file);
    const seeds = await readSeedFiles(desired.seedFiles);
    const [a, b] = [repositoryFor(emulator), repositoryFor(emulator)];
    // Both plan against the same empty tenant, then apply together.
    const plans = await Promise.all([a, b].map(async (repository) => plan(desired, await readLive(repository, desired), { seeds: seeds.serials() })));
    const reports = await Promise.all([applyPlan(plans[0]!, a, { seeds }), applyPlan(plans[1]!, b, { seeds })]);
    for (const report of reports) assert.deepEqual([report.succeeded, report.failed, report.skipped], [30, 0, 0], JSON.stringify(report.outcomes.filter((o) => o.status !== "succeeded")));
    const doneByRun = reports.map((r) => r.succeeded - r.alreadySo);
    assert.equal(doneByRun[0]! + doneByRun[1]!, 30, `done by each run: ${doneByRun.join(" + ")}`);
    assert.equal(emulator.tenant.allDevices().length, 30, "no duplicates");
  });

  it("refuses deletions over the policy limit unless --allow-deletes", async () => {
    const { file } = workspace(1, () => "state: available");
    writeFileSync(file, readFileSync(file, "utf8").replace("unmanaged: report", "unmanaged: delete"));
    for (const serial of ["X1", "X2", "X3"]) emulator.tenant.createDevice({ serialNumber: serial, manufacturer: "a", model: "b", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    const guarded = await runCli(["apply", "--yes", "--file", file], clientEnv(emulator));
    assert.equal(guarded.code, 1);
    assert.match(guarded.stdout, /Deletion guard: this plan deletes 3 tokens, more than policy.maxDeletes \(2\)/);
    assert.equal(emulator.tenant.allDevices().length, 3, "nothing deleted, nothing created");
    const allowed = await runCli(["apply", "--yes", "--allow-deletes", "--file", file], clientEnv(emulator));
    assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
    assert.deepEqual(emulator.tenant.allDevices().map((d) => d.serialNumber), ["T0"]);
  });

  it("reports missing credentials and bad input clearly, without touching the tenant", async () => {
    const { file } = workspace(1, () => "state: available");
    const noCreds = await runCli(["plan", "--file", file], { ENTRA_TOKENS_GRAPH_URL: emulator.graphUrl });
    assert.equal(noCreds.code, 1);
    assert.match(noCreds.stderr, /No Entra credentials found\. Set AZURE_TENANT_ID/);
    const wrongSecret = await runCli(["plan", "--file", file], { ...clientEnv(emulator), AZURE_CLIENT_SECRET: "wrong" });
    assert.equal(wrongSecret.code, 1);
    assert.match(wrongSecret.stderr, /AADSTS7000215/);
    assert.doesNotMatch(wrongSecret.stderr, /\n\s+at /, "no stack trace");
    writeFileSync(file, "version: 1\ntokens:\n  - serial: 1\n");
    const invalid = await runCli(["apply", "--yes", "--file", file], clientEnv(emulator));
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /nothing was sent to Entra/);
    assert.equal(emulator.requests.filter((r) => r.route !== "identity" && r.route !== "token" && r.method !== "GET").length, 0);
  });
});

// No Microsoft page confirms the error codes of these endpoints: under "generic-errors" the emulator
// answers each of them as BadRequest, and apply must still decide from the device it reads back.
describe("reconciler decisions that do not depend on unconfirmed error codes", function () {
  this.timeout(60_000);
  let emulator: GraphEmulator;
  afterEach(() => emulator.stop());

  async function planned(file: string) {
    const desired = await loaded(file);
    const seeds = await readSeedFiles(desired.seedFiles);
    const repository = repositoryFor(emulator);
    return { repository, seeds, plan: plan(desired, await readLive(repository, desired), { seeds: seeds.serials() }) };
  }

  it("adopts tokens that appeared since the plan, from the docs' bulk answer without @contentId", async () => {
    emulator = await startHttpsEmulator({ variant: { bulkCreate: "documented", errorCodes: "generic" } });
    const { file, secrets } = workspace(4, (i) => `state: activated, upn: ${USERS[i]}`);
    const { repository, seeds, plan: p } = await planned(file);
    // Another run (or an answer lost on the wire) created two of them meanwhile.
    const t = emulator.tenant;
    t.createDevice({ serialNumber: "T1", manufacturer: "Token2", model: "C202", secretKey: secrets[1]!, timeIntervalInSeconds: 30, assignTo: { id: USERS[1] } }, true);
    t.createDevice({ serialNumber: "T2", manufacturer: "Token2", model: "C202", secretKey: secrets[2]!, timeIntervalInSeconds: 30 }, false);
    const report = await applyPlan(p, repository, { seeds });
    assert.equal(report.failed, 0, JSON.stringify(report.outcomes));
    assert.equal(t.allDevices().length, 4, "no duplicates");
    for (let i = 0; i < 4; i++) assert.deepEqual([t.deviceBySerial(`T${i}`)?.status, t.deviceBySerial(`T${i}`)?.assignedToUserId], ["activated", t.user(USERS[i]!).id], `T${i}`);
  });

  it("names who holds a token it could not assign", async () => {
    emulator = await startHttpsEmulator({ variant: "generic-errors" });
    const { file, secrets } = workspace(1, () => `state: assigned, upn: ${USERS[0]}`);
    emulator.tenant.createDevice({ serialNumber: "T0", manufacturer: "Token2", model: "C202", secretKey: secrets[0]!, timeIntervalInSeconds: 30 }, false);
    const { repository, seeds, plan: p } = await planned(file);
    assert.deepEqual(p.steps.map((s) => s.kind), ["assign"]);
    emulator.tenant.assign("lee.gu@contoso.com", { device: { id: emulator.tenant.deviceBySerial("T0")!.id } }); // self-service, meanwhile
    const report = await applyPlan(p, repository, { seeds });
    assert.equal(report.failed, 1);
    assert.match(report.outcomes[0]?.message ?? "", /BadRequest.*held by Lee Gu \(user id a1d2e3f4-0004-4000-8000-000000000004\)/);
  });

  it("retries a failed activation once with the next step's code (clock skew)", async () => {
    emulator = await startHttpsEmulator({ variant: "generic-errors" });
    const { file } = workspace(2, (i) => `state: activated, upn: ${USERS[i]}`);
    const { repository, seeds, plan: p } = await planned(file);
    // Two steps behind: the first code is refused (the emulator accepts ±1 step), the next one is not.
    const report = await applyPlan(p, repository, { seeds, now: () => Date.now() - 60_000 });
    assert.equal(report.failed, 0, JSON.stringify(report.outcomes));
    assert.ok(emulator.tenant.allDevices().every((d) => d.status === "activated"));
    assert.equal(emulator.counters()["POST activate 400"], 2, "each token was refused once");
  });

  it("reports an error code of a request sent outside $batch", async () => {
    emulator = await startHttpsEmulator({ variant: "canonical" });
    const { credential } = credentialFromEnv(clientEnv(emulator));
    const direct = new TokenRepository(new GraphClient({ credential, graphUrl: emulator.graphUrl }), { batching: false });
    const token = { serial: "D1", secretKey: "JBSWY3DPEHPK3PXP", manufacturer: "a", model: "b", timeIntervalInSeconds: 30 as const, hashFunction: "hmacsha1" as const };
    assert.ok((await direct.createDevices([token]))[0]!.ok);
    const [again] = await direct.createDevices([token]);
    assert.ok(again && !again.ok);
    assert.equal(again.error.code, "serialNumberAlreadyExists");
    assert.match(again.error.message, /HTTP 409 serialNumberAlreadyExists: A hardware OATH token with serial number 'D1' already exists/);
  });

  it("shows the code of a refused bulk create (a request outside $batch) in apply's report", async () => {
    emulator = await startHttpsEmulator({ variant: "canonical", maxBulkItems: 2 });
    const { file } = workspace(3, () => "state: available");
    const applied = await runCli(["apply", "--yes", "--file", file], clientEnv(emulator));
    assert.equal(applied.code, 1);
    assert.match(applied.stdout + applied.stderr, /HTTP 400 BadRequest: A request may create at most 2 devices; this one has 3/);
    assert.equal(emulator.tenant.allDevices().length, 0);
  });

  it("refuses a token whose step or hash it does not know, naming it, instead of reading it as another", async () => {
    emulator = await startHttpsEmulator({ variant: "canonical" });
    const odd = emulator.tenant.createDevice({ serialNumber: "ODD", manufacturer: "a", model: "b", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    const repository = repositoryFor(emulator);
    Object.assign(odd, { timeIntervalInSeconds: 45 });
    await assert.rejects(repository.listDevices(), (e: unknown) => e instanceof UnsupportedDeviceError && /token ODD .*timeIntervalInSeconds 45.*Fix:/.test(e.message));
    Object.assign(odd, { timeIntervalInSeconds: 30, hashFunction: "hmacsha512" });
    await assert.rejects(repository.getDevice(odd.id), (e: unknown) => e instanceof UnsupportedDeviceError && /hashFunction "hmacsha512"/.test(e.message));
  });
});
