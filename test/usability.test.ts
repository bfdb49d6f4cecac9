import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv-draft-04";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { clientEnv, startHttpsEmulator } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

// The bugs issue 24 names, as a user meets them, and validate's SARIF output for code scanning.

const ROOT = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "entra-usability-"));
let counter = 0;
const file = (name: string, content: string) => {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
};
const SEED_ENV = { ENTRA_TOKENS_SEED_PASSPHRASE: "a long enough passphrase for the tests" };

/** An encrypted store with serials A1 and R1, and a tokens.yaml naming it (R1 retired). */
async function storeWithRetired(): Promise<string> {
  const csv = file("in.csv", "upn,serial number,secret key,time interval,manufacturer,model\n,A1,JBSWY3DPEHPK3PXP,30,Token2,C202\n,R1,KRSXG5CTMVRXEZLU,30,Token2,C202\n");
  const store = join(dir, `${++counter}-store.pskc`);
  const imported = await runCli(["seeds", "import", csv, "--out", store], SEED_ENV);
  assert.equal(imported.code, 0, imported.stderr);
  return file("tokens.yaml", `version: 1\ndefaults: { manufacturer: Token2, model: C202 }\nseeds: [{ file: ${store}, passphraseEnv: ENTRA_TOKENS_SEED_PASSPHRASE }]\ntokens:\n  - { serial: A1, state: available }\n  - { serial: R1, state: retired }\n`);
}

describe("seeds export", function () {
  this.timeout(60_000);

  it("leaves retired tokens out: a portal upload must not bring a lost fob back into the pool", async () => {
    const tokens = await storeWithRetired();
    const r = await runCli(["seeds", "export", "-f", tokens, "--out", "-"], SEED_ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /,A1,/);
    assert.doesNotMatch(r.stdout, /R1/);
  });

  it("refuses a link or a device as --out (/dev/stdout): seeds reach stdout only with --out -", async () => {
    const tokens = await storeWithRetired();
    for (const out of ["/dev/stdout", "/dev/null"]) {
      const r = await runCli(["seeds", "export", "-f", tokens, "--out", out, "--force"], SEED_ENV);
      assert.equal(r.code, 1, `${out}: ${r.stdout}`);
      assert.doesNotMatch(r.stdout, /JBSWY3DPEHPK3PXP/, "no seed on stdout");
      assert.match(r.stderr, /--out - to write to stdout/);
    }
    assert.notEqual(statSync("/dev/null").mode & 0o777, 0o600, "/dev/null was not chmodded");
  });
});

