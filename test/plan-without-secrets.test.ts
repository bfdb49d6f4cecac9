import assert from "node:assert/strict";
import { BlobWriter, TextReader, ZipWriter } from "@zip.js/zip.js";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { runCli } from "./support/cli.js";
import { clientEnv, startHttpsEmulator } from "./support/emulator.js";

// Issue 19: a pull request holds no seed secret, so plan, drift and validate open none. What they
// need of a seed (is it there, its interval and hash, has it changed) is in clear beside the
// ciphertext in the encrypted store; only apply opens (and checks) the seeds themselves.

const ROOT = join(__dirname, "..", "..");
const STORE_PASSPHRASE = "a long store passphrase for this test";

interface PlanJson {
  steps: { kind: string; serial: string }[];
  errors: { code: string; serial: string; message: string }[];
  warnings: { code: string; serial: string; message: string }[];
}

function demoCopy(edit: (yaml: string) => string = (yaml) => yaml): string {
  const dir = mkdtempSync(join(tmpdir(), "entra-nosecret-"));
  mkdirSync(join(dir, "demo"));
  writeFileSync(join(dir, "demo", "seeds.pskc"), readFileSync(join(ROOT, "demo", "seeds.pskc")));
  const file = join(dir, "tokens.yaml");
  writeFileSync(file, edit(readFileSync(join(ROOT, "tokens.yaml"), "utf8")));
  return file;
}

async function zip(name: string, content: string, password: string): Promise<Buffer> {
  const writer = new ZipWriter(new BlobWriter("application/zip"), { password, zipCrypto: false });
  await writer.add(name, new TextReader(content));
  return Buffer.from(await (await writer.close()).arrayBuffer());
}

const seedOf = (text: string) => encodeBase32(Buffer.from(text.padEnd(20, "#")));

