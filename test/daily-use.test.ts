import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as openpgp from "openpgp";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { ADMIN_APP, clientEnv, startHttpsEmulator } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

// Issue 24's daily-use conventions: a JSON error document when --format json fails early, --serial/--upn targets, --quiet/--verbose, OpenPGP messages, the flag vocabulary.

const dir = mkdtempSync(join(tmpdir(), "entra-daily-"));
const missing = join(dir, "missing.yaml");

/** stdout as the one JSON document it must be. */
function jsonOf(stdout: string): { formatVersion: number; error: { code: string; message: string; fix?: string; diagnostics?: { code: string }[] } } {
  return JSON.parse(stdout);
}

describe("--format json when the command fails before it has a result", function () {
  this.timeout(60_000);

  it("plan, apply, drift, list and seeds list print a JSON error document for a missing tokens.yaml, exit 1", async () => {
    for (const args of [["plan"], ["apply", "--yes"], ["drift"], ["list"], ["seeds", "list"]]) {
      const r = await runCli([...args, "-f", missing, "--format", "json"]);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      const body = jsonOf(r.stdout);
      assert.equal(body.formatVersion, 1);
      assert.equal(body.error.code, "invalid-desired-state", args.join(" "));
      assert.match(body.error.message, /missing\.yaml is invalid/);
      assert.match(body.error.fix ?? "", /entra-tokens validate/);
      assert.equal(body.error.diagnostics?.[0]?.code, "file-unreadable");
      assert.match(r.stderr, /cannot read/, "the human lines stay on stderr");
    }
  });

  it("in GitHub Actions stdout stays one JSON document (no annotations in it); text output keeps its annotations", async () => {
    for (const args of [["plan"], ["drift"], ["list"], ["seeds", "list"]]) {
      const r = await runCli([...args, "-f", missing, "--format", "json"], { GITHUB_ACTIONS: "true" });
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(jsonOf(r.stdout).error.code, "invalid-desired-state", `${args.join(" ")}: ${r.stdout}`);
    }
    const text = await runCli(["plan", "-f", missing], { GITHUB_ACTIONS: "true" });
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^::error file=.*missing\.yaml/m);
  });

  it("a usage error and a refused sign-in are JSON too, and the secret is not in it", async () => {
    const usage = await runCli(["plan", "--format", "json", "--bogus"]);
    assert.equal(usage.code, 1);
    assert.equal(jsonOf(usage.stdout).error.code, "usage");
    assert.match(jsonOf(usage.stdout).error.message, /unknown option '--bogus'/);

    const emulator: GraphEmulator = await startHttpsEmulator();
    try {
      const { file } = workspace(1, () => "state: available");
      const wrongSecret = "wrong-secret-value-000";
      const r = await runCli(["plan", "-f", file, "--format", "json"], { ...clientEnv(emulator), AZURE_CLIENT_SECRET: wrongSecret });
      assert.equal(r.code, 1, r.stderr);
      const body = jsonOf(r.stdout);
      assert.equal(body.error.code, "authentication");
      assert.ok(!r.stdout.includes(wrongSecret) && !r.stderr.includes(wrongSecret), "no secret in the output");
      assert.ok(!r.stdout.includes(ADMIN_APP.clientSecret));
    } finally {
      await emulator.stop();
    }
  });
});