describe("assign", function () {
  this.timeout(30_000);
  const yaml = [
    "version: 1",
    "defaults: { manufacturer: Token2, model: C202 }",
    "tokens:",
    '  - serial: "P1"        # first fob',
    "    state: available",
    '  - serial: "P2"        # aligned comments',
    "    state: available    # stay aligned",
    "",
  ].join("\n");

  it("changes only the lines it edits, keeping trailing and aligned comments, and --dry-run prints a diff", async () => {
    const tokens = file("tokens.yaml", yaml);
    const users = file("users.txt", "alice@contoso.com\n");
    const dry = await runCli(["assign", "--users", users, "-f", tokens, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^-    state: available$/m);
    assert.match(dry.stdout, /^\+    state: assigned$/m);
    assert.match(dry.stdout, /1 token assigned\./);
    assert.equal(readFileSync(tokens, "utf8"), yaml);
    const r = await runCli(["assign", "--users", users, "-f", tokens]);
    assert.equal(r.code, 0, r.stderr);
    const after = readFileSync(tokens, "utf8");
    assert.match(after, /^ {2}- serial: "P1" {8}# first fob\n {4}state: assigned\n {4}upn: alice@contoso.com\n/m);
    assert.match(after, /^ {2}- serial: "P2" {8}# aligned comments\n {4}state: available {4}# stay aligned\n/m);
  });
});

describe("validate", function () {
  this.timeout(30_000);
  const mixed = [
    "version: 1",
    "defaults: { manufacturer: Token2, model: C202 }",
    "tokens:",
    '  - { serial: "S1", state: available }',
    '  - { serial: "S1", state: available }',
    '  - { serial: "S2", state: availble }',
    "",
  ].join("\n");

  it("reports rule errors (a duplicate serial) in the same round as schema errors", async () => {
    const r = await runCli(["validate", "-f", file("tokens.yaml", mixed)]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /:6:\d+: error \[\w[\w-]*\].*availble|:6:\d+: error \[/);
    assert.match(r.stdout, /:5:\d+: error \[duplicate-serial\]/);
  });

  it("--format json carries formatVersion, as plan and drift JSON do", async () => {
    const r = await runCli(["validate", "-f", file("tokens.yaml", mixed), "--format", "json"]);
    assert.equal(JSON.parse(r.stdout).formatVersion, 1);
  });

  it("--format sarif is a SARIF 2.1.0 log (checked against the schema), with rules, help, file, line and column", async () => {
    // The OASIS SARIF 2.1.0 schema (rtm.5, draft-04), vendored from the npm package @microsoft/jest-sarif
    // 1.0.0-beta.0 (lib/schemas). Its `language` pattern is not valid as a unicode RegExp: ajv reads it as plain.
    const schema: unknown = JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "sarif-schema-2.1.0.json"), "utf8"));
    assert.ok(typeof schema === "object" && schema !== null);
    const validate = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }).compile(schema);
    const tokens = file("tokens.yaml", mixed);
    const r = await runCli(["validate", "-f", tokens, "--format", "sarif"], { GITHUB_ACTIONS: "true" });
    assert.equal(r.code, 1);
    const log: unknown = JSON.parse(r.stdout);
    assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
    const run = (log as { runs: { tool: { driver: { rules: { id: string; help: { text: string } }[] } }; results: { ruleId: string; locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number } } }[] }[] }[] }).runs[0]!;
    const duplicate = run.results.find((x) => x.ruleId === "duplicate-serial");
    assert.ok(duplicate, "the duplicate serial is a result");
    assert.equal(duplicate.locations[0]!.physicalLocation.region.startLine, 5);
    assert.ok(duplicate.locations[0]!.physicalLocation.region.startColumn >= 1);
    assert.ok(!duplicate.locations[0]!.physicalLocation.artifactLocation.uri.startsWith("/"), "a relative path, as code scanning needs");
    assert.match(run.tool.driver.rules.find((rule) => rule.id === "duplicate-serial")?.help.text ?? "", /unique/);
    const clean = await runCli(["validate", "-f", join(ROOT, "tokens.yaml"), "--format", "sarif"]);
    assert.equal(clean.code, 0);
    assert.ok(validate(JSON.parse(clean.stdout)), "a valid file is an empty, valid log");
  });
});

describe("apply, drift and plan against the emulator", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  // A tenant per test: the workspaces' serials (T0, T1…) repeat.
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(() => emulator.stop());

  it("apply --format json prints one JSON document: the plan and what was done", async () => {
    const { file: tokens } = workspace(2, () => "state: available");
    const r = await runCli(["apply", "--yes", "--format", "json", "-f", tokens], clientEnv(emulator));
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    assert.equal(body.formatVersion, 1);
    assert.equal(body.plan.summary.create, 2);
    assert.equal(body.applied.done, 2);
    const again = JSON.parse((await runCli(["apply", "--yes", "--format", "json", "-f", tokens], clientEnv(emulator))).stdout);
    assert.equal(again.applied, null, "nothing to do: nothing applied");
  });

  it("drift with only notices says there is no drift, and never counts notices as findings", async () => {
    const { file: tokens } = workspace(1, () => "state: available");
    assert.equal((await runCli(["apply", "--yes", "-f", tokens], clientEnv(emulator))).code, 0);
    const claimed = await fetch(`${emulator.url}/_emulator/self-service`, { method: "POST", body: JSON.stringify({ userPrincipalName: "adele.vance@contoso.com", serialNumber: "T0" }) });
    assert.ok(claimed.ok);
    const r = await runCli(["drift", "-f", tokens], clientEnv(emulator));
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^No drift: the tenant matches tokens\.yaml \(1 notice, not drift\)\./);
    assert.doesNotMatch(r.stdout, /Drift: \d+ findings?/);
  });

  it("fixes name this tool's commands, and an unknown UPN gets a did-you-mean from the users looked up", async () => {
    const { file: tokens } = workspace(2, (i) => (i === 0 ? "state: assigned, upn: adele.vance@contoso.com" : "state: assigned, upn: adele.vanse@contoso.com"));
    const r = await runCli(["plan", "-f", tokens], clientEnv(emulator));
    assert.equal(r.code, 1);
    assert.match(r.stdout, /did you mean adele\.vance@contoso\.com\?/);
    assert.match(r.stdout, /entra-tokens leaver adele\.vanse@contoso\.com/);
  });
});
