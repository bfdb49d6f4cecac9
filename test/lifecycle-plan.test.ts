import assert from "node:assert/strict";
import { parseDesired } from "../provider/desired/load.js";
import { leaver, replaceToken, retireTokens } from "../provider/desired/lifecycle.js";
import type { Desired, LiveState, LiveToken, LiveUser, MethodConfiguration } from "../provider/model/index.js";
import { classifyDrift } from "../provider/plan/drift.js";
import { plan } from "../provider/plan/plan.js";
import { preflight, targetGroups, usersToCheck } from "../provider/plan/preflight.js";
import { device } from "./support/live-token.js";

// The lifecycle states' semantics in the pure planner, which both fronts (CLI and Pulumi) share.

function desired(tokens: string, policy = ""): Desired {
  const result = parseDesired(`version: 1\ndefaults: { manufacturer: Token2, model: C202 }\n${policy}tokens:\n${tokens}`, "tokens.yaml");
  assert.ok(result.ok, JSON.stringify(result));
  return result.desired;
}
const user = (id: string, upn: string): LiveUser => ({ id, userPrincipalName: upn, userType: "Member", accountEnabled: true });
const ALICE = user("u-alice", "alice@contoso.com");
const BOB = user("u-bob", "bob@contoso.com");
function live(devices: LiveToken[]): LiveState {
  const users = new Map<string, LiveUser | null>();
  for (const u of [ALICE, BOB]) {
    users.set(u.id, u);
    users.set(u.userPrincipalName, u);
  }
  return { devices, directory: { users } };
}
const SEEDS = { seeds: new Set(["S1", "S2", "S3"]) };
const steps = (p: ReturnType<typeof plan>) => p.steps.map((s) => `${s.kind} ${s.serial}${"reason" in s ? ` ${s.reason}` : ""}`);

