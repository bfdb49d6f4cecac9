import assert from "node:assert/strict";
import { applyPlan } from "../provider/apply/apply.js";
import { loadDesired } from "../provider/desired/load.js";
import { GraphClient } from "../provider/graph/client.js";
import { credentialFromEnv } from "../provider/graph/credentials.js";
import { readLive } from "../provider/graph/live.js";
import { TokenRepository } from "../provider/graph/repository.js";
import { plan } from "../provider/plan/plan.js";
import { readSeedFiles } from "../provider/seeds/read.js";
import type { GraphEmulator } from "../emulator/server.js";
import { clientEnv, startHttpsEmulator } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

// apply's independent steps of different kinds share $batch envelopes (issue 25), counted by the
// emulator, which refuses more than 20 requests per envelope and updates of assigned tokens as Graph does.

const upn = (i: number) => `holder${i}@contoso.com`;

/** Plans and applies `file`; returns the report and the $batch envelopes and inner requests the apply sent. */
async function applyCounting(emulator: GraphEmulator, file: string) {
  const loaded = await loadDesired(file);
  assert.ok(loaded.ok, JSON.stringify(loaded));
  const { credential } = credentialFromEnv(clientEnv(emulator));
  const repository = new TokenRepository(new GraphClient({ credential, graphUrl: emulator.graphUrl }), { concurrency: 8 });
  const seeds = await readSeedFiles(loaded.desired.seedFiles);
  const p = plan(loaded.desired, await readLive(repository, loaded.desired), { seeds: seeds.serials() });
  assert.deepEqual(p.errors, []);
  const before = emulator.requests.length;
  const report = await applyPlan(p, repository, { seeds });
  const sent = emulator.requests.slice(before);
  return {
    plan: p,
    report,
    envelopes: sent.filter((r) => r.route === "batch" && !r.batched).length,
    inner: sent.filter((r) => r.batched).map((r) => `${r.method} ${r.route}`),
  };
}

describe("apply packs independent steps of different kinds into shared $batch envelopes", function () {
  let emulator: GraphEmulator;
  let secrets: string[];
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(() => emulator.stop());

  /** T{i} in the tenant: held by holder{i} (assigned) when `held`, else in the pool. */
  const seedTenant = (count: number, held: (i: number) => boolean) => {
    for (let i = 0; i < count; i++) {
      emulator.tenant.addUser({ userPrincipalName: upn(i) });
      const body = { serialNumber: `T${i}`, manufacturer: "Token2", model: "C202", secretKey: secrets[i]!, timeIntervalInSeconds: 30 };
      emulator.tenant.createDevice(held(i) ? { ...body, assignTo: { id: upn(i) } } : body, true);
    }
  };

  it("sends 8 unassignments, 6 renames and 6 activations as one envelope of 20", async () => {
    // 0–7 given back by their holders, 8–13 renamed pool tokens, 14–19 held and to be activated.
    const desired = (i: number) => (i < 8 ? `state: available, returnedBy: ${upn(i)}` : i < 14 ? `state: available, displayName: "spare ${i}"` : `state: activated, upn: ${upn(i)}`);
    const made = workspace(20, desired);
    secrets = made.secrets;
    seedTenant(20, (i) => i < 8 || i >= 14);
    const { plan: p, report, envelopes, inner } = await applyCounting(emulator, made.file);
    assert.deepEqual(
      ["unassign", "update", "activate"].map((kind) => p.steps.filter((s) => s.kind === kind).length),
      [8, 6, 6],
    );
    assert.equal(report.failed + report.skipped, 0, JSON.stringify(report.outcomes.filter((o) => o.status !== "succeeded")));
    assert.equal(inner.length, 20);
    assert.equal(envelopes, 1, "one envelope per kind would be 3");
    for (let i = 0; i < 20; i++) {
      const device = emulator.tenant.deviceBySerial(`T${i}`)!;
      assert.equal(device.status, i < 14 ? "available" : "activated", `T${i}`);
    }
  });

  it("sends an update of a token being unassigned only after its unassignment, the rest at once", async () => {
    // T0: given back and renamed (unassign, then update); T1: a pool token renamed; T2: held, to be activated.
    const desired = (i: number) => (i === 0 ? `state: available, returnedBy: ${upn(0)}, displayName: "returned"` : i === 1 ? `state: available, displayName: "spare"` : `state: activated, upn: ${upn(2)}`);
    const made = workspace(3, desired);
    secrets = made.secrets;
    seedTenant(3, (i) => i !== 1);
    const { report, envelopes, inner } = await applyCounting(emulator, made.file);
    // Graph refuses to update an assigned token (the emulator too): T0's rename succeeding shows the order held.
    assert.equal(report.failed + report.skipped, 0, JSON.stringify(report.outcomes.filter((o) => o.status !== "succeeded")));
    assert.equal(emulator.tenant.deviceBySerial("T0")!.displayName, "returned");
    assert.equal(emulator.tenant.deviceBySerial("T0")!.status, "available");
    assert.equal(inner.length, 4);
    assert.equal(envelopes, 2, "unassign T0, rename T1 and activate T2 together; rename T0 after");
  });
});
