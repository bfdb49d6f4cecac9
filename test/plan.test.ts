import assert from "node:assert/strict";
import { parseDesired } from "../provider/desired/load.js";
import type { Desired, LiveState, LiveToken, LiveUser } from "../provider/model/index.js";
import { classifyDrift } from "../provider/plan/drift.js";
import { plan } from "../provider/plan/plan.js";
import { planJson, renderPlanMarkdown, renderPlanText } from "../provider/plan/render.js";
import { device } from "./support/live-token.js";

function desired(tokens: string, policy = ""): Desired {
  const result = parseDesired(`version: 1\ndefaults: { manufacturer: Token2, model: C202 }\n${policy}tokens:\n${tokens}`, "tokens.yaml");
  assert.ok(result.ok, JSON.stringify(result));
  return result.desired;
}

const user = (id: string, upn: string, extra: Partial<LiveUser> = {}): LiveUser => ({ id, userPrincipalName: upn, userType: "Member", accountEnabled: true, ...extra });
const ALICE = user("u-alice", "alice@contoso.com");
const BOB = user("u-bob", "bob@contoso.com");
const GUEST = user("u-guest", "guest@contoso.com", { userType: "Guest" });
const GONE = user("u-gone", "gone@contoso.com", { accountEnabled: false });

function live(devices: LiveToken[], users: LiveUser[] = [ALICE, BOB, GUEST, GONE]): LiveState {
  const map = new Map<string, LiveUser | null>();
  for (const u of users) {
    map.set(u.id, u);
    map.set(u.userPrincipalName, u);
  }
  return { devices, directory: { users: map } };
}

const SEEDS = { seeds: new Set(["S1", "S2", "S3", "S4", "S5", "S6", "S7"]) };

