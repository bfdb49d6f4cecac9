import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { createCipheriv, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobWriter, Uint8ArrayReader, ZipWriter } from "@zip.js/zip.js";
import * as openpgp from "openpgp";
import type { DiagnosticCode } from "../provider/desired/diagnostics.js";
import { loadDesired, parseDesired } from "../provider/desired/load.js";
import type { SeedFileRef } from "../provider/model/index.js";
import { SeedFileError, type SeedErrorCode } from "../provider/seeds/errors.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { readSeedFile } from "../provider/seeds/read.js";
import { runCli } from "./support/cli.js";
import type { WorstCase, WorstOutcome } from "./support/hostile-worst.js";

// Hostile input, file by file and format by format: every case must end in a clean refusal with
// its own code, a position or file name, a fix, no stack trace and no secret. The worst cases run
// again in a child process with a small heap, to prove memory stays bounded.

const dir = mkdtempSync(join(tmpdir(), "entra-hostile-"));
let counter = 0;
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, `${++counter}-${name}`);
  writeFileSync(path, content);
  return path;
}

/** Seeds used across the cases; none may ever appear in an error. */
const SEED = Buffer.from("hostile-seed-bytes-20");
const SEED_B32 = encodeBase32(SEED);
const SECRETS = [SEED_B32, SEED.toString("base64"), SEED.toString("hex"), "zip-pass-hostile", "pgp-pass-hostile", "pskc-passphrase-hostile"];
const UNSAFE_OUTPUT = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/u;

function assertClean(text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), "no secret in the output");
  assert.ok(!UNSAFE_OUTPUT.test(text), `no raw control or invisible character in the output: ${JSON.stringify(text)}`);
  assert.ok(!/\n\s+at [\w.<]+ \(/.test(text), "no stack trace");
}