describe("lifecycle states in the planner (pure)", () => {
  it("retired: unassigns then deletes a token still in Entra, and nothing once it is gone", () => {
    const d = desired("  - { serial: S1, state: retired }\n  - { serial: S2, state: retired }\n  - { serial: S3, state: retired }\n", "policy: { maxDeletes: 2 }\n");
    const p = plan(d, live([device("S1", { status: "activated", assignedTo: { id: "u-alice" } }), device("S2")]), SEEDS);
    assert.deepEqual(steps(p), ["unassign S1 retire", "delete S1 retired", "delete S2 retired"]);
    assert.deepEqual(p.errors, []);
    assert.equal(p.deletionGuard, undefined);
    assert.deepEqual(plan(d, live([]), SEEDS).steps, [], "a retired token no longer in Entra is history only");
    assert.deepEqual(classifyDrift(d, live([device("S2")])).map((i) => `${i.category} ${i.serial}`), ["notRetired S2"]);
  });

  it("retired tokens count against policy.maxDeletes", () => {
    const d = desired("  - { serial: S1, state: retired }\n  - { serial: S2, state: retired }\n", "policy: { maxDeletes: 1 }\n");
    const p = plan(d, live([device("S1"), device("S2")]), SEEDS);
    assert.deepEqual(p.deletionGuard, { deletes: 2, limit: 1 });
    assert.equal(plan(d, live([device("S1"), device("S2")]), { ...SEEDS, allowDeletes: true }).deletionGuard, undefined);
  });

  it("a retired token may not name a user", () => {
    const result = parseDesired("version: 1\ndefaults: { manufacturer: a, model: b }\ntokens:\n  - { serial: S1, state: retired, upn: alice@contoso.com }\n", "tokens.yaml");
    assert.ok(!result.ok);
    assert.equal(result.diagnostics[0]?.code, "upn-state");
    assert.match(result.diagnostics[0]?.message ?? "", /state retired must not name a user/);
  });

  it("policy.selfService keep (the default): a claimed pool token is kept and reported; revoke takes it back", () => {
    const tokens = "  - { serial: S1, state: available }\n";
    const claimed = [device("S1", { status: "activated", assignedTo: { id: "u-bob" }, displayName: "Bob's fob" })];
    const kept = plan(desired(tokens), live(claimed), SEEDS);
    assert.deepEqual(kept.steps, []);
    assert.deepEqual(kept.warnings.map((w) => [w.serial, w.code]), [["S1", "self-service-claim"]]);
    assert.match(kept.warnings[0]?.message ?? "", /bob@contoso.com claimed this pool token/);
    assert.deepEqual(classifyDrift(desired(tokens), live(claimed)).map((i) => i.category), ["selfServiceClaim"]);
    const revoked = plan(desired(tokens, "policy: { selfService: revoke }\n"), live(claimed), SEEDS);
    assert.deepEqual(steps(revoked), ["unassign S1 return-to-pool", "update S1"]);
  });

  it("returnedBy: a leaver's pool token is unassigned even under keep, and its name cleared; someone else's claim is kept", () => {
    const d = desired("  - { serial: S1, state: available, returnedBy: alice@contoso.com }\n");
    const p = plan(d, live([device("S1", { status: "activated", assignedTo: { id: "u-alice" }, displayName: "Alice's fob" })]), SEEDS);
    assert.deepEqual(steps(p), ["unassign S1 return-to-pool", "update S1"]);
    const update = p.steps.find((s) => s.kind === "update");
    assert.deepEqual(update?.kind === "update" ? update.changes : [], [{ field: "displayName", from: "Alice's fob", to: null }]);
    assert.deepEqual(p.warnings, []);
    const other = plan(d, live([device("S1", { status: "assigned", assignedTo: { id: "u-bob" } })]), SEEDS);
    assert.deepEqual(other.steps, []);
    assert.equal(other.warnings[0]?.code, "self-service-claim");
  });

  it("refuses a token whose interval or hash disagrees with its seed file, naming both values and both files", () => {
    const d = desired("  - { serial: S1, state: available }\n  - { serial: S2, state: available, timeIntervalInSeconds: 60 }\n");
    const seedFacts = new Map([
      ["S1", { file: "vendor/safeid.pskc", timeIntervalInSeconds: 60 as const, hashFunction: "hmacsha256" as const }],
      ["S2", { file: "vendor/safeid.pskc", timeIntervalInSeconds: 60 as const }],
    ]);
    const p = plan(d, live([]), { ...SEEDS, seedFacts });
    assert.deepEqual(p.errors.map((e) => [e.serial, e.code]), [["S1", "seed-mismatch"]]);
    const message = p.errors[0]?.message ?? "";
    assert.match(message, /timeIntervalInSeconds is 30 in tokens\.yaml:\d+ but 60 in the seed file vendor\/safeid\.pskc/);
    assert.match(message, /hashFunction is "hmacsha1" in tokens\.yaml:\d+ but "hmacsha256" in the seed file vendor\/safeid\.pskc/);
    const create = p.steps.find((s) => s.kind === "create" && s.serial === "S2");
    assert.equal(create?.kind === "create" ? create.attributes.timeIntervalInSeconds : undefined, 60);
  });

  it("preflight: warns on a disabled method and on users outside its targets", () => {
    const d = desired("  - { serial: S1, state: activated, upn: alice@contoso.com }\n  - { serial: S2, state: assigned, upn: bob@contoso.com }\n");
    const { directory } = live([]);
    const disabled: MethodConfiguration = { state: "disabled", includeTargets: ["all_users"], excludeTargets: [] };
    assert.deepEqual(usersToCheck(d, directory, disabled), [], "all users included: no membership to check");
    assert.deepEqual(preflight(d, directory, disabled, new Map()).map((w) => w.code), ["method-disabled"]);
    const targeted: MethodConfiguration = { state: "enabled", includeTargets: ["g-tokens"], excludeTargets: ["g-contractors"] };
    assert.deepEqual(targetGroups(targeted), ["g-tokens", "g-contractors"]);
    assert.deepEqual(usersToCheck(d, directory, targeted).sort(), ["u-alice", "u-bob"]);
    const warnings = preflight(d, directory, targeted, new Map([["u-alice", new Set(["g-tokens"])], ["u-bob", new Set(["g-tokens", "g-contractors"])]]));
    assert.deepEqual(warnings.map((w) => [w.code, w.upn, w.serials]), [["outside-targets", "bob@contoso.com", ["S2"]]]);
    assert.match(warnings[0]?.message ?? "", /excluded from the hardware OATH method's targets/);
  });
});

describe("lifecycle edits of tokens.yaml (pure)", () => {
  const file = [
    "version: 1",
    "defaults: { manufacturer: Token2, model: C202 }",
    "tokens:",
    "  # Adele's fob, bought 2025",
    "  - { serial: \"A1\", state: activated, upn: adele@contoso.com, displayName: Adele }",
    "  - { serial: \"A2\", state: assigned, upn: adele@contoso.com }",
    "  - { serial: \"P1\", state: available }   # spare",
    "",
  ].join("\n");

  it("replace: the holder gets a pool token in the same state, the old one is retired, comments kept", () => {
    const { text } = replaceToken("tokens.yaml", file, "A1", "2026-11-23");
    assert.match(text, /# Adele's fob, bought 2025/);
    assert.match(text, /# retired 2026-11-23: replaced by P1 \(was activated to adele@contoso.com\)\n {2}- \{ serial: "A1", state: retired \}/);
    assert.match(text, /- \{ serial: "P1", state: activated, upn: adele@contoso.com, displayName: Adele \} +# spare/, "the trailing comment stays (the yaml library may respace it)");
    assert.throws(() => replaceToken("tokens.yaml", text, "A2", "2026-11-23"), /no available token/);
  });

  it("leaver: tokens back to the pool with their names cleared and returnedBy set, or retired", () => {
    const pool = leaver("tokens.yaml", file, "Adele@contoso.com", "pool", "2026-11-23").text;
    assert.match(pool, /- \{ serial: "A1", state: available, returnedBy: adele@contoso.com \}/);
    assert.match(pool, /- \{ serial: "A2", state: available, returnedBy: adele@contoso.com \}/);
    const retired = leaver("tokens.yaml", file, "adele@contoso.com", "retire", "2026-11-23").text;
    assert.equal((retired.match(/state: retired/g) ?? []).length, 2);
    assert.throws(() => leaver("tokens.yaml", file, "nobody@contoso.com", "pool", "2026-11-23"), /gives no token to nobody@contoso.com/);
    assert.throws(() => retireTokens("tokens.yaml", retired, ["A1"], "2026-11-23"), /already retired/);
  });
});
