import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as openpgp from "openpgp";
import type { GraphEmulator } from "../emulator/server.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { runCli } from "./support/cli.js";
import { clientEnv, startHttpsEmulator, TENANT } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

const ROOT = join(__dirname, "..", "..");
const DEMO_PASSPHRASE = "entra-tokens demo passphrase (public, demo only)";
const dir = mkdtempSync(join(tmpdir(), "entra-cli-"));
let counter = 0;
const file = (name: string, content: string | Uint8Array) => {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
};
const SECRET = encodeBase32(Buffer.from("cli-test-seed-0123456789"));

/** A loopback port nothing listens on: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

describe("entra-tokens exit codes: 0 success, 1 any error (usage included), 2 changes/drift only", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  before(async () => {
    emulator = await startHttpsEmulator();
  });
  after(() => emulator.stop());

  const usageErrors: string[][] = [
    [],
    ["no-such-command"],
    ["validate", "--fiel", "tokens.yaml"],
    ["plan", "--fiel", "tokens.yaml"],
    ["plan", "--format", "html"],
    ["apply", "--concurrency", "0"],
    ["drift", "--format", "html"],
    ["seeds"],
    ["seeds", "import", "x.csv"],
    ["seeds", "export"],
    ["seeds", "export", "--out", "x.csv", "--format", "csv"],
    ["seeds", "list", "--format", "yaml"],
    ["seeds", "import", "x.csv", "--out", "y.pskc", "--delimiter", ";;"],
    ["assign"],
  ];
  for (const args of usageErrors) {
    it(`usage error exits 1: entra-tokens ${args.join(" ")}`, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 1, r.stderr);
      assert.notEqual(r.stderr, "", "says what is wrong");
    });
  }

  it("--help and --version exit 0, for the program and each command", async () => {
    for (const args of [["--help"], ["--version"], ["validate", "--help"], ["plan", "--help"], ["apply", "--help"], ["drift", "--help"], ["seeds", "import", "--help"], ["seeds", "list", "--help"], ["seeds", "export", "--help"], ["assign", "--help"], ["tenants", "--help"]]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, args.join(" "));
    }
  });

  it("plan: 2 changes, 0 none, 1 error; apply: 0 done, 1 error; drift: 2 drift, 0 none, 1 error", async () => {
    const { file: tokens } = workspace(3, (i) => (i === 0 ? "state: available" : "state: assigned, upn: adele.vance@contoso.com"));
    const env = clientEnv(emulator);
    const run = async (...args: string[]) => (await runCli([...args, "-f", tokens], env)).code;
    assert.equal(await run("drift"), 2);
    assert.equal(await run("plan"), 2);
    assert.equal(await run("apply", "--yes"), 0);
    assert.equal(await run("plan"), 0);
    assert.equal(await run("drift"), 0);
    assert.equal(await run("apply", "--yes"), 0, "nothing to do is success");
    const offline = { ...env, ENTRA_TOKENS_GRAPH_URL: `https://127.0.0.1:${await closedPort()}/beta` };
    for (const command of ["plan", "apply", "drift"]) {
      const r = await runCli([command, "--yes", "-f", tokens].filter((a) => command === "apply" || a !== "--yes"), offline);
      assert.equal(r.code, 1, `${command} with Graph unreachable`);
    }
    assert.equal((await runCli(["validate", "-f", tokens])).code, 0);
    assert.equal((await runCli(["validate", "-f", join(dir, "missing.yaml")])).code, 1);
  });

  it("a plan with errors exits 1 and never claims 'no changes'", async () => {
    const { file: tokens } = workspace(1, () => "state: assigned, upn: nobody@contoso.com");
    const r = await runCli(["plan", "-f", tokens], clientEnv(emulator));
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stdout, /No changes/i);
    assert.match(r.stdout, /nothing can be applied until the errors below are fixed/i);
    const markdown = await runCli(["plan", "-f", tokens, "--format", "markdown"], clientEnv(emulator));
    assert.doesNotMatch(markdown.stdout, /No changes/i);
  });

  it("seeds import, list, export and assign: 0 on success, 1 on bad input", async () => {
    const csv = file("in.csv", `upn,serial number,secret key,time interval,manufacturer,model\n,EX1,${SECRET},30,Token2,C202\n`);
    const env = { ENTRA_TOKENS_SEED_PASSPHRASE: "a long enough passphrase" };
    const store = join(dir, "codes", "store.pskc");
    assert.equal((await runCli(["seeds", "import", csv, "--out", store], env)).code, 0);
    assert.equal((await runCli(["seeds", "import", csv, "--out", store], env)).code, 1, "exists, no --force");
    assert.equal((await runCli(["seeds", "list", store, "--input-passphrase-env", "ENTRA_TOKENS_SEED_PASSPHRASE"], env)).code, 0);
    assert.equal((await runCli(["seeds", "list", store], env)).code, 0, "the default variable opens the store it wrote");
    assert.equal((await runCli(["seeds", "list", store], {})).code, 1, "no passphrase at hand");
    const tokens = file("tokens.yaml", `version: 1\ndefaults: { manufacturer: Token2, model: C202 }\nseeds: [{ file: ${store}, passphraseEnv: ENTRA_TOKENS_SEED_PASSPHRASE }]\ntokens:\n  - { serial: EX1, state: available }\n`);
    assert.equal((await runCli(["seeds", "export", "-f", tokens, "--out", "-"], env)).code, 0);
    assert.equal((await runCli(["seeds", "export", "-f", tokens, "--out", "-"])).code, 1, "no passphrase");
    const users = file("users.txt", "adele.vance@contoso.com\n");
    assert.equal((await runCli(["assign", "--users", users, "-f", tokens, "--dry-run"])).code, 0);
    assert.equal((await runCli(["assign", "--users", join(dir, "none.txt"), "-f", tokens])).code, 1);
  });
});

describe("seed secret hygiene", function () {
  this.timeout(60_000);

  it("validate refuses a seed file that is not encrypted at rest, unless its entry opts in", async () => {
    const yaml = (entry: string) => file("tokens.yaml", `version: 1\ndefaults: { manufacturer: T, model: M }\nseeds:\n  - ${entry}\ntokens:\n  - { serial: A1, state: available }\n`);
    const plain = await runCli(["validate", "-f", yaml("{ file: vendor/order.csv }")]);
    assert.equal(plain.code, 1);
    assert.match(plain.stdout, /:4:5: error \[plaintext-seeds\] seed file "vendor\/order\.csv" is not encrypted at rest/);
    assert.match(plain.stdout, /fix: .*seeds import vendor\/order\.csv --out seeds\/<name>\.pskc.*allowPlaintext: true/);
    for (const entry of ["{ file: s.pskc, passphraseEnv: P }", "{ file: s.pskc, preSharedKeyEnv: K }", "{ file: o.zip, zipPasswordEnv: Z }", "{ file: o.csv.gpg, pgpKeyFile: k.asc, pgpPassphraseEnv: P }", "{ file: o.csv.gpg, pgpPasswordEnv: P }", "{ file: test.csv, allowPlaintext: true }"]) {
      const r = await runCli(["validate", "-f", yaml(entry)]);
      assert.equal(r.code, 0, `${entry}: ${r.stdout}`);
    }
  });

  it("the repository ignores portal exports and vendor deliveries, and keeps encrypted stores", function () {
    if (!existsSync(join(ROOT, ".git"))) this.skip();
    const ignored = (path: string) => {
      try {
        execFileSync("git", ["check-ignore", "-q", path], { cwd: ROOT });
        return true;
      } catch {
        return false;
      }
    };
    for (const path of ["upload.csv", "exports/upload.json", "vendor/token2-order-4711.zip", "deliveries/feitian.csv", "order.zip", "tenant.json"]) assert.ok(ignored(path), `${path} is not ignored`);
    for (const path of ["seeds/2026-11.pskc", "seeds/2026-11.csv.asc", "seeds/token2-order-4711.zip", "demo/seeds.pskc", "tokens.yaml"]) assert.ok(!ignored(path), `${path} is ignored`);
  });

  it("seeds import creates the output folder, and checks the output before decrypting anything", async () => {
    const out = join(dir, "fresh", "seeds", "2026-11.pskc");
    const env = { ENTRA_TOKENS_SEED_PASSPHRASE: DEMO_PASSPHRASE, IN_PASS: DEMO_PASSPHRASE };
    const imported = await runCli(["seeds", "import", join(ROOT, "demo", "seeds.pskc"), "--input-passphrase-env", "IN_PASS", "--out", out], env);
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    // The input would need a passphrase that is not set: the output is refused first, so nothing is decrypted.
    const exists = await runCli(["seeds", "import", join(ROOT, "demo", "seeds.pskc"), "--out", out], env);
    assert.equal(exists.code, 1);
    assert.match(exists.stderr, /exists; pass --force/);
    assert.doesNotMatch(exists.stderr, /passphrase|TOTP seeds/);
    const folder = await runCli(["seeds", "import", join(ROOT, "demo", "seeds.pskc"), "--out", dir], env);
    assert.match(folder.stderr, /is a folder/);
    const blocked = file("not-a-folder", "x");
    const unwritable = await runCli(["seeds", "import", join(ROOT, "demo", "seeds.pskc"), "--out", join(blocked, "s.pskc")], env);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /cannot write to the folder of .*choose another --out/);
    const noPassphrase = await runCli(["seeds", "import", join(ROOT, "demo", "seeds.pskc"), "--input-passphrase-env", "IN_PASS", "--out", join(dir, "x", "y.pskc")], { IN_PASS: DEMO_PASSPHRASE });
    assert.match(noPassphrase.stderr, /set the passphrase for the encrypted seed file in ENTRA_TOKENS_SEED_PASSPHRASE/);
    assert.doesNotMatch(noPassphrase.stderr, /TOTP seeds/, "refused before reading the input");
  });
});

describe("seeds subcommands speak of their own flags", function () {
  this.timeout(60_000);
  const env = { ENTRA_TOKENS_SEED_PASSPHRASE: "a long enough passphrase", PGP_PW: "pgp-password-123" };

  it("an input that needs a passphrase names --input-passphrase-env, not tokens.yaml fields", async () => {
    const r = await runCli(["seeds", "import", join(ROOT, "demo", "seeds.pskc"), "--out", join(dir, "o1.pskc")], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--input-passphrase-env/);
    assert.doesNotMatch(r.stderr, /seeds\[\]|tokens\.yaml/);
  });

  it("imports a symmetric OpenPGP file with --pgp-password-env", async () => {
    const csv = `upn,serial number,secret key,time interval,manufacturer,model\n,PG1,${SECRET},30,Token2,C202\n`;
    const armored = await openpgp.encrypt({ message: await openpgp.createMessage({ text: csv }), passwords: ["pgp-password-123"] });
    const input = file("order.csv.asc", String(armored));
    const missing = await runCli(["seeds", "import", input, "--out", join(dir, "o2.pskc")], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--pgp-password-env/);
    assert.doesNotMatch(missing.stderr, /seeds\[\]|pgpPasswordEnv/);
    const r = await runCli(["seeds", "import", input, "--pgp-password-env", "PGP_PW", "--out", join(dir, "o2.pskc")], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Wrote 1 seeds/);
  });

  it("reads a custom CSV with mapping flags and --delimiter, and hints at the delimiter of an Excel file", async () => {
    const semicolon = file("excel.csv", `Serial;Seed;Step\nCS1;${Buffer.from("0123456789abcdef0123").toString("hex")};60\n`);
    const undetected = await runCli(["seeds", "list", semicolon]);
    assert.equal(undetected.code, 1);
    assert.match(undetected.stderr, /the header looks ';'-separated: .*--delimiter ';'.*--csv-serial.*--csv-secret/);
    const wrongDelimiter = await runCli(["seeds", "list", semicolon, "--csv-serial", "Serial", "--csv-secret", "Seed", "--encoding", "hex"]);
    assert.equal(wrongDelimiter.code, 1);
    assert.match(wrongDelimiter.stderr, /no column named "Serial".*the header looks ';'-separated: set --delimiter to ';'/);
    const listed = await runCli(["seeds", "list", semicolon, "--csv-serial", "Serial", "--csv-secret", "2", "--csv-time-interval", "Step", "--encoding", "hex", "--delimiter", ";", "--format", "json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), { formatVersion: 1, seeds: [{ serial: "CS1", timeIntervalInSeconds: 60, hashFunction: null, manufacturer: null, model: null }] });
    const strayFlag = await runCli(["seeds", "list", semicolon, "--delimiter", ";"]);
    assert.equal(strayFlag.code, 1);
    assert.match(strayFlag.stderr, /--delimiter apply to a custom CSV: name its columns with --csv-serial and --csv-secret/);
  });

  it("seeds list shows serials and attributes, never a secret; from tokens.yaml by default, with no passphrase", async () => {
    const r = await runCli(["seeds", "list", "-f", join(ROOT, "tokens.yaml")], {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^serial\s+interval\s+hash\s+manufacturer\s+model$/m);
    assert.match(r.stdout, /^60234561\s+30s\s+hmacsha1\s+Token2\s+C202$/m);
    assert.match(r.stdout, /^7 seeds$/m);
    const exported = await runCli(["seeds", "export", "-f", join(ROOT, "tokens.yaml"), "--out", "-"], { ENTRA_TOKENS_SEED_PASSPHRASE: DEMO_PASSPHRASE });
    const secrets = exported.stdout.split(/\r?\n/).slice(1).filter(Boolean).map((line) => line.split(",")[2] ?? "");
    assert.equal(secrets.length, 7);
    for (const secret of secrets) assert.ok(secret.length >= 16 && !r.stdout.includes(secret), "a secret reached seeds list");
  });

  it("seeds list opens a store with the one default passphrase variable when it is set and no other is named", async () => {
    const store = join(ROOT, "demo", "seeds.pskc");
    const opened = await runCli(["seeds", "list", store], { ENTRA_TOKENS_SEED_PASSPHRASE: DEMO_PASSPHRASE });
    assert.equal(opened.code, 0, opened.stderr);
    assert.match(opened.stdout, /^7 seeds$/m);
    const unset = await runCli(["seeds", "list", store], {});
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /protected by a passphrase.*--input-passphrase-env/);
    const plain = mkdtempSync(join(tmpdir(), "entra-default-pass-"));
    writeFileSync(join(plain, "made-up.csv"), `serial number,secret key\nQ1,${encodeBase32(Buffer.from("made-up-seed-for-q1!"))}\n`);
    const csv = await runCli(["seeds", "list", join(plain, "made-up.csv")], {});
    assert.equal(csv.code, 0, "a file that needs no passphrase does not ask for the default variable");
  });

  it("seeds export writes to stdout only with --out -", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "entra-export-"));
    mkdirSync(join(cwd, "demo"));
    writeFileSync(join(cwd, "demo", "seeds.pskc"), readFileSync(join(ROOT, "demo", "seeds.pskc")));
    writeFileSync(join(cwd, "tokens.yaml"), readFileSync(join(ROOT, "tokens.yaml")));
    const env = { ENTRA_TOKENS_SEED_PASSPHRASE: DEMO_PASSPHRASE };
    const toStdout = await runCli(["seeds", "export", "-f", join(cwd, "tokens.yaml"), "--format", "entra-json", "--out", "-"], env);
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.equal(JSON.parse(toStdout.stdout).value.length, 7);
    const out = join(cwd, "exports", "upload.csv");
    const toFile = await runCli(["seeds", "export", "-f", join(cwd, "tokens.yaml"), "--out", out], env);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.doesNotMatch(toFile.stdout, /[A-Z2-7]{16,}/, "secrets only in the file");
    assert.equal(statSync(out).mode & 0o777, 0o600);
  });
});

describe("seeds are opened only when a step needs them", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(() => emulator.stop());

  it("plan and drift need no passphrase (the store's facts are in clear); apply that creates does", async () => {
    const tokens = join(ROOT, "tokens.yaml");
    const withPassphrase = { ...clientEnv(emulator), ENTRA_TOKENS_SEED_PASSPHRASE: DEMO_PASSPHRASE };
    const without = clientEnv(emulator);
    assert.ok(!("ENTRA_TOKENS_SEED_PASSPHRASE" in without));
    const creates = await runCli(["plan", "-f", tokens], without);
    assert.equal(creates.code, 2, creates.stderr);
    assert.doesNotMatch(creates.stderr, /ENTRA_TOKENS_SEED_PASSPHRASE/);
    const needs = await runCli(["apply", "--yes", "-f", tokens], without);
    assert.equal(needs.code, 1);
    assert.match(needs.stderr, /ENTRA_TOKENS_SEED_PASSPHRASE, which is not set/);
    const applied = await runCli(["apply", "--yes", "-f", tokens], withPassphrase);
    assert.equal(applied.code, 0, applied.stderr);
    const plan = await runCli(["plan", "-f", tokens], without);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /No changes: the tenant matches tokens\.yaml/);
    const drift = await runCli(["drift", "-f", tokens], without);
    assert.equal(drift.code, 0, drift.stderr);
    const apply = await runCli(["apply", "--yes", "-f", tokens], without);
    assert.equal(apply.code, 0, apply.stderr);
  });
});

describe("connection failures name the URL, the setting that chose it and the fix", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  before(async () => {
    emulator = await startHttpsEmulator();
  });
  after(() => emulator.stop());
  const tokens = () => workspace(1, () => "state: available").file;

  it("Graph refusing the connection fails at once, as a Graph failure, not a sign-in one", async () => {
    const url = `https://127.0.0.1:${await closedPort()}/beta`;
    const r = await runCli(["drift", "-f", tokens()], { ...clientEnv(emulator), ENTRA_TOKENS_GRAPH_URL: url });
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`cannot reach Graph at ${url}: connection refused (the URL comes from ENTRA_TOKENS_GRAPH_URL)`), r.stderr);
    assert.match(r.stderr, /Fix: check ENTRA_TOKENS_GRAPH_URL/);
    assert.doesNotMatch(r.stderr, /retrying|Entra did not issue a token|sign-in/i, "no retries of a refused connection, and no blame on sign-in");
    const flag = await runCli(["drift", "-f", tokens(), "--graph-url", url], clientEnv(emulator));
    assert.match(flag.stderr, /the URL comes from --graph-url/);
  });

  it("an unreachable sign-in host names AZURE_AUTHORITY_HOST", async () => {
    const host = `https://127.0.0.1:${await closedPort()}`;
    const r = await runCli(["plan", "-f", tokens()], { ...clientEnv(emulator), AZURE_AUTHORITY_HOST: host });
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`cannot reach the Entra sign-in endpoint at ${host}/${TENANT}/v2.0/.well-known/openid-configuration: connection refused (the URL comes from AZURE_AUTHORITY_HOST)`), r.stderr);
    assert.doesNotMatch(r.stderr, /endpoints_resolution_error/);
  });

  it("an unknown certificate authority names NODE_EXTRA_CA_CERTS", async () => {
    const r = await runCli(["plan", "-f", tokens()], { ...clientEnv(emulator), NODE_EXTRA_CA_CERTS: "" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`cannot reach the Entra sign-in endpoint at ${emulator.url.replace(/\./g, "\\.")}/.*certificate authority this machine does not trust.*Fix: set NODE_EXTRA_CA_CERTS`));
  });

  it("an unknown tenant names AZURE_TENANT_ID", async () => {
    const r = await runCli(["plan", "-f", tokens()], { ...clientEnv(emulator), AZURE_TENANT_ID: "99999999-2222-4333-8444-555555555555" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /AZURE_TENANT_ID/);
    assert.match(r.stderr, /99999999-2222-4333-8444-555555555555/);
    assert.doesNotMatch(r.stderr, /endpoints_resolution_error|\n\s+at /);
  });

  it("retry lines say what Graph answered, inside $batch too, counted against the 8 docs/graph-cost.md states", async () => {
    emulator.setFaults({ script: [{ route: "listUsers", count: 2, outcome: 503 }] });
    const { file: assigned } = workspace(1, () => "state: assigned, upn: adele.vance@contoso.com");
    const r = await runCli(["plan", "-f", assigned], clientEnv(emulator));
    emulator.setFaults({});
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Graph answered 1 × 503 inside a \$batch; retrying in \d+\.\d s \(retry 1 of 8\)/);
    assert.doesNotMatch(r.stderr, /answered 429/);
    assert.match(readFileSync(join(ROOT, "docs", "graph-cost.md"), "utf8"), /up to 8 times/);
  });
});