describe("plan without secrets: the facts a plan needs are in clear beside the ciphertext", function () {
  this.timeout(180_000);
  let emulator: GraphEmulator;
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(() => emulator.stop());

  it("plan and drift of the demo tokens.yaml on an empty tenant, with no passphrase set, exit 2 and list every create and activation", async () => {
    const env = clientEnv(emulator);
    assert.ok(!("ENTRA_TOKENS_SEED_PASSPHRASE" in env));
    const tokens = join(ROOT, "tokens.yaml");
    const plan = await runCli(["plan", "-f", tokens, "--format", "json"], env);
    assert.equal(plan.code, 2, plan.stderr);
    const json = JSON.parse(plan.stdout) as PlanJson;
    const kinds = (kind: string) => json.steps.filter((s) => s.kind === kind).map((s) => s.serial);
    assert.deepEqual(kinds("create"), ["60234561", "60234562", "60234563", "60234564", "60234565", "60234566", "FT-0001"]);
    assert.deepEqual(kinds("activate"), ["60234561", "60234562", "FT-0001"]);
    assert.deepEqual(json.errors, []);
    assert.deepEqual(json.warnings.filter((w) => w.code.startsWith("seed")), [], "the store's facts were read: nothing left unchecked");
    const text = await runCli(["plan", "-f", tokens], env);
    assert.equal(text.code, 2, text.stderr);
    assert.doesNotMatch(`${text.stdout}${text.stderr}`, /not set|not opened|passphrase/i);
    const drift = await runCli(["drift", "-f", tokens], env);
    assert.equal(drift.code, 2, drift.stderr);
  });

  it("checks a token's interval against its encrypted seed file with no passphrase (plan and validate)", async () => {
    const file = demoCopy((yaml) => yaml.replace('  - serial: "60234565"\n    state: available', '  - serial: "60234565"\n    state: available\n    timeIntervalInSeconds: 60'));
    const plan = await runCli(["plan", "-f", file, "--format", "json"], clientEnv(emulator));
    assert.equal(plan.code, 1, plan.stderr);
    const json = JSON.parse(plan.stdout) as PlanJson;
    assert.deepEqual(
      json.errors.map((e) => [e.code, e.serial]),
      [["seed-mismatch", "60234565"]],
    );
    assert.match(json.errors[0]!.message, /timeIntervalInSeconds is 60 in .*tokens\.yaml:\d+ but 30 in the seed file \S*demo\/seeds\.pskc;/);
    assert.equal(json.steps.filter((s) => s.kind === "create").length, 6, "every other token is still planned");
    const validate = await runCli(["validate", "-f", file], {});
    assert.equal(validate.code, 1, validate.stderr);
    assert.match(validate.stdout, /seed-mismatch/);
    assert.doesNotMatch(`${validate.stdout}${validate.stderr}`, /not checked/);
  });

  it("a delivery that needs its secret is named per token, every other step still shows; apply opens it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "entra-nosecret-zip-"));
    const csv = ["serial number,secret key,time interval,manufacturer,model", `Z1,${seedOf("zipped-one")},30,Token2,C202`, `Z2,${seedOf("zipped-two")},30,Token2,C202`].join("\n");
    writeFileSync(join(dir, "vendor.zip"), await zip("seeds.csv", `${csv}\n`, "zip-password-123"));
    writeFileSync(join(dir, "plain.csv"), `serial number,secret key\nP1,${seedOf("plain-one")}\n`);
    writeFileSync(
      join(dir, "tokens.yaml"),
      [
        "version: 1",
        "defaults: { manufacturer: Token2, model: C202 }",
        "seeds:",
        "  - { file: vendor.zip, zipPasswordEnv: VENDOR_ZIP_PASSWORD }",
        "  - { file: plain.csv, allowPlaintext: true }",
        "tokens:",
        '  - { serial: "Z1", state: available }',
        '  - { serial: "Z2", state: activated, upn: adele.vance@contoso.com }',
        '  - { serial: "P1", state: available }',
        "",
      ].join("\n"),
    );
    const file = join(dir, "tokens.yaml");
    // Even with the password at hand: plan opens no secret.
    for (const env of [clientEnv(emulator), { ...clientEnv(emulator), VENDOR_ZIP_PASSWORD: "zip-password-123" }]) {
      const plan = await runCli(["plan", "-f", file, "--format", "json"], env);
      assert.equal(plan.code, 2, plan.stderr);
      const json = JSON.parse(plan.stdout) as PlanJson;
      assert.deepEqual(json.errors, []);
      assert.deepEqual(json.steps.map((s) => `${s.kind} ${s.serial}`), ["create Z1", "create Z2", "create P1", "activate Z2"]);
      const unchecked = json.warnings.filter((w) => w.code === "seed-unchecked");
      assert.deepEqual(unchecked.map((w) => w.serial), ["Z1", "Z2"], "P1's seed was read: only the zipped tokens are unchecked");
      for (const warning of unchecked) assert.match(warning.message, /vendor\.zip cannot be read without its secret/);
    }
    const text = await runCli(["plan", "-f", file], clientEnv(emulator));
    assert.match(text.stdout, /Z1 {2}\[seed-unchecked\] .*was not checked/);
    const noPassword = await runCli(["apply", "--yes", "-f", file], clientEnv(emulator));
    assert.equal(noPassword.code, 1);
    assert.match(noPassword.stderr, /VENDOR_ZIP_PASSWORD, which is not set/);
    const applied = await runCli(["apply", "--yes", "-f", file], { ...clientEnv(emulator), VENDOR_ZIP_PASSWORD: "zip-password-123" });
    assert.equal(applied.code, 0, applied.stderr);
  });

  it("seeds import writes each seed's fingerprint in clear; a ciphertext moved to another serial is refused by apply", async () => {
    const dir = mkdtempSync(join(tmpdir(), "entra-nosecret-store-"));
    const secrets = { S1: seedOf("store-one"), S2: seedOf("store-two"), WEAK: encodeBase32(Buffer.from("short-seed")) };
    writeFileSync(join(dir, "vendor.csv"), `serial number,secret key\n${Object.entries(secrets).map(([serial, secret]) => `${serial},${secret}`).join("\n")}\n`);
    const env = { ...clientEnv(emulator), STORE_PASSPHRASE };
    const imported = await runCli(["seeds", "import", join(dir, "vendor.csv"), "--out", join(dir, "store.pskc"), "--passphrase-env", "STORE_PASSPHRASE"], env);
    assert.equal(imported.code, 0, imported.stderr);
    const store = readFileSync(join(dir, "store.pskc"), "utf8");
    const fingerprints = [...store.matchAll(/<et:SeedFingerprint[^>]*>([0-9a-f]{64})</g)].map((m) => m[1]);
    assert.equal(fingerprints.length, 2, "S1 and S2 are fingerprinted; a seed under 128 bits gets none (RFC 4226 R6)");
    for (const secret of Object.values(secrets)) assert.ok(!store.includes(secret), "no seed in clear");
    writeFileSync(
      join(dir, "tokens.yaml"),
      ["version: 1", "defaults: { manufacturer: Token2, model: C202 }", "seeds: [{ file: store.pskc, passphraseEnv: STORE_PASSPHRASE }]", "tokens:", '  - { serial: "S1", state: available }', '  - { serial: "S2", state: available }', ""].join("\n"),
    );
    const file = join(dir, "tokens.yaml");
    // The two seeds' ciphertexts and MACs swap places: each MAC still verifies, the fingerprints do not.
    const secretsXml = [...store.matchAll(/<pskc:Secret>.*?<\/pskc:Secret>/g)].map((m) => m[0]);
    assert.equal(secretsXml.length, 3);
    const swapped = store.replace(secretsXml[0]!, "\u0000").replace(secretsXml[1]!, secretsXml[0]!).replace("\u0000", secretsXml[1]!);
    writeFileSync(join(dir, "store.pskc"), swapped);
    const plan = await runCli(["plan", "-f", file], clientEnv(emulator));
    assert.equal(plan.code, 2, plan.stderr);
    const apply = await runCli(["apply", "--yes", "-f", file], env);
    assert.equal(apply.code, 1);
    assert.match(apply.stderr, /S1.*does not match the fingerprint stored beside it.*\[seed-fingerprint-mismatch\]/);
    assert.equal((await runCli(["drift", "-f", file], clientEnv(emulator))).code, 2, "nothing was created");
    writeFileSync(join(dir, "store.pskc"), store);
    const restored = await runCli(["apply", "--yes", "-f", file], env);
    assert.equal(restored.code, 0, restored.stderr);
  });
});