describe("planner (pure)", () => {
  it("creates with assignTo and activates, in step order", () => {
    const p = plan(desired("  - { serial: S1, state: activated, upn: alice@contoso.com }\n  - { serial: S2, state: available }\n"), live([]), SEEDS);
    assert.deepEqual(p.steps.map((s) => `${s.kind} ${s.serial}`), ["create S1", "create S2", "activate S1"]);
    const create = p.steps[0];
    assert.ok(create?.kind === "create" && create.assignTo?.id === "u-alice");
  });

  it("reassigns as unassign → assign → activate", () => {
    const p = plan(desired("  - { serial: S1, state: activated, upn: bob@contoso.com }\n"), live([device("S1", { status: "activated", assignedTo: { id: "u-alice" } })]), SEEDS);
    assert.deepEqual(p.steps.map((s) => `${s.kind} ${s.serial}`), ["unassign S1", "assign S1", "activate S1"]);
    const unassign = p.steps[0];
    assert.ok(unassign?.kind === "unassign" && unassign.from.upn === "alice@contoso.com" && unassign.reason === "reassign");
  });

  it("activates assigned and failedActivation tokens that should be activated, and nothing more", () => {
    const p = plan(
      desired("  - { serial: S1, state: activated, upn: alice@contoso.com }\n  - { serial: S2, state: activated, upn: alice@contoso.com }\n  - { serial: S3, state: assigned, upn: bob@contoso.com }\n"),
      live([device("S1", { status: "assigned", assignedTo: { id: "u-alice" } }), device("S2", { status: "failedActivation", assignedTo: { id: "u-alice" } }), device("S3", { status: "activated", assignedTo: { id: "u-bob" } })]),
      SEEDS,
    );
    assert.deepEqual(p.steps.map((s) => `${s.kind} ${s.serial}`), ["activate S1", "activate S2"]);
  });

  it("reports unknown, guest and disabled users as errors and plans nothing for them", () => {
    const p = plan(
      desired("  - { serial: S1, state: assigned, upn: nobody@contoso.com }\n  - { serial: S2, state: assigned, upn: guest@contoso.com }\n  - { serial: S3, state: assigned, upn: gone@contoso.com }\n"),
      live([]),
      SEEDS,
    );
    assert.deepEqual(p.errors.map((e) => [e.serial, e.code]), [["S1", "unknown-user"], ["S2", "guest-user"], ["S3", "disabled-user"]]);
    assert.equal(p.errors[0]?.location?.line, 4);
    assert.equal(p.steps.length, 0);
  });

  it("needs a seed to create or activate", () => {
    const p = plan(desired("  - { serial: NOSEED, state: available }\n"), live([]), SEEDS);
    assert.equal(p.errors[0]?.code, "missing-seed");
  });

  it("counts unmanaged tokens against the five-per-user limit", () => {
    const held = ["X1", "X2", "X3", "X4", "X5"].map((s) => device(s, { status: "activated", assignedTo: { id: "u-alice" } }));
    const p = plan(desired("  - { serial: S1, state: assigned, upn: alice@contoso.com }\n"), live([...held, device("S1")]), SEEDS);
    assert.equal(p.errors[0]?.code, "too-many-tokens");
    assert.equal(p.steps.length, 0);
  });

  it("under policy.selfService: revoke, returns a self-assigned pool token with a warning, and updates attributes only while unassigned", () => {
    const p = plan(
      desired("  - { serial: S1, state: available, displayName: Pool 1 }\n  - { serial: S2, state: activated, upn: bob@contoso.com, model: C301 }\n", "policy: { selfService: revoke }\n"),
      live([device("S1", { status: "activated", assignedTo: { id: "u-alice" } }), device("S2", { status: "activated", assignedTo: { id: "u-bob" } })]),
      SEEDS,
    );
    assert.deepEqual(p.steps.map((s) => `${s.kind} ${s.serial}`), ["unassign S1", "update S1"]);
    assert.deepEqual(p.warnings.map((w) => [w.serial, w.code]), [["S1", "self-service"], ["S2", "attribute-locked"]]);
  });

  it("reports, ignores or deletes unmanaged tokens per policy, with a deletion guard", () => {
    const tenant = live([device("U1"), device("U2", { status: "assigned", assignedTo: { id: "u-bob" } })]);
    const token = "  - { serial: S1, state: available }\n";
    const report = plan(desired(token), live([device("S1"), ...tenant.devices]), SEEDS);
    assert.deepEqual(report.unmanaged.map((u) => u.serial), ["U1", "U2"]);
    assert.equal(report.steps.length, 0);
    const ignore = plan(desired(token, "policy: { unmanaged: ignore }\n"), live([device("S1"), ...tenant.devices]), SEEDS);
    assert.equal(ignore.unmanaged.length, 0);
    const guarded = plan(desired(token, "policy: { unmanaged: delete, maxDeletes: 1 }\n"), live([device("S1"), ...tenant.devices]), SEEDS);
    assert.deepEqual(guarded.steps.map((s) => `${s.kind} ${s.serial}`), ["unassign U2", "delete U1", "delete U2"]);
    assert.deepEqual(guarded.deletionGuard, { deletes: 2, limit: 1 });
    const allowed = plan(desired(token, "policy: { unmanaged: delete, maxDeletes: 1 }\n"), live([device("S1"), ...tenant.devices]), { ...SEEDS, allowDeletes: true });
    assert.equal(allowed.deletionGuard, undefined);
  });

  it("classifies drift from the same comparison", () => {
    const d = desired(
      "  - { serial: S1, state: activated, upn: alice@contoso.com }\n  - { serial: S2, state: activated, upn: alice@contoso.com }\n  - { serial: S3, state: available }\n  - { serial: S4, state: assigned, upn: gone@contoso.com }\n  - { serial: S5, state: assigned, upn: bob@contoso.com }\n  - { serial: S6, state: activated, upn: bob@contoso.com }\n",
      "policy: { selfService: revoke }\n",
    );
    const items = classifyDrift(
      d,
      live([
        device("S2", { status: "failedActivation", assignedTo: { id: "u-alice" } }),
        device("S3", { status: "assigned", assignedTo: { id: "u-bob" } }),
        device("S4", { status: "assigned", assignedTo: { id: "u-gone" } }),
        device("S5", { status: "assigned", assignedTo: { id: "u-bob" }, model: "C301" }),
        device("S6", { status: "activated", assignedTo: { id: "u-bob" } }),
        device("X9"),
      ]),
    );
    assert.deepEqual(
      items.map((i) => `${i.category} ${i.serial}`),
      ["missing S1", "unexpectedAssignee S3", "failedActivation S2", "orphaned S4", "attributeMismatch S5", "unmanaged X9", "neverUsed S6"],
    );
  });

  it("renders text, Markdown and stable JSON", () => {
    const p = plan(desired("  - { serial: S1, state: activated, upn: alice@contoso.com }\n"), live([]), SEEDS);
    assert.match(renderPlanText(p), /^Plan: 1 to create, 0 to assign, 1 to activate/);
    assert.doesNotMatch(renderPlanText(p, { color: false }), /\u001b\[/);
    assert.match(renderPlanText(p, { color: true }), /\u001b\[/);
    const markdown = renderPlanMarkdown(p, { locate: (serial) => ({ file: "tokens.yaml", line: serial === "S1" ? 7 : 1, column: 5 }), sourceLink: (at) => `https://example.test/${at.file}#L${at.line}` });
    // Counts first, then one table per kind, each serial linked to its tokens.yaml line.
    assert.match(markdown, /\| step \| tokens \|\n\|---\|---\|\n\| \+ create \| 1 \|\n\| \* activate \| 1 \|/);
    assert.match(markdown, /#### \+ create \(1\)\n\n\| serial \| details \|\n\|---\|---\|\n\| \[`S1`\]\(https:\/\/example\.test\/tokens\.yaml#L7\) \|/);
    assert.match(renderPlanMarkdown(p), /\| `S1` \| Token2/);
    const json = planJson(p) as { formatVersion: number; summary: Record<string, number> };
    assert.equal(json.formatVersion, 1);
    assert.deepEqual(json.summary, { unassign: 0, delete: 0, update: 0, create: 1, assign: 0, activate: 1, errors: 0, warnings: 0, unmanaged: 0 });
  });
});
