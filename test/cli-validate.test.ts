import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { runCli } from "./support/cli.js";

const dir = mkdtempSync(join(tmpdir(), "entra-tokens-cli-"));
const bad = join(dir, "bad.yaml");
writeFileSync(bad, "version: 1\ndefaults: { manufacturer: T, model: M }\ntokens:\n  - serial: A1\n    state: activated\n");

describe("entra-tokens validate", () => {
  it("exits 0 on the example file and summarises it", async () => {
    const r = await runCli(["validate", "tokens.yaml"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid, 7 tokens \(2 available, 2 assigned, 3 activated, 0 retired\)/);
  });

  it("exits 1 with file:line:col diagnostics on an invalid file", async () => {
    const r = await runCli(["validate", bad]);
    assert.equal(r.code, 1);
    assert.ok(r.stdout.includes(`${bad}:4:5: error [upn-state]`), r.stdout);
    assert.match(r.stdout, /fix: add `upn/);
    assert.doesNotMatch(r.stdout + r.stderr, /at .*\.js:\d+/, "no stack trace");
  });

  it("prints machine-readable JSON with --format json (and the old --json)", async () => {
    const old = await runCli(["validate", bad, "--json"]);
    const r = await runCli(["validate", "-f", bad, "--format", "json"]);
    assert.equal(r.code, 1);
    assert.equal(old.stdout, r.stdout, "--json and a file argument are still accepted");
    const body: unknown = JSON.parse(r.stdout);
    assert.ok(typeof body === "object" && body !== null && "diagnostics" in body && Array.isArray(body.diagnostics));
    assert.deepEqual(
      body.diagnostics.map((d: unknown) => (typeof d === "object" && d !== null && "code" in d && "line" in d ? [d.code, d.line] : d)),
      [["upn-state", 4]],
    );
  });

  it("emits GitHub annotations only inside GitHub Actions", async () => {
    const inActions = await runCli(["validate", bad], { GITHUB_ACTIONS: "true" });
    assert.ok(inActions.stdout.includes(`::error file=${bad},line=4,col=5,title=tokens.yaml%3A upn-state::`), inActions.stdout);
    const local = await runCli(["validate", bad]);
    assert.doesNotMatch(local.stdout, /::error/);
  });

  it("exits 1 on usage errors (never 2, which means changes) and 0 on --help", async () => {
    for (const args of [["validate", "--no-such-flag"], ["validate", "--format", "html"], ["validate", "a.yaml", "b.yaml"], ["validate", "a.yaml", "-f", "b.yaml"]]) {
      const usage = await runCli(args);
      assert.equal(usage.code, 1, args.join(" "));
      assert.match(usage.stderr, /unknown option|invalid|give one file/, args.join(" "));
    }
    const help = await runCli(["validate", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /-f, --file <path>/);
    assert.match(help.stdout, /--format <format>/);
    assert.doesNotMatch(help.stdout, /--json/, "the old spelling is accepted but not advertised");
    assert.match(help.stdout, /Exit codes \(every command\): 0 success or no changes, 1 any error \(usage included\), 2 changes \(plan\) or drift \(drift\)/);
  });

  it("reports a missing file as invalid input, not a crash", async () => {
    const r = await runCli(["validate", join(dir, "nope.yaml")]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /file-unreadable/);
  });
});

describe("the entra-tokens command", () => {
  it("runs as `npx entra-tokens` from the built project, as README shows", function () {
    this.timeout(30_000);
    const root = join(__dirname, "..", "..");
    const version = execFileSync("npx", ["--no-install", "entra-tokens", "--version"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    assert.match(version, /^\d+\.\d+\.\d+\n$/);
  });

  describe("a vendor's seed file in Entra's six-column CSV", function () {
    this.timeout(120_000);
    /** tokens.yaml with one token, 60 s where the seed file says 30, and a seed file of `rows` rows whose last row is that token. */
    function delivery(rows: number): string {
      const folder = mkdtempSync(join(dir, "delivery-"));
      const secret = encodeBase32(Buffer.from("made-up-seed-for-tests"));
      const lines = ["upn,serial number,secret key,time interval,manufacturer,model"];
      for (let i = 0; i < rows; i++) lines.push(`,V${i},${secret},30,Token2,C202`);
      writeFileSync(join(folder, "vendor.csv"), `${lines.join("\n")}\n`);
      writeFileSync(
        join(folder, "tokens.yaml"),
        `version: 1\nseeds: [{ file: vendor.csv, allowPlaintext: true }]\ntokens:\n  - { serial: V${rows - 1}, state: available, manufacturer: Token2, model: C202, timeIntervalInSeconds: 60 }\n`,
      );
      return join(folder, "tokens.yaml");
    }

    it("checks every token against a delivery of 100,000 rows", async () => {
      const r = await runCli(["validate", "-f", delivery(100_000)]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /error \[seed-mismatch\] token "V99999": timeIntervalInSeconds is 60 in .* but 30 in the seed file/);
      assert.doesNotMatch(r.stderr, /not checked/);
    });

    it("refuses a delivery beyond the reader's limits as an error naming the file, not a note", async () => {
      const r = await runCli(["validate", "-f", delivery(250_001)]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /vendor\.csv:1:1: error \[seed-file\] the file holds more than 1,500,000 CSV fields \[seed-too-many-records\]\n {4}fix: split the delivery into smaller files/);
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /not checked|\n\s+at /);
    });
  });
});