describe("--serial / --upn targets on plan and apply", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(() => emulator.stop());

  const pool = (count: number, assign: (i: number) => string = () => "state: available") => workspace(count, assign).file;

  it("plans and applies only the chosen tokens, says so in text, Markdown and JSON, and a typo'd UPN elsewhere does not block them", async () => {
    const file = pool(3, (i) => (i === 1 ? "state: assigned, upn: adele.vanse@contoso.com" : i === 2 ? "state: assigned, upn: adele.vance@contoso.com" : "state: available"));
    const env = clientEnv(emulator);
    assert.equal((await runCli(["plan", "-f", file], env)).code, 1, "the whole plan has the typo's error");

    const text = await runCli(["plan", "-f", file, "--serial", "T0"], env);
    assert.equal(text.code, 2, text.stderr);
    assert.match(text.stdout, /^Partial plan \(--serial T0\): 1 token; the rest of tokens\.yaml is neither planned nor applied\./m);
    assert.match(text.stdout, /create\s+T0/);
    assert.doesNotMatch(text.stdout, /T1|T2|adele/);

    const markdown = await runCli(["plan", "-f", file, "--upn", "adele.vance@contoso.com", "--format", "markdown"], env);
    assert.equal(markdown.code, 2, markdown.stderr);
    assert.match(markdown.stdout, /\*\*Partial plan \(--upn `adele\.vance@contoso\.com`\): 1 token;/);

    const json = JSON.parse((await runCli(["plan", "-f", file, "--serial", "T0", "t2", "--format", "json"], env)).stdout);
    assert.deepEqual(json.target, { serials: ["T0", "t2"], upns: [], tokens: 2 });
    assert.deepEqual([...new Set(json.steps.map((s: { serial: string }) => s.serial))].sort(), ["T0", "T2"]);
    assert.equal(json.errors.length, 0);

    const applied = await runCli(["apply", "-f", file, "--serial", "T0", "--yes"], env);
    assert.equal(applied.code, 0, applied.stderr);
    const after = JSON.parse((await runCli(["plan", "-f", file, "--serial", "T0", "T2", "--format", "json"], env)).stdout);
    assert.deepEqual(after.steps.map((s: { serial: string }) => s.serial), ["T2"], "T0 was created, T2 was not");
  });

  it("an unknown serial or UPN is an error with a did-you-mean, and nothing is planned", async () => {
    const file = pool(2, (i) => (i === 1 ? "state: assigned, upn: adele.vance@contoso.com" : "state: available"));
    const serial = await runCli(["plan", "-f", file, "--serial", "T0X"], clientEnv(emulator));
    assert.equal(serial.code, 1);
    assert.match(serial.stderr, /serial T0X is in neither tokens\.yaml nor the tenant \(did you mean T0\?\)/);
    assert.equal(serial.stdout, "");
    const upn = await runCli(["apply", "-f", file, "--upn", "adele.vanse@contoso.com", "--yes", "--format", "json"], clientEnv(emulator));
    assert.equal(upn.code, 1);
    assert.match(upn.stderr, /did you mean adele\.vance@contoso\.com\?/);
    assert.equal(jsonOf(upn.stdout).error.code, "unknown-target");
  });

  it("the deletion guard holds on what the partial plan deletes", async () => {
    const file = pool(4);
    const env = clientEnv(emulator);
    assert.equal((await runCli(["apply", "-f", file, "--yes"], env)).code, 0);
    writeFileSync(file, readFileSync(file, "utf8").replace(/("T[012]", )state: available/g, "$1state: retired"));
    const three = await runCli(["apply", "-f", file, "--serial", "T0", "T1", "T2", "T3", "--yes"], env);
    assert.equal(three.code, 1, "3 deletes, policy.maxDeletes 2");
    assert.match(three.stdout, /Deletion guard: this plan deletes 3 tokens/);
    const one = await runCli(["apply", "-f", file, "--serial", "T0", "--yes"], env);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(JSON.parse((await runCli(["plan", "-f", file, "--format", "json"], env)).stdout).summary.delete, 2, "only T0 was deleted");
  });
});

describe("--quiet and --verbose", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(() => emulator.stop());

  it("--verbose shows each Graph answer's request-id and time on stderr, never a secret or a token", async () => {
    const { file, secrets } = workspace(2, () => "state: available");
    const r = await runCli(["apply", "-f", file, "--yes", "--verbose"], clientEnv(emulator));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^graph: GET \/beta\/\S+ → 200 in \d+ ms \(request-id [0-9a-f-]{36}, client-request-id [0-9a-f-]{36}\)$/m);
    assert.match(r.stderr, /^graph: PATCH \/beta\/\S+ → 201 in \d+ ms \(request-id /m, "the writes too");
    const output = r.stdout + r.stderr;
    assert.ok(!output.includes(ADMIN_APP.clientSecret), "no client secret");
    assert.doesNotMatch(output, /bearer|eyJ[\w-]+\.eyJ/i, "no access token");
    for (const seed of secrets) assert.ok(!output.includes(seed), "no seed");
    const plain = await runCli(["plan", "-f", file], clientEnv(emulator));
    assert.doesNotMatch(plain.stderr, /request-id/, "not without --verbose");
  });

  it("--quiet prints the results and errors only: no progress lines", async () => {
    const { file } = workspace(2, () => "state: available");
    const loud = await runCli(["apply", "-f", file, "--yes"], clientEnv(emulator));
    assert.match(loud.stderr, /create: 0\/2/, "progress lines without --quiet");
    const { file: other } = workspace(2, (i) => `state: available, displayName: "Q${i}"`);
    const r = await runCli(["apply", "-f", other, "--yes", "--quiet"], clientEnv(emulator));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^Applied: /m);
    const failed = await runCli(["plan", "-f", missing, "--quiet"]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /error: .*missing\.yaml is invalid/, "errors still shown");
  });
});