async function refusesSeed(ref: SeedFileRef, code: SeedErrorCode, env: Record<string, string> = {}): Promise<SeedFileError> {
  let caught: unknown;
  try {
    await readSeedFile(ref, env);
  } catch (error: unknown) {
    caught = error;
  }
  assert.ok(caught instanceof SeedFileError, `expected a SeedFileError ${code}, got ${caught === undefined ? "success" : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, /\. Fix: .+\[[a-z0-9-]+\]$/s);
  assertClean(caught.message);
  return caught;
}

function refusesYaml(text: string, code: DiagnosticCode, line?: number, column?: number) {
  const result = parseDesired(text, "tokens.yaml");
  assert.ok(!result.ok, `expected ${code}`);
  const first = result.diagnostics[0]!;
  assert.equal(first.code, code, JSON.stringify(result.diagnostics));
  if (line !== undefined) assert.equal(first.line, line, JSON.stringify(first));
  if (column !== undefined) assert.equal(first.column, column, JSON.stringify(first));
  assert.ok(first.fix.length > 10);
  assertClean(`${first.message} ${first.value ?? ""} ${first.fix}`);
  return first;
}

const HEAD = "version: 1\ndefaults: { manufacturer: Token2, model: C202 }\ntokens:\n";
const token = (fields: string) => `${HEAD}  - ${fields}\n`;

// ---- seed file builders ---------------------------------------------------------------------

async function zip(entries: [string, string | Uint8Array][], password?: string): Promise<Buffer> {
  const writer = new ZipWriter(new BlobWriter("application/zip"), password ? { password, zipCrypto: false } : {});
  for (const [name, content] of entries) await writer.add(name, new Uint8ArrayReader(typeof content === "string" ? Buffer.from(content) : content));
  return Buffer.from(await (await writer.close()).arrayBuffer());
}

async function pgp(data: Uint8Array, password = "pgp-pass-hostile"): Promise<Buffer> {
  const encrypted = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: data }),
    passwords: [password],
    format: "binary",
    config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib },
  });
  return Buffer.from(encrypted);
}

const CSV = `serial number,secret key\nH1,${SEED_B32}\n`;
const TOTP = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
const AES = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
const HMAC = "http://www.w3.org/2000/09/xmldsig#hmac-sha1";
const PSK = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");

function keyPackage(serial: string, secret: string): string {
  return `<KeyPackage><DeviceInfo><Manufacturer>Token2</Manufacturer><SerialNo>${serial}</SerialNo></DeviceInfo><Key Id="k" Algorithm="${TOTP}"><Data><Secret>${secret}</Secret></Data></Key></KeyPackage>`;
}
function container(body: string, head = ""): string {
  return `<?xml version="1.0"?><KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">${head}${body}</KeyContainer>`;
}
const plainPskc = (value: string, serial = "P1") => container(keyPackage(serial, `<PlainValue>${value}</PlainValue>`));

function encryptedValue(key: Buffer, plain: Buffer): Buffer {
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-128-cbc", key, iv);
  return Buffer.concat([iv, cipher.update(plain), cipher.final()]);
}
/** A pre-shared-key PSKC file; `mac` decides what ValueMAC the secret carries. */
function pskPskc(mac: (cipherValue: Buffer) => string | undefined, options: { macMethod?: boolean; cipherText?: string } = {}): string {
  const cipherValue = encryptedValue(PSK, SEED);
  const macValue = mac(cipherValue);
  const head = `<EncryptionKey><ds:KeyName xmlns:ds="http://www.w3.org/2000/09/xmldsig#">Pre-shared-key</ds:KeyName></EncryptionKey>${options.macMethod === false ? "" : `<MACMethod Algorithm="${HMAC}"/>`}`;
  const secret = `<EncryptedValue><EncryptionMethod Algorithm="${AES}"/><CipherData><CipherValue>${options.cipherText ?? cipherValue.toString("base64")}</CipherValue></CipherData></EncryptedValue>${macValue === undefined ? "" : `<ValueMAC>${macValue}</ValueMAC>`}`;
  return container(keyPackage("K1", secret), head);
}
const goodMac = (cipherValue: Buffer) => createHmac("sha1", PSK).update(cipherValue).digest("base64");
const flipIvBit = (xml: string) => {
  const value = /<CipherValue>([^<]+)<\/CipherValue>/.exec(xml)![1]!;
  const bytes = Buffer.from(value, "base64");
  bytes[0] = bytes[0]! ^ 0x01;
  return xml.replace(value, bytes.toString("base64"));
};

/** A PBKDF2 (passphrase) PSKC file with `iterations`, whose secret carries a valid MAC unless told. */
function pbkdf2Pskc(iterations: number, options: { salt?: string; withMac?: boolean } = {}): string {
  const salt = Buffer.from("0123456789abcdef");
  const key = pbkdf2Sync("pskc-passphrase-hostile", salt, iterations, 16, "sha1");
  const macKey = randomBytes(20);
  const cipherValue = encryptedValue(key, SEED);
  const enc = (value: Buffer) => `<EncryptionMethod Algorithm="${AES}"/><CipherData><CipherValue>${value.toString("base64")}</CipherValue></CipherData>`;
  const head =
    `<EncryptionKey><DerivedKey><KeyDerivationMethod Algorithm="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"><PBKDF2-params>` +
    `<Salt><Specified>${options.salt ?? salt.toString("base64")}</Specified></Salt><IterationCount>${iterations}</IterationCount><KeyLength>16</KeyLength>` +
    `</PBKDF2-params></KeyDerivationMethod></DerivedKey></EncryptionKey><MACMethod Algorithm="${HMAC}"><MACKey>${enc(encryptedValue(key, macKey))}</MACKey></MACMethod>`;
  const mac = options.withMac === false ? "" : `<ValueMAC>${createHmac("sha1", macKey).update(cipherValue).digest("base64")}</ValueMAC>`;
  return container(keyPackage("D1", `<EncryptedValue>${enc(cipherValue)}</EncryptedValue>${mac}`), head);
}
const PASSPHRASE_ENV = { P: "pskc-passphrase-hostile" };

/** A zip whose one entry (`size` zeros) claims, in both of its headers, to hold 100 bytes. */
async function lyingZip(size: number): Promise<Buffer> {
  const bytes = await zip([["seeds.json", new Uint8Array(size)]]);
  bytes.writeUInt32LE(100, 22);
  bytes.writeUInt32LE(100, bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 24);
  return bytes;
}

/** An inner zip holding a valid seed file padded to `size` bytes with spaces: tiny on disk, large unpacked. */
async function paddedZip(size: number): Promise<Buffer> {
  const json = JSON.stringify([{ serialNumber: "H1", secretKey: SEED_B32 }]);
  return zip([["seeds.json", `${json}${" ".repeat(size - json.length)}`]]);
}

describe("hostile input is refused cleanly", function () {
  this.timeout(60_000);

  describe("tokens.yaml: characters a reviewer cannot see", () => {
    it("a zero-width space in a UPN", () => refusesYaml(token("{ serial: S1, state: assigned, upn: ali\u200Bce@contoso.com }"), "invisible-character", 4));
    it("a right-to-left override in a UPN", () => refusesYaml(token("{ serial: S1, state: assigned, upn: \u202Emoc.osotnoc@ecila }"), "bidi-control", 4));
    it("a Cyrillic look-alike in a UPN, at its column", () => {
      const d = refusesYaml(token('{ serial: S1, state: assigned, upn: "\u0430lice@contoso.com" }'), "upn-not-ascii", 4, 42);
      assert.match(d.message, /U\+0430/);
    });
    it("an ESC written raw in a serial", () => refusesYaml(token('{ serial: "S\u001B[31m1", state: available }'), "control-character", 4));
    it("a BEL written as an escape in a serial", () => refusesYaml(token('{ serial: "S\\a1", state: available }'), "control-character", 4));
    it("a NUL written raw in a displayName", () => refusesYaml(token("{ serial: S1, state: available, displayName: a\u0000b }"), "control-character", 4));
    it("a NUL written as an escape in a displayName", () => refusesYaml(token('{ serial: S1, state: available, displayName: "a\\0b" }'), "control-character", 4));
    it("a zero-width space written as an escape in a serial", () => refusesYaml(token('{ serial: "S\\u200B1", state: available }'), "invisible-character", 4));
    it("a C1 control (NEL) in a model", () => refusesYaml(token("{ serial: S1, state: available, model: C\u0085202 }"), "control-character", 4));
    it("a bidi isolate hiding in a comment (Trojan Source)", () => refusesYaml(`${HEAD}  # \u2067 } \u2069\n  - { serial: S1, state: available }\n`, "bidi-control", 4));
    it("a line separator inside a value", () => refusesYaml(token("{ serial: S1, state: available, displayName: a\u2028b }"), "control-character", 4));
    it("a tab written as an escape inside a UPN", () => refusesYaml(token('{ serial: S1, state: assigned, upn: "a\\tb@contoso.com" }'), "control-character", 4));
    it("a soft hyphen in a serial", () => refusesYaml(token("{ serial: S\u00AD1, state: available }"), "invisible-character", 4));
    it("a BOM in the middle of the file", () => refusesYaml(`${HEAD}  - { serial: S1, state: available }\n\uFEFF\n`, "invisible-character", 5));
  });

  describe("tokens.yaml: structure the loader must not reinterpret", () => {
    it("!!js/function is an unknown tag, not a string", () => refusesYaml(token("{ serial: !!js/function 'function () {}', state: available }"), "unknown-tag", 4, 15));
    it("a local tag", () => refusesYaml(token("{ serial: !evil S1, state: available }"), "unknown-tag", 4));
    it("!!binary", () => refusesYaml(token("{ serial: !!binary aGVsbG8=, state: available }"), "unknown-tag", 4));
    it("several documents", () => {
      const d = refusesYaml(`${token("{ serial: S1, state: available }")}---\n${HEAD}`, "multiple-documents", 5);
      assert.ok(!/parseAllDocuments/.test(d.message), "not the library's hint");
    });
    it("an undefined alias is named as such, not an alias bomb", () => {
      const d = refusesYaml(token("{ serial: S1, state: available, model: *nowhere }"), "yaml-undefined-alias", 4, 44);
      assert.equal(d.message, "the alias *nowhere refers to no anchor &nowhere defined before it");
    });
    it("an alias bomb (billion laughs)", () => {
      const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
      for (let i = 1; i < 9; i++) levels.push(`${"abcdefghi"[i]}: &${"abcdefghi"[i]} [${Array(9).fill(`*${"abcdefghi"[i - 1]}`).join(", ")}]`);
      refusesYaml(`${levels.join("\n")}\n${HEAD}`, "yaml-aliases");
    });
    it("2,000 levels of block nesting", () => {
      const deep = Array.from({ length: 2000 }, (_, i) => `${" ".repeat(i)}k:`).join("\n");
      const d = refusesYaml(`${HEAD}${deep}\n`, "yaml-too-deep", 4 + 64);
      assert.match(d.message, /more than 64 levels/);
    });
    it("5,000 levels of flow nesting", () => refusesYaml(`${HEAD}  - ${"[".repeat(5000)}${"]".repeat(5000)}\n`, "yaml-too-deep", 4));
    it("half a million values (a flow list of ones)", () => refusesYaml(`version: 1\ntokens: [${"1,".repeat(500_000)}1]\n`, "yaml-too-many-values", 2));
    it("200,000 invalid tokens are each reported, token by token (no quadratic schema check)", () => {
      const result = parseDesired(`version: 1\ntokens: [${"1,".repeat(199_999)}1]\n`, "tokens.yaml");
      assert.ok(!result.ok);
      assert.equal(result.diagnostics.length, 200_000);
      assert.ok(result.diagnostics.every((d) => d.code === "wrong-type"));
    });
    it("deep mixed flow mappings and lists", () => refusesYaml(`${HEAD}  - ${"{a: [".repeat(2000)}${"]}".repeat(2000)}\n`, "yaml-too-deep", 4));
  });

  describe("tokens.yaml: files that are not text files", () => {
    it("invalid UTF-8, at its line and column", async () => {
      const path = file("latin1.yaml", Buffer.concat([Buffer.from(`${HEAD}  - { serial: S1, state: available, displayName: Ren`), Buffer.from([0xe9]), Buffer.from("e }\n")]));
      const result = await loadDesired(path);
      assert.ok(!result.ok);
      assert.deepEqual([result.diagnostics[0]?.code, result.diagnostics[0]?.line, result.diagnostics[0]?.column], ["invalid-utf8", 4, 53]);
    });
    it("an overlong UTF-8 encoding", async () => {
      const result = await loadDesired(file("overlong.yaml", Buffer.concat([Buffer.from(HEAD), Buffer.from([0xc0, 0xaf])])));
      assert.equal(!result.ok && result.diagnostics[0]?.code, "invalid-utf8");
    });
    it("an encoded UTF-16 surrogate", async () => {
      const result = await loadDesired(file("surrogate.yaml", Buffer.concat([Buffer.from(HEAD), Buffer.from([0xed, 0xa0, 0x80])])));
      assert.equal(!result.ok && result.diagnostics[0]?.code, "invalid-utf8");
    });
    it("a FIFO is refused at once, never read (no hang)", async () => {
      const fifo = join(dir, "fifo.yaml");
      execFileSync("mkfifo", [fifo]);
      const result = await loadDesired(fifo);
      assert.equal(!result.ok && result.diagnostics[0]?.code, "not-a-file");
    });
    it("a directory", async () => {
      const sub = join(dir, "a-directory.yaml");
      mkdirSync(sub);
      const result = await loadDesired(sub);
      assert.equal(!result.ok && result.diagnostics[0]?.code, "not-a-file");
    });
    it("a device that never ends (/dev/zero)", async () => {
      const result = await loadDesired("/dev/zero");
      assert.equal(!result.ok && result.diagnostics[0]?.code, "not-a-file");
    });
    it("a file above the size limit, without reading it", async () => {
      const big = file("big.yaml", "");
      truncateSync(big, 9 * 1024 * 1024);
      const result = await loadDesired(big);
      assert.equal(!result.ok && result.diagnostics[0]?.code, "file-too-large");
    });
    it("validate prints the refusal with code and position, escaped, and exits 1", async () => {
      const r = await runCli(["validate", file("esc.yaml", token('{ serial: "S\u001B]0;pwned\u00071", state: available }'))]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /esc\.yaml:4:17: error \[control-character\] line 4 holds U\+001B \(ESC\)/);
      assertClean(r.stdout + r.stderr);
    });
  });

  describe("seed files: entra-csv", () => {
    it("an ESC sequence in a serial is refused and never replayed", async () => {
      const e = await refusesSeed({ path: file("esc.csv", `serial number,secret key\nS\u001B[2J1,${SEED_B32}\n`) }, "seed-unsafe-text");
      assert.match(e.message, /\\u\{1B\}/);
    });
    it("a right-to-left override in the manufacturer", () =>
      refusesSeed({ path: file("rlo.csv", `serial number,secret key,manufacturer\nS1,${SEED_B32},\u202ETnekoT\n`) }, "seed-unsafe-text"));
    it("a million and a half empty fields", () => refusesSeed({ path: file("fields.csv", `serial number,secret key\n${",\n".repeat(800_000)}`) }, "seed-too-many-records"));
    it("a secret that is not base32, without echoing it", async () => {
      const e = await refusesSeed({ path: file("b32.csv", `serial number,secret key\nS1,${SEED_B32.slice(0, -1)}8\n`) }, "seed-invalid");
      assert.ok(!e.message.includes(SEED_B32.slice(0, 20)));
    });
  });

  describe("seed files: entra-json", () => {
    it("half a million objects", () => refusesSeed({ path: file("objects.json", `[${"{},".repeat(300_000)}{}]`) }, "seed-too-many-records"));
    it("a zero-width space in a serial", () =>
      refusesSeed({ path: file("zw.json", JSON.stringify([{ serialNumber: "J\u200B1", secretKey: SEED_B32 }])) }, "seed-unsafe-text"));
    it("deeply nested arrays", () => refusesSeed({ path: file("deep.json", `${"[".repeat(100_000)}${"]".repeat(100_000)}`) }, "seed-invalid"));
    it("a __proto__ entry is no device", () => refusesSeed({ path: file("proto.json", `[{"__proto__": {"serialNumber": "X", "secretKey": "${SEED_B32}"}}]`) }, "seed-invalid"));
  });

  describe("seed files: PSKC", () => {
    it("plain: a PlainValue that is not base64", () => refusesSeed({ path: file("plain.pskc", plainPskc("not*base64!")) }, "pskc-base64"));
    it("plain: a PlainValue with its padding cut", () => refusesSeed({ path: file("pad.pskc", plainPskc(SEED.toString("base64").slice(0, -2))) }, "pskc-base64"));
    it("plain: an entity bomb", () => refusesSeed({ path: file("lol.pskc", `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><KeyContainer>&b;</KeyContainer>`) }, "pskc-xml"));
    it("plain: half a million elements", () => refusesSeed({ path: file("elements.pskc", container("<a/>".repeat(600_000))) }, "seed-too-many-records"));
    it("plain: 200 levels of nesting", () => refusesSeed({ path: file("nest.pskc", container(`${"<a>".repeat(200)}${"</a>".repeat(200)}`)) }, "pskc-xml"));
    it("plain: a BEL in the serial", () => refusesSeed({ path: file("bel.pskc", plainPskc(SEED.toString("base64"), "P\u00071")) }, "seed-unsafe-text"));
    it("PSK: a file with a good MAC is read (the cases below differ only in what they break)", async () => {
      const [seed] = await readSeedFile({ path: file("good.pskc", pskPskc(goodMac)), preSharedKeyEnv: "K" }, { K: PSK.toString("hex") });
      assert.equal(seed?.secret.reveal(), SEED_B32);
    });
    it("PSK: ValueMAC removed and IV bits flipped: refused, not a corrupted seed", () =>
      refusesSeed({ path: file("nomac.pskc", flipIvBit(pskPskc(() => undefined))), preSharedKeyEnv: "K" }, "pskc-mac-missing", { K: PSK.toString("hex") }));
    it("PSK: without a MAC, the seed is accepted only with acceptTamperableSeeds", async () => {
      const path = file("optin.pskc", pskPskc(() => undefined));
      const [seed] = await readSeedFile({ path, preSharedKeyEnv: "K", acceptTamperableSeeds: true }, { K: PSK.toString("hex") });
      assert.equal(seed?.secret.reveal(), SEED_B32);
    });
    it("PSK: IV bits flipped under a MAC", () => refusesSeed({ path: file("flip.pskc", flipIvBit(pskPskc(goodMac))), preSharedKeyEnv: "K" }, "pskc-mac-mismatch", { K: PSK.toString("hex") }));
    it("PSK: a ValueMAC that is not base64", () => refusesSeed({ path: file("macb64.pskc", pskPskc(() => "@@@@")), preSharedKeyEnv: "K" }, "pskc-base64", { K: PSK.toString("hex") }));
    it("PSK: a CipherValue that is not base64", () => refusesSeed({ path: file("cvb64.pskc", pskPskc(goodMac, { cipherText: "AAAA$$$$" })), preSharedKeyEnv: "K" }, "pskc-base64", { K: PSK.toString("hex") }));
    it("PSK: a ValueMAC with the MACMethod removed", () => refusesSeed({ path: file("nomethod.pskc", pskPskc(goodMac, { macMethod: false })), preSharedKeyEnv: "K" }, "pskc-mac-missing", { K: PSK.toString("hex") }));
    it("PBKDF2: ValueMAC removed", () => refusesSeed({ path: file("pbe-nomac.pskc", pbkdf2Pskc(1000, { withMac: false })), passphraseEnv: "P" }, "pskc-mac-missing", PASSPHRASE_ENV));
    it("PBKDF2: a salt that is not base64", () => refusesSeed({ path: file("salt.pskc", pbkdf2Pskc(1000, { salt: "sa!t" })), passphraseEnv: "P" }, "pskc-base64", PASSPHRASE_ENV));
    it("PBKDF2: a billion iterations", () => refusesSeed({ path: file("iter.pskc", pbkdf2Pskc(1000).replace("<IterationCount>1000<", "<IterationCount>1000000000<")), passphraseEnv: "P" }, "seed-invalid", PASSPHRASE_ENV));
    it("PBKDF2: a zip of files that together ask for too much key derivation", async () => {
      // Each file is within the per-file limit; the third would take the delivery past 10,000,000.
      const heavy = pbkdf2Pskc(3_500_000);
      await refusesSeed({ path: file("work.zip", await zip([["a.pskc", heavy], ["b.pskc", heavy], ["c.pskc", heavy]])), passphraseEnv: "P" }, "delivery-work-limit", PASSPHRASE_ENV);
    });
  });

  describe("seed files: custom-csv", () => {
    const layout = { serial: "sn", secret: "seed", encoding: "base64" as const, delimiter: ";" };
    it("a million and a half fields with its own delimiter", () =>
      refusesSeed({ path: file("semi.csv", `sn;seed\n${";".repeat(1_600_000)}\n`), format: "custom-csv", csv: layout }, "seed-too-many-records"));
    it("a base64 secret that is not base64", () => refusesSeed({ path: file("b64.csv", "sn;seed\nC1;@@@@\n"), format: "custom-csv", csv: layout }, "seed-invalid"));
    it("an ESC in a serial", () => refusesSeed({ path: file("esc2.csv", `sn;seed\nC\u001B1;${SEED.toString("base64")}\n`), format: "custom-csv", csv: layout }, "seed-unsafe-text"));
  });

  describe("seed files: zip", () => {
    it("a nested zip bomb: 150 inner zips of 10 MiB each, one budget for all levels", async () => {
      const inner = await paddedZip(10 * 1024 * 1024);
      const outer = await zip(Array.from({ length: 150 }, (_, i) => [`inner-${i}.zip`, inner] as [string, Uint8Array]));
      assert.ok(outer.length < 3 * 1024 * 1024);
      await refusesSeed({ path: file("nested-bomb.zip", outer) }, "delivery-bytes-limit");
    });
    it("one entry above the budget is refused by its declared size", () => paddedZip(25 * 1024 * 1024).then((bytes) => refusesSeed({ path: file("big-entry.zip", bytes) }, "delivery-bytes-limit")));
    it("an entry that lies about its size is stopped while it unpacks", async () => refusesSeed({ path: file("lying.zip", await lyingZip(64 * 1024 * 1024)) }, "zip-damaged"));
    it("zips nested four deep", async () => {
      let bytes = await zip([["seeds.csv", CSV]]);
      for (let i = 0; i < 3; i++) bytes = await zip([[`level-${i}.zip`, bytes]]);
      await refusesSeed({ path: file("deep.zip", bytes) }, "delivery-depth-limit");
    });
    it("zips nested three deep are still read", async () => {
      let bytes = await zip([["seeds.csv", CSV]]);
      for (let i = 0; i < 2; i++) bytes = await zip([[`level-${i}.zip`, bytes]]);
      assert.equal((await readSeedFile({ path: file("three.zip", bytes) }, {}))[0]?.serial, "H1");
    });
    it("entries counted over every level: two inner zips of 600", async () => {
      const many = await zip(Array.from({ length: 600 }, (_, i) => [`e${i}.csv`, CSV] as [string, string]));
      await refusesSeed({ path: file("entries.zip", await zip([["a.zip", many], ["b.zip", many]])) }, "delivery-entries-limit");
    });
    it("a ../ entry name (zip-slip)", async () => refusesSeed({ path: file("slip.zip", await zip([["../../evil.csv", CSV]])) }, "zip-unsafe-path"));
    it("an absolute entry name", async () => refusesSeed({ path: file("abs.zip", await zip([["/etc/evil.csv", CSV]])) }, "zip-unsafe-path"));
    it("a truncated zip", async () => {
      const bytes = await zip([["seeds.csv", CSV]]);
      await refusesSeed({ path: file("cut.zip", bytes.subarray(0, bytes.length - 30)) }, "zip-damaged");
    });
    it("a wrong password", async () => refusesSeed({ path: file("pw.zip", await zip([["seeds.csv", CSV]], "zip-pass-hostile")), zipPasswordEnv: "Z" }, "zip-password", { Z: "wrong-password" }));
  });

  describe("seed files: OpenPGP", () => {
    it("a compressed bomb (64 MiB of zeros) is stopped while it streams", async () => {
      await refusesSeed({ path: file("bomb.pgp", await pgp(new Uint8Array(64 * 1024 * 1024))), pgpPasswordEnv: "G" }, "delivery-bytes-limit", { G: "pgp-pass-hostile" });
    });
    it("OpenPGP around a nested zip bomb: the same budget across both wrappers", async () => {
      const inner = await paddedZip(8 * 1024 * 1024);
      const bytes = await pgp(await zip([["a.zip", inner], ["b.zip", inner], ["c.zip", inner]]));
      await refusesSeed({ path: file("pgp-zip.pgp", bytes), pgpPasswordEnv: "G" }, "delivery-bytes-limit", { G: "pgp-pass-hostile" });
    });
    it("a damaged armored message", () => refusesSeed({ path: file("bad.asc", "-----BEGIN PGP MESSAGE-----\n\n!!!!\n-----END PGP MESSAGE-----\n"), pgpPasswordEnv: "G" }, "pgp-unreadable", { G: "x" }));
    it("a tampered ciphertext", async () => {
      const bytes = await pgp(Buffer.from(CSV));
      bytes[bytes.length - 30] = bytes[bytes.length - 30]! ^ 0xff;
      await refusesSeed({ path: file("tampered.pgp", bytes), pgpPasswordEnv: "G" }, "pgp-decrypt", { G: "pgp-pass-hostile" });
    });
    it("OpenPGP nested four deep", async () => {
      let bytes: Uint8Array = Buffer.from(CSV);
      for (let i = 0; i < 4; i++) bytes = await pgp(bytes);
      await refusesSeed({ path: file("deep.pgp", bytes), pgpPasswordEnv: "G" }, "delivery-depth-limit", { G: "pgp-pass-hostile" });
    });
  });

  describe("seed files: not regular files", () => {
    it("a FIFO is refused at once (no hang)", async () => {
      const fifo = join(dir, "seeds.fifo");
      execFileSync("mkfifo", [fifo]);
      await refusesSeed({ path: fifo }, "seed-unreadable");
    });
    it("a directory", () => refusesSeed({ path: dir }, "seed-unreadable"));
    it("a device", () => refusesSeed({ path: "/dev/zero" }, "seed-unreadable"));
  });

  describe("seed files through the CLI", () => {
    it("seeds import refuses a MAC-less PSKC, names the flag, prints no secret; the flag lets it through", async () => {
      const input = file("cli-nomac.pskc", pskPskc(() => undefined));
      const env = { K: PSK.toString("hex"), ENTRA_TOKENS_SEED_PASSPHRASE: "a long store passphrase" };
      const refused = await runCli(["seeds", "import", input, "--psk-env", "K", "--out", join(dir, "cli-out-1.pskc")], env);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /no ValueMAC.*--accept-tamperable-seeds.*\[pskc-mac-missing\]/s);
      assertClean(refused.stdout + refused.stderr);
      const accepted = await runCli(["seeds", "import", input, "--psk-env", "K", "--accept-tamperable-seeds", "--out", join(dir, "cli-out-2.pskc")], env);
      assert.equal(accepted.code, 0, accepted.stderr);
      assertClean(accepted.stdout + accepted.stderr);
    });
    it("tokens.yaml's acceptTamperableSeeds is a schema-checked boolean", () => {
      const yaml = `${HEAD.replace("tokens:\n", "")}seeds: [{ file: s.pskc, preSharedKeyEnv: K, acceptTamperableSeeds: "yes" }]\ntokens: []\n`;
      refusesYaml(yaml, "wrong-type");
      const ok = parseDesired(yaml.replace('"yes"', "true"), join(dir, "tokens.yaml"));
      assert.ok(ok.ok && ok.desired.seedFiles[0]?.acceptTamperableSeeds === true);
    });
  });

  describe("memory stays bounded", () => {
    it("the worst cases, run in a child process with a 200 MB heap, are refused there", async function () {
      this.timeout(180_000);
      const big = 20 * 1024 * 1024 - 64;
      const inner = await paddedZip(10 * 1024 * 1024);
      const cases: (WorstCase & { expect: string })[] = [
        { name: "nested zip bomb", seed: { path: file("w-nested.zip", await zip(Array.from({ length: 150 }, (_, i) => [`i${i}.zip`, inner] as [string, Uint8Array]))) }, expect: "delivery-bytes-limit" },
        { name: "zip entry lying about its size", seed: { path: file("w-lying.zip", await lyingZip(400 * 1024 * 1024)) }, expect: "zip-damaged" },
        { name: "OpenPGP compressed bomb", seed: { path: file("w-bomb.pgp", await pgp(new Uint8Array(100 * 1024 * 1024))), pgpPasswordEnv: "G" }, env: { G: "pgp-pass-hostile" }, expect: "delivery-bytes-limit" },
        { name: "CSV of empty fields at the file size limit", seed: { path: file("w-fields.csv", `serial number,secret key\n${",\n".repeat(big / 2)}`) }, expect: "seed-too-many-records" },
        { name: "CSV just under the structure limit", seed: { path: file("w-fields-under.csv", `sn,seed\n${",\n".repeat(249_000)}`), format: "custom-csv", csv: { serial: "sn", secret: "seed" } }, expect: "seed-invalid" },
        { name: "one 20 MB CSV field", seed: { path: file("w-field.csv", `sn,seed\n${"A".repeat(big)},x\n`), format: "custom-csv", csv: { serial: "sn", secret: "seed" } }, expect: "seed-invalid" },
        { name: "JSON just under the structure limit", seed: { path: file("w-objects.json", `[${"{},".repeat(240_000)}{}]`) }, expect: "seed-invalid" },
        { name: "XML just under the structure limit", seed: { path: file("w-elements.pskc", container("<a/>".repeat(490_000))) }, expect: "accepted:0" },
        { name: "one XML tag with a million attributes", seed: { path: file("w-attributes.pskc", container(`<a ${Array.from({ length: 1_000_000 }, (_, i) => `a${i}="1"`).join(" ")}/>`)) }, expect: "pskc-xml" },
        { name: "XML attributes just under the structure limit", seed: { path: file("w-attributes-under.pskc", container(`<a ${Array.from({ length: 250 }, (_, i) => `a${i}="1"`).join(" ")}/>`.repeat(1950))) }, expect: "accepted:0" },
        { name: "tokens.yaml flow nesting", tokensYaml: file("w-deep.yaml", `${HEAD}  - ${"[".repeat(4_000_000)}\n`), expect: "yaml-too-deep" },
      ];
      // One child per case: each peak is that case's own, not what the previous ones left for the GC.
      const worst = join(__dirname, "support", "hostile-worst.js");
      for (const { expect, ...worstCase } of cases) {
        const child = await new Promise<{ stdout: string; stderr: string; failed: boolean }>((resolve) => {
          execFile(process.execPath, ["--max-old-space-size=200", worst, JSON.stringify([worstCase])], { maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => resolve({ stdout, stderr, failed: error !== null }));
        });
        assert.ok(!child.failed, `${worstCase.name}: ${child.stderr.slice(0, 1000)}`);
        const report = JSON.parse(child.stdout) as { outcomes: WorstOutcome[]; maxRssMiB: number };
        assert.equal(report.outcomes[0]?.outcome, expect, worstCase.name);
        // The process as a whole (code, heap and the buffers outside it) stays under 200 MiB.
        assert.ok(report.maxRssMiB < 200, `${worstCase.name}: peak RSS ${report.maxRssMiB.toFixed(0)} MiB`);
      }
    });
  });
});
