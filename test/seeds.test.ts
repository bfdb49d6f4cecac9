import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { BlobWriter, TextReader, ZipWriter } from "@zip.js/zip.js";
import * as openpgp from "openpgp";
import { parseUsersFile } from "../provider/desired/assign.js";
import { assignFromPool } from "../provider/desired/lifecycle.js";
import { SeedFileError } from "../provider/seeds/errors.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { seedFingerprint } from "../provider/seeds/fingerprint.js";
import { readPskc, readPskcFacts, writePskc } from "../provider/seeds/pskc.js";
import { readSeedFile } from "../provider/seeds/read.js";
import { Secret } from "../provider/seeds/secret.js";
import { runCli } from "./support/cli.js";

const FIXTURES = join(__dirname, "..", "..", "test", "fixtures", "pskc");
const RFC_SECRET = "12345678901234567890";
const dir = mkdtempSync(join(tmpdir(), "entra-seeds-"));
let counter = 0;
const file = (name: string, content: string | Uint8Array) => {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
};
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const PSK = Buffer.from("12345678901234567890123456789012", "hex");

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<SeedFileError> {
  try {
    await promise;
  } catch (error: unknown) {
    assert.ok(error instanceof SeedFileError, `expected a SeedFileError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.match(error.message, /Fix: /);
    return error;
  }
  assert.fail("expected a rejection");
}

/** A TOTP variant of the RFC documents, as a vendor of TOTP tokens ships it. */
function totpPskc(secret: Buffer, extra = ""): string {
  return `<?xml version="1.0"?><KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage><DeviceInfo><Manufacturer>Token2</Manufacturer><SerialNo>TK-1</SerialNo><Model>C202</Model></DeviceInfo><Key Id="k1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp"><AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters><Data><Secret><PlainValue>${secret.toString("base64")}</PlainValue></Secret><TimeInterval><PlainValue>60</PlainValue></TimeInterval></Data></Key></KeyPackage>${extra}</KeyContainer>`;
}

describe("seed files", () => {
  describe("RFC 6030 example documents", () => {
    it("reads the published secret from the plain, pre-shared-key and PBKDF2 examples", () => {
      assert.equal(readPskc(fixture("rfc6030-figure2.xml"), "figure2", {})[0]?.secret.toString(), RFC_SECRET);
      const psk = readPskc(fixture("rfc6030-figure6.xml"), "figure6", { preSharedKey: PSK })[0];
      assert.deepEqual([psk?.serial, psk?.secret.toString(), psk?.digits], ["987654321", RFC_SECRET, 8]);
      assert.equal(readPskc(fixture("rfc6030-figure7.xml"), "figure7", { passphrase: "qwerty" })[0]?.secret.toString(), RFC_SECRET);
    });

    it("refuses them as seeds: they are HOTP tokens, which Entra does not take", async () => {
      await rejects(readSeedFile({ path: join(FIXTURES, "rfc6030-figure2.xml") }), /counter-based \(HOTP\)/);
    });

    it("gives clear errors for a wrong key, a wrong passphrase and a missing one", () => {
      assert.throws(() => readPskc(fixture("rfc6030-figure6.xml"), "f6", { preSharedKey: Buffer.alloc(16, 7) }), /wrong|bad MAC/);
      assert.throws(() => readPskc(fixture("rfc6030-figure7.xml"), "f7", { passphrase: "azerty" }), /wrong|bad MAC/);
      assert.throws(() => readPskc(fixture("rfc6030-figure7.xml"), "f7", {}), /protected by a passphrase/);
    });

    it("detects tampering through the MAC", () => {
      const tampered = fixture("rfc6030-figure6.xml").replace("AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv", "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGw");
      assert.throws(() => readPskc(tampered, "f6", { preSharedKey: PSK }), /bad MAC/);
      const truncated = fixture("rfc6030-figure6.xml").replace("AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv", "AAECAwQFBgcICQoL");
      assert.throws(() => readPskc(truncated, "f6", { preSharedKey: PSK }), /bad MAC|truncated/);
      assert.throws(() => readPskc(fixture("rfc6030-figure6.xml").slice(0, 900), "cut", { preSharedKey: PSK }), SeedFileError);
    });

    it("reads the fingerprint the files we write carry, and refuses one that is not a SHA-256", async () => {
      const secret = Buffer.from("a seed of twenty byte");
      const fingerprint = seedFingerprint("FP-1", encodeBase32(secret));
      const written = writePskc([{ serial: "FP-1", secret, timeInterval: 30, suite: "HMAC-SHA1", fingerprint }], "a passphrase for this test", 1000);
      assert.deepEqual(readPskcFacts(written, "store.pskc").map((k) => k.fingerprint), [fingerprint]);
      const [seed] = await readSeedFile({ path: file("fp.pskc", written), passphraseEnv: "FP_PASS" }, { FP_PASS: "a passphrase for this test" });
      assert.equal(seed?.serial, "FP-1");
      const altered = written.replace(fingerprint, "not-a-fingerprint");
      assert.throws(() => readPskcFacts(altered, "store.pskc"), /the seed fingerprint is not 64 hex digits.*\[pskc-fingerprint\]/);
    });

    it("refuses XML entity tricks before parsing", () => {
      const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><KeyContainer>&lol2;</KeyContainer>`;
      assert.throws(() => readPskc(bomb, "bomb", {}), /DOCTYPE or ENTITY/);
      const xxe = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><KeyContainer>&e;</KeyContainer>`;
      assert.throws(() => readPskc(xxe, "xxe", {}), /DOCTYPE or ENTITY/);
    });
  });

  describe("readers", () => {
    it("imports TOTP PSKC with interval, maker and model", async () => {
      const [seed] = await readSeedFile({ path: file("t.pskc", totpPskc(Buffer.from(RFC_SECRET))) });
      assert.equal(seed?.secret.reveal(), encodeBase32(Buffer.from(RFC_SECRET)));
      assert.deepEqual([seed?.serial, seed?.timeIntervalInSeconds, seed?.manufacturer, seed?.model], ["TK-1", 60, "Token2", "C202"]);
    });

    it("imports Entra CSV with or without upn, normalising secrets", async () => {
      const withUpn = await readSeedFile({ path: file("a.csv", "upn,serial number,secret key,time interval,manufacturer,model\r\nalice@contoso.com,S1,jbsw y3dp ehpk 3pxp==,30,Token2,C202\r\n") });
      assert.deepEqual([withUpn[0]?.serial, withUpn[0]?.secret.reveal(), withUpn[0]?.upn], ["S1", "JBSWY3DPEHPK3PXP", "alice@contoso.com"]);
      const noUpn = await readSeedFile({ path: file("b.csv", "serial number,secret key,time interval,manufacturer,model\nS2,JBSWY3DPEHPK3PXP,60,Token2,C202\n") });
      assert.equal(noUpn[0]?.timeIntervalInSeconds, 60);
    });

    it("rejects what Graph would, naming serial and row but never the secret", async () => {
      const bad = "serial number,secret key\nS1,JBSWY3DPEHPK3PXP\nS2,JBSWY8DPEHPK3PXP\n";
      const error = await rejects(readSeedFile({ path: file("bad.csv", bad) }), /row 3 \(serial S2\): invalid base32 encoding due to illegal character 8/);
      assert.ok(!error.message.includes("JBSWY8DPEHPK3PXP"));
      await rejects(readSeedFile({ path: file("long.csv", `serial number,secret key\nS1,${"A".repeat(129)}\n`) }), /at most 128/);
    });

    it("imports the Graph bulk body and a plain JSON array", async () => {
      const body = { "@context": "#$delta", value: [{ serialNumber: "J1", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: "30", manufacturer: "Feitian", model: "c200", hashFunction: "hmacsha256" }] };
      const [seed] = await readSeedFile({ path: file("j.json", JSON.stringify(body)) });
      assert.deepEqual([seed?.serial, seed?.hashFunction, seed?.manufacturer], ["J1", "hmacsha256", "Feitian"]);
      assert.equal((await readSeedFile({ path: file("a.json", JSON.stringify(body.value)) })).length, 1);
    });

    it("imports a custom CSV with hex or base64 secrets, with or without a header", async () => {
      const hex = Buffer.from(RFC_SECRET).toString("hex");
      const [a] = await readSeedFile({ path: file("c.csv", `sn;seed;step\nC1;${hex};30\n`), format: "custom-csv", csv: { serial: "sn", secret: "seed", timeInterval: "step", encoding: "hex", delimiter: ";" } });
      assert.equal(a?.secret.reveal(), encodeBase32(Buffer.from(RFC_SECRET)));
      const [b] = await readSeedFile({ path: file("d.csv", `C2,${Buffer.from(RFC_SECRET).toString("base64")}\n`), format: "custom-csv", csv: { serial: 1, secret: 2, header: false, encoding: "base64" } });
      assert.equal(b?.secret.reveal(), encodeBase32(Buffer.from(RFC_SECRET)));
      await rejects(readSeedFile({ path: file("e.csv", "sn,seed,counter\nC3,ABCD,5\n"), format: "custom-csv", csv: { serial: "sn", secret: "seed", counter: "counter", encoding: "hex" } }), /HOTP/);
    });

    it("refuses huge files and unknown formats clearly", async () => {
      const huge = file("huge.csv", "");
      truncateSync(huge, 51 * 1024 * 1024);
      await rejects(readSeedFile({ path: huge }), /51 MiB/);
      await rejects(readSeedFile({ path: file("x.txt", "hello") }), /format is not recognised/);
      await rejects(readSeedFile({ path: join(dir, "missing.csv") }), /missing\.csv: the file does not exist\. Fix: check the path .*\[seed-missing\]/);
    });
  });

  describe("wrappers", () => {
    const csv = "serial number,secret key\nZ1,JBSWY3DPEHPK3PXP\n";
    async function zip(entries: [string, string][], password?: string): Promise<Buffer> {
      const writer = new ZipWriter(new BlobWriter("application/zip"), password ? { password, zipCrypto: false } : {});
      for (const [name, content] of entries) await writer.add(name, new TextReader(content));
      return Buffer.from(await (await writer.close()).arrayBuffer());
    }

    it("opens a password-protected zip, and says when the password is missing or wrong", async () => {
      const path = file("seeds.zip", await zip([["seeds.csv", csv]], "zip-pass-123"));
      const seeds = await readSeedFile({ path, zipPasswordEnv: "ZIP_PW" }, { ZIP_PW: "zip-pass-123" });
      assert.equal(seeds[0]?.serial, "Z1");
      await rejects(readSeedFile({ path }, {}), /password-protected/);
      await rejects(readSeedFile({ path, zipPasswordEnv: "ZIP_PW" }, { ZIP_PW: "wrong" }), /password is wrong/);
      await rejects(readSeedFile({ path, zipPasswordEnv: "ZIP_PW" }, {}), /ZIP_PW, which is not set/);
    });

    it("refuses zip bombs and zip-slip paths", async () => {
      const bomb = file("bomb.zip", await zip([["big.csv", "0".repeat(25 * 1024 * 1024)]]));
      assert.ok(statSync(bomb).size < 1024 * 1024);
      await rejects(readSeedFile({ path: bomb }), /zip bomb/);
      const slip = file("slip.zip", await zip([["../../etc/evil.csv", csv]]));
      await rejects(readSeedFile({ path: slip }), /points outside the archive/);
    });

    it("decrypts OpenPGP with a private key and passphrase, and refuses the wrong key", async () => {
      const { privateKey, publicKey } = await openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs: [{ name: "Seeds", email: "seeds@contoso.com" }], passphrase: "pgp-pass-456", format: "armored" });
      const encrypted = await openpgp.encrypt({ message: await openpgp.createMessage({ binary: await zip([["s.csv", csv]]) }), encryptionKeys: await openpgp.readKey({ armoredKey: publicKey }) });
      const path = file("seeds.zip.asc", encrypted);
      const keyFile = file("key.asc", privateKey);
      const seeds = await readSeedFile({ path, pgpKeyFile: keyFile, pgpPassphraseEnv: "PGP_PW" }, { PGP_PW: "pgp-pass-456" });
      assert.equal(seeds[0]?.serial, "Z1");
      await rejects(readSeedFile({ path, pgpKeyFile: keyFile, pgpPassphraseEnv: "PGP_PW" }, { PGP_PW: "nope" }), /cannot unlock/);
      await rejects(readSeedFile({ path }, {}), /OpenPGP-encrypted/);
      const other = await openpgp.generateKey({ type: "ecc", curve: "curve25519Legacy", userIDs: [{ name: "Other" }], format: "armored" });
      await rejects(readSeedFile({ path, pgpKeyFile: file("other.asc", other.privateKey) }, {}), /cannot decrypt/);
    });
  });

  it("never shows a secret when printed, logged or serialised", () => {
    const secret = new Secret("JBSWY3DPEHPK3PXP");
    assert.equal(`${secret}`, "[secret]");
    assert.equal(JSON.stringify({ secret }), '{"secret":"[secret]"}');
    assert.equal(inspect({ secret }), "{ secret: [secret] }");
  });

  describe("CLI", () => {
    const secrets = ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"];
    const vendorCsv = `serial number,secret key,time interval,manufacturer,model\nV1,${secrets[0]},30,Token2,C202\nV2,${secrets[1]},60,Token2,C202\n`;
    const env = { ENTRA_TOKENS_SEED_PASSPHRASE: "correct horse battery staple" };

    it("round-trips: import to an encrypted PSKC store, read back every secret, export for Entra", async () => {
      const store = join(dir, "store.pskc");
      const imported = await runCli(["seeds", "import", file("vendor.csv", vendorCsv), "--out", store], env);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /Wrote 2 seeds/);
      const stored = readFileSync(store, "utf8");
      for (const s of secrets) assert.ok(!stored.includes(s), "the store is encrypted");
      assert.equal(statSync(store).mode & 0o777, 0o600);
      const back = await readSeedFile({ path: store, passphraseEnv: "P" }, { P: env.ENTRA_TOKENS_SEED_PASSPHRASE });
      assert.deepEqual(back.map((s) => [s.serial, s.secret.reveal(), s.timeIntervalInSeconds]), [["V1", secrets[0], 30], ["V2", secrets[1], 60]]);
      await rejects(readSeedFile({ path: store, passphraseEnv: "P" }, { P: "wrong passphrase!!" }), /wrong|bad MAC/);

      const tokens = file("tokens.yaml", `version: 1\ndefaults: { manufacturer: Token2, model: "=HYPERLINK(1)" }\nseeds: [{ file: ${store}, passphraseEnv: ENTRA_TOKENS_SEED_PASSPHRASE }]\ntokens:\n  - { serial: V1, state: assigned, upn: alice@contoso.com }\n  - { serial: V2, state: available }\n`);
      const out = join(dir, "upload.csv");
      const exported = await runCli(["seeds", "export", "--file", tokens, "--out", out], env);
      assert.equal(exported.code, 0, exported.stderr);
      const csv = readFileSync(out, "utf8");
      assert.match(csv, /^upn,serial number,secret key,time interval,manufacturer,model\r\nalice@contoso\.com,V1,GEZDGNBV/);
      assert.match(csv, /,'=HYPERLINK\(1\)\r\n/, "formula cells are neutralised");
      const json = join(dir, "upload.json");
      assert.equal((await runCli(["seeds", "export", "--file", tokens, "--format", "entra-json", "--out", json], env)).code, 0);
      assert.equal(JSON.parse(readFileSync(json, "utf8")).value[1].secretKey, secrets[1]);
      for (const r of [imported, exported]) for (const s of secrets) assert.ok(!(r.stdout + r.stderr).includes(s), "no secret on the terminal");
    });

    it("refuses to import without a passphrase, or with a short one", async () => {
      const r = await runCli(["seeds", "import", file("v.csv", vendorCsv), "--out", join(dir, "x.pskc")]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ENTRA_TOKENS_SEED_PASSPHRASE/);
      const short = await runCli(["seeds", "import", file("v.csv", vendorCsv), "--out", join(dir, "y.pskc")], { ENTRA_TOKENS_SEED_PASSPHRASE: "short" });
      assert.match(short.stderr, /shorter than 12/);
    });
  });

  describe("assign --users", () => {
    const yaml = [
      "# yaml-language-server: $schema=./schemas/tokens.schema.json",
      "version: 1",
      "defaults: { manufacturer: Token2, model: C202 }",
      "tokens:",
      "  # the pool",
      '  - serial: "P1"',
      "    state: available",
      '  - serial: "P2"   # spare',
      "    state: available",
      "  - { serial: P3, state: assigned, upn: carol@contoso.com }",
      "",
    ].join("\n");

    it("gives each user a free serial, keeping comments, and skips users who hold one", () => {
      const users = parseUsersFile("# enrolment\nalice@contoso.com,Alice Example\ncarol@contoso.com\n", "users.txt");
      const result = assignFromPool(yaml, "tokens.yaml", users, "assigned");
      assert.deepEqual(result.assigned, [{ serial: "P1", upn: "alice@contoso.com" }]);
      assert.deepEqual(result.skipped.map((s) => s.upn), ["carol@contoso.com"]);
      assert.match(result.text, /# the pool/);
      assert.match(result.text, /\n  - serial: "P2"   # spare\n/, "a trailing comment stays where it was written");
      assert.match(result.text, /serial: "P1"\n {4}state: assigned\n {4}upn: alice@contoso.com\n {4}displayName: Alice Example/);
    });

    it("changes nothing when the pool is too small or the list is wrong", async () => {
      const users = parseUsersFile("a@contoso.com\nb@contoso.com\nc@contoso.com\n", "u.txt");
      assert.throws(() => assignFromPool(yaml, "tokens.yaml", users, "assigned"), /pool has 2 available tokens for 3 users/);
      assert.throws(() => parseUsersFile("alice at contoso\n", "u.txt"), /u\.txt:1: "alice at contoso" is not a user principal name/);
      const tokens = file("tokens.yaml", yaml);
      const r = await runCli(["assign", "--users", file("u.txt", "a@contoso.com\nb@contoso.com\nc@contoso.com\n"), "--file", tokens]);
      assert.equal(r.code, 1);
      assert.equal(readFileSync(tokens, "utf8"), yaml);
      const ok = await runCli(["assign", "--users", file("u.txt", "dave@contoso.com\n"), "--file", tokens]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(readFileSync(tokens, "utf8"), /upn: dave@contoso.com/);
    });
  });
});