describe("seeds import --recipient with a signing-only OpenPGP key", function () {
  this.timeout(60_000);

  it("says what is wrong, where, and how to fix it, before reading any seed, and writes nothing", async () => {
    const { publicKey } = await openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs: [{ name: "Signing only" }], subkeys: [], format: "armored" });
    const key = join(dir, "signing-only.asc");
    writeFileSync(key, publicKey);
    const seed = "JBSWY3DPEHPK3PXP";
    const csv = join(dir, "in.csv");
    writeFileSync(csv, `serial number,secret key,time interval,manufacturer,model\nS1,${seed},30,Token2,C202\n`);
    const out = join(dir, "store.csv.asc");
    const r = await runCli(["seeds", "import", csv, "--out", out, "--recipient", key]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /signing-only\.asc \(--recipient, key [0-9A-F]{40}\) holds no key that can encrypt: it has no encryption subkey/);
    assert.match(r.stderr, /Fix: add an encryption subkey \(gpg --quick-add-key [0-9A-F]{40} cv25519 encr\)/);
    assert.doesNotMatch(r.stderr, /Could not find valid encryption key packet/, "not openpgp.js's own words");
    assert.doesNotMatch(r.stderr + r.stdout, new RegExp(seed));
    assert.ok(!existsSync(out), "nothing written");
  });
});

describe("one flag vocabulary", function () {
  this.timeout(60_000);

  it("--out-format and --out-passphrase-env for files written, --input-passphrase-env for files read; the old spellings still work, out of the help", async () => {
    const { file } = workspace(1, () => "state: available");
    const now = await runCli(["seeds", "export", "-f", file, "--out-format", "entra-json", "--out", "-"]);
    assert.equal(now.code, 0, now.stderr);
    const before = await runCli(["seeds", "export", "-f", file, "--format", "entra-json", "--out", "-"]);
    assert.equal(before.code, 0, before.stderr);
    assert.equal(before.stdout, now.stdout);
    assert.ok(JSON.parse(now.stdout), "entra-json");

    const csv = join(dir, "vocabulary.csv");
    writeFileSync(csv, "serial number,secret key,time interval,manufacturer,model\nW1,JBSWY3DPEHPK3PXP,30,Token2,C202\n");
    for (const flag of ["--out-passphrase-env", "--passphrase-env"]) {
      const r = await runCli(["seeds", "import", csv, "--out", join(dir, `store${flag}.pskc`), flag, "STORE_PW"], { STORE_PW: "a long enough passphrase" });
      assert.equal(r.code, 0, `${flag}: ${r.stderr}`);
    }
    const unset = await runCli(["seeds", "import", csv, "--out", join(dir, "unset.pskc"), "--out-passphrase-env", "UNSET_PW"]);
    assert.match(unset.stderr, /set the passphrase for the encrypted seed file in UNSET_PW \(or name another variable with --out-passphrase-env\)/);

    const help = async (...args: string[]) => (await runCli([...args, "--help"])).stdout;
    assert.match(await help("seeds", "export"), /--out-format <format>/);
    assert.doesNotMatch(await help("seeds", "export"), /(^|\s)--format\b/);
    assert.match(await help("seeds", "import"), /--out-passphrase-env <var>/);
    assert.doesNotMatch(await help("seeds", "import"), /(^|\s)--passphrase-env\b/);
    assert.match(await help("add"), /--input-passphrase-env <var>/);
    assert.doesNotMatch(await help("add"), /(^|\s)--passphrase-env\b/);
  });

  it("add reads seeds with the same flags as seeds import and seeds list: custom CSV columns included", async () => {
    const help = (await runCli(["add", "--help"])).stdout;
    for (const flag of ["--input-format", "--csv-serial", "--csv-secret", "--delimiter", "--accept-tamperable-seeds", "--zip-password-env"]) assert.match(help, new RegExp(`${flag}\\b`), flag);
    const csv = join(dir, "custom.csv");
    writeFileSync(csv, "Serial;Seed\nC1;48656c6c6f21deadbeef48656c6c6f21deadbeef\n");
    const tokens = join(dir, "custom-tokens.yaml");
    writeFileSync(tokens, "version: 1\ndefaults: { manufacturer: Token2, model: C202 }\ntokens: []\n");
    const r = await runCli(["add", csv, "-f", tokens, "--csv-serial", "Serial", "--csv-secret", "Seed", "--encoding", "hex", "--delimiter", ";", "--dry-run"]);
    // The columns were read (no usage error): the seeds in clear are then refused in the repository, as for any plaintext file.
    assert.equal(r.code, 1);
    assert.match(r.stderr, /seed file "custom\.csv" is not encrypted at rest/);
    assert.doesNotMatch(r.stderr, /48656c6c6f21deadbeef/);
  });
});
