import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Desired, DesiredToken, LiveToken, LiveUser } from "../provider/model/index.js";
import { classifyDrift } from "../provider/plan/drift.js";
import { plan } from "../provider/plan/plan.js";
import { planJson, renderDriftMarkdown, renderDriftText, renderPlanMarkdown, renderPlanText } from "../provider/plan/render.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { readSeedFile } from "../provider/seeds/read.js";

// Beyond ~125,000 elements, a call that spreads an array into arguments (Math.max(...steps),
// push(...rows)) overflows the call stack. These run past that size; no timing is asserted.

const COUNT = 150_000;
const serial = (i: number) => `SN${String(i).padStart(7, "0")}`;

function bigTenant(): { desired: Desired; devices: LiveToken[]; users: Map<string, LiveUser | null> } {
  const tokens: DesiredToken[] = [];
  const users = new Map<string, LiveUser | null>();
  const devices: LiveToken[] = [];
  for (let i = 0; i < COUNT; i++) {
    const upn = `user${i}@contoso.com`;
    tokens.push({ serial: serial(i), state: "activated", upn, manufacturer: "Token2", model: "C202", timeIntervalInSeconds: 30, hashFunction: "hmacsha1", location: { file: "tokens.yaml", line: i + 5, column: 5 } });
    const user: LiveUser = { id: `id-${i}`, userPrincipalName: upn, userType: "Member", accountEnabled: true };
    users.set(upn, user);
    users.set(user.id, user);
    // Every other token exists but is held by nobody: it needs assign and activate; the rest need creating.
    if (i % 2 === 0) devices.push({ id: `dev-${i}`, serial: serial(i), status: "available", manufacturer: "Token2", model: "C202", timeIntervalInSeconds: 30, hashFunction: "hmacsha1" });
  }
  return { desired: { file: "tokens.yaml", version: 1, policy: { unmanaged: "report", maxDeletes: 5 }, seedFiles: [], tokens }, devices, users };
}

describe(`${COUNT.toLocaleString("en")} tokens: nothing spreads a large array into a call`, function () {
  this.timeout(300_000);

  it("plans and renders the plan as text, Markdown and JSON", () => {
    const { desired, devices, users } = bigTenant();
    const p = plan(desired, { devices, directory: { users } }, { seeds: new Set(desired.tokens.map((t) => t.serial)) });
    assert.equal(p.errors.length, 0);
    assert.ok(p.steps.length >= 2 * COUNT, `${p.steps.length} steps`);
    const last = serial(COUNT - 1);
    assert.ok(renderPlanText(p).includes(last));
    assert.ok(renderPlanMarkdown(p).includes(last));
    assert.equal(JSON.parse(JSON.stringify(planJson(p))).steps.length, p.steps.length);
  });

  it("classifies and renders drift", () => {
    const { desired, devices, users } = bigTenant();
    const items = classifyDrift(desired, { devices, directory: { users } });
    assert.ok(items.length >= COUNT);
    assert.ok(renderDriftText(items).includes(serial(COUNT - 1)));
    assert.ok(renderDriftMarkdown(items).includes(serial(COUNT - 1)));
  });

  it("reads a seed CSV of that many rows", async () => {
    const rows = ["serial number,secret key,time interval"];
    for (let i = 0; i < COUNT; i++) rows.push(`${serial(i)},${encodeBase32(Buffer.from(`scale-seed-${i}`.padEnd(20, "#")))},30`);
    const path = join(mkdtempSync(join(tmpdir(), "entra-scale-")), "seeds.csv");
    writeFileSync(path, `${rows.join("\n")}\n`);
    const seeds = await readSeedFile({ path });
    assert.equal(seeds.length, COUNT);
    assert.equal(seeds[COUNT - 1]?.serial, serial(COUNT - 1));
  });
});
