import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { XMLParser } from "fast-xml-parser";
import { SeedFileError, type SeedErrorCode } from "./errors.js";

// PSKC (RFC 6030): plain, pre-shared key (AES-CBC + HMAC) and PBKDF2 passphrase-based key
// containers; and a writer for the passphrase-based kind, the encrypted-at-rest format we store.

/** What a key package states in clear: everything but the secret. */
export interface PskcKeyFacts {
  serial: string;
  algorithm: string;
  manufacturer?: string;
  model?: string;
  timeInterval?: number;
  digits?: number;
  /** e.g. HMAC-SHA256, from AlgorithmParameters/Suite */
  suite?: string;
  /** The seed's fingerprint (seeds/fingerprint.ts), from the extension the files we write carry. */
  fingerprint?: string;
}

export interface PskcKey extends PskcKeyFacts {
  secret: Buffer;
}

export interface PskcCredentials {
  /** Pre-shared key for <EncryptionKey><ds:KeyName>. */
  preSharedKey?: Buffer;
  /** Passphrase for <EncryptionKey><DerivedKey> (PBKDF2). */
  passphrase?: string;
  /**
   * Accept encrypted seeds that carry no ValueMAC. Without a MAC, flipped bits in a CipherValue
   * decrypt to a different seed unnoticed: only for vendors whose files have none, knowingly.
   */
  acceptTamperableSeeds?: boolean;
  /** Called with the PBKDF2 iteration count before deriving, so a delivery's total work can be capped. */
  beforeKeyDerivation?: (iterations: number) => void;
}

const CIPHERS: Record<string, { name: string; keyLength: number }> = {
  "http://www.w3.org/2001/04/xmlenc#aes128-cbc": { name: "aes-128-cbc", keyLength: 16 },
  "http://www.w3.org/2001/04/xmlenc#aes192-cbc": { name: "aes-192-cbc", keyLength: 24 },
  "http://www.w3.org/2001/04/xmlenc#aes256-cbc": { name: "aes-256-cbc", keyLength: 32 },
};
const MACS: Record<string, string> = {
  "http://www.w3.org/2000/09/xmldsig#hmac-sha1": "sha1",
  "http://www.w3.org/2001/04/xmldsig-more#hmac-sha224": "sha224",
  "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256": "sha256",
  "http://www.w3.org/2001/04/xmldsig-more#hmac-sha384": "sha384",
  "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512": "sha512",
};
const PBKDF2 = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";
/** Above this a file could make us spin for minutes; real files use 1,000 to 1,000,000. */
const MAX_PBKDF2_ITERATIONS = 5_000_000;
export const TOTP_ALGORITHM = "urn:ietf:params:xml:ns:keyprov:pskc:totp";

export function looksLikePskc(text: string): boolean {
  return /<(\w+:)?KeyContainer[\s>]/.test(text.slice(0, 4096));
}

export function isTotpAlgorithm(algorithm: string): boolean {
  return /[:#]totp$/i.test(algorithm);
}

export function isHotpAlgorithm(algorithm: string): boolean {
  return /[:#]hotp$/i.test(algorithm);
}

type XmlNode = Record<string, unknown>;

function isNode(value: unknown): value is XmlNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function child(node: unknown, name: string): XmlNode | undefined {
  if (!isNode(node)) return undefined;
  const value = node[name];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return isNode(first) ? first : typeof first === "string" ? { "#text": first } : undefined;
}

function children(node: unknown, name: string): XmlNode[] {
  if (!isNode(node)) return [];
  const value = node[name];
  const list: unknown[] = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((v) => (isNode(v) ? v : { "#text": typeof v === "string" ? v : "" }));
}

function text(node: unknown, ...path: string[]): string | undefined {
  let current: unknown = node;
  for (const name of path) current = child(current, name);
  if (!isNode(current)) return undefined;
  const value = current["#text"];
  return typeof value === "string" ? value.trim() : typeof value === "number" ? String(value) : undefined;
}

function attr(node: unknown, name: string): string | undefined {
  if (!isNode(node)) return undefined;
  const value = node[`@${name}`];
  return typeof value === "string" ? value.trim() : undefined;
}

/** RFC 6030 section 4.1 `<Extensions definition=…>`: where the files we write keep the seed fingerprint. */
const FINGERPRINT_EXTENSION = "urn:entra-tokens:pskc:seed-fingerprint";

function parseContainer(xml: string, fail: Fail): XmlNode {
  // No document type, ever: it is how XML entity bombs and external-entity reads get in.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw fail("the XML declares a DOCTYPE or ENTITY, which PSKC files never need", "use the file as the vendor sent it; this one may have been tampered with", undefined, "pskc-xml");
  let document: unknown;
  try {
    document = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: "@",
      removeNSPrefix: true,
      parseTagValue: false,
      trimValues: true,
      processEntities: false,
      maxNestedTags: 64,
      isArray: (name) => name === "KeyPackage" || name === "Key" || name === "Extensions",
    }).parse(xml, true);
  } catch (error: unknown) {
    throw fail(`not well-formed XML (${error instanceof Error ? error.message.split("\n")[0] : "parse error"})`, "use the file as the vendor sent it", undefined, "pskc-xml");
  }
  const container = child(document, "KeyContainer");
  if (!container) throw fail("no <KeyContainer>: not a PSKC file", "check the file, or name its format in tokens.yaml");
  return container;
}

/** Every key of the container with what it states in clear; the secret node is left to the caller. */
function* keysWithFacts(container: XmlNode, fail: Fail): Generator<{ key: XmlNode; facts: PskcKeyFacts }> {
  for (const pkg of children(container, "KeyPackage")) {
    const device = child(pkg, "DeviceInfo");
    for (const key of children(pkg, "Key")) {
      const serial = text(device, "SerialNo") ?? attr(key, "Id");
      if (!serial) throw fail("a key has neither DeviceInfo/SerialNo nor an Id", "ask the vendor for a file with serial numbers");
      const interval = text(key, "Data", "TimeInterval", "PlainValue");
      const digits = attr(child(child(key, "AlgorithmParameters"), "ResponseFormat"), "Length");
      const manufacturer = text(device, "Manufacturer");
      const model = text(device, "Model");
      const suite = text(key, "AlgorithmParameters", "Suite");
      const extension = children(key, "Extensions").find((e) => attr(e, "definition") === FINGERPRINT_EXTENSION);
      const fingerprint = extension === undefined ? undefined : text(extension, "SeedFingerprint");
      if (fingerprint !== undefined && !/^[0-9a-f]{64}$/.test(fingerprint)) throw fail("the seed fingerprint is not 64 hex digits", "the file was altered; write it again with `entra-tokens seeds import`", serial, "pskc-fingerprint");
      yield {
        key,
        facts: {
          serial,
          algorithm: attr(key, "Algorithm") ?? "",
          ...(manufacturer === undefined ? {} : { manufacturer }),
          ...(model === undefined ? {} : { model }),
          ...(interval === undefined ? {} : { timeInterval: Number(interval) }),
          ...(digits === undefined ? {} : { digits: Number(digits) }),
          ...(suite === undefined ? {} : { suite }),
          ...(fingerprint === undefined ? {} : { fingerprint }),
        },
      };
    }
  }
}

const failIn =
  (file: string): Fail =>
  (message, fix, serial, code) =>
    new SeedFileError(file, message, fix, undefined, serial, code);

/**
 * What a PSKC file states in clear, without any key or passphrase: RFC 6030 encrypts only the
 * secret, so serial, maker, model, interval and suite (and our fingerprint) need no secret.
 */
export function readPskcFacts(xml: string, file: string): PskcKeyFacts[] {
  const fail = failIn(file);
  return [...keysWithFacts(parseContainer(xml, fail), fail)].map((k) => k.facts);
}

export function readPskc(xml: string, file: string, credentials: PskcCredentials): PskcKey[] {
  const fail = failIn(file);
  const container = parseContainer(xml, fail);
  const encryptionKey = deriveEncryptionKey(child(container, "EncryptionKey"), credentials, fail);
  const macMethod = child(container, "MACMethod");
  const macAlgorithm = attr(macMethod, "Algorithm") ?? text(container, "MACAlgorithm");
  const macDigest = macAlgorithm === undefined ? undefined : MACS[macAlgorithm];
  if (macAlgorithm !== undefined && macDigest === undefined) throw fail(`unsupported MAC algorithm ${macAlgorithm}`, "ask the vendor for HMAC-SHA1 or HMAC-SHA256");
  const macKeyNode = child(macMethod, "MACKey");
  // Older drafts had no MACKey: the encryption key doubles as the MAC key there.
  const macKey = macKeyNode && encryptionKey ? decrypt(macKeyNode, encryptionKey, fail) : encryptionKey;

  const keys: PskcKey[] = [];
  for (const { key, facts } of keysWithFacts(container, fail)) {
    const serial = facts.serial;
    const secretNode = child(child(key, "Data"), "Secret");
    let secret: Buffer;
    const plain = text(secretNode, "PlainValue");
    const encrypted = child(secretNode, "EncryptedValue");
    if (plain !== undefined) {
      secret = base64Field(plain, "the secret's PlainValue", fail, serial);
    } else if (encrypted) {
      if (!encryptionKey) throw fail("the secrets are encrypted but the file names no encryption key", "check the file");
      const valueMac = text(secretNode, "ValueMAC");
      if (valueMac !== undefined) {
        if (!macKey || !macDigest) throw fail("the file has a ValueMAC but no MAC method", "check the file", serial, "pskc-mac-missing");
        const cipherValue = base64Field(text(encrypted, "CipherData", "CipherValue") ?? "", "a CipherValue", fail, serial);
        const expected = createHmac(macDigest, macKey).update(cipherValue).digest();
        const given = base64Field(valueMac, "a ValueMAC", fail, serial);
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          throw fail("the integrity check failed (bad MAC): the file was altered, or the key or passphrase is wrong", "check the key or passphrase; if it is right, ask the vendor for the file again", serial, "pskc-mac-mismatch");
        }
      } else if (!credentials.acceptTamperableSeeds) {
        // RFC 6030 section 6.1.1 makes the MAC optional; without it a flipped bit changes the seed unnoticed.
        throw fail(
          "the encrypted secret has no ValueMAC, so tampering with it could not be detected",
          "ask the vendor for a file with MACs; to accept this one knowingly, set `acceptTamperableSeeds: true` on this seeds entry in tokens.yaml (seeds import: --accept-tamperable-seeds)",
          serial,
          "pskc-mac-missing",
        );
      }
      secret = decrypt(encrypted, encryptionKey, fail, serial);
    } else {
      throw fail("a key has no secret", "ask the vendor for a file with the seeds", serial);
    }
    keys.push({ ...facts, secret });
  }
  return keys;
}

type Fail = (message: string, fix: string, serial?: string, code?: SeedErrorCode) => SeedFileError;

/**
 * XML Schema base64Binary (whitespace allowed), decoded strictly: Buffer.from(x, "base64") skips
 * what is not base64 and would turn a damaged value into a wrong seed without a word.
 */
function base64Field(value: string, what: string, fail: Fail, serial?: string): Buffer {
  const compact = value.replace(/[\t\n\r ]/g, "");
  if (compact === "" || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw fail(`${what} is not valid base64`, "the file is damaged or was altered; ask the vendor for it again", serial, "pskc-base64");
  }
  return Buffer.from(compact, "base64");
}

function deriveEncryptionKey(node: XmlNode | undefined, credentials: PskcCredentials, fail: Fail): Buffer | undefined {
  if (!node) return undefined;
  const derived = child(node, "DerivedKey");
  if (derived) {
    const method = child(derived, "KeyDerivationMethod");
    if (attr(method, "Algorithm") !== PBKDF2) throw fail(`unsupported key derivation ${attr(method, "Algorithm") ?? "(none)"}`, "ask the vendor for PBKDF2");
    const params = child(method, "PBKDF2-params");
    const salt = base64Field(text(params, "Salt", "Specified") ?? "", "the PBKDF2 salt", fail);
    const iterations = Number(text(params, "IterationCount"));
    const keyLength = Number(text(params, "KeyLength") ?? 16);
    const prf = attr(child(params, "PRF"), "Algorithm");
    const digest = prf === undefined || prf === "" ? "sha1" : MACS[prf];
    if (!digest) throw fail(`unsupported PBKDF2 PRF ${prf}`, "ask the vendor for HMAC-SHA1 or HMAC-SHA256");
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_PBKDF2_ITERATIONS) throw fail(`PBKDF2 iteration count ${text(params, "IterationCount")} is out of range`, "check the file");
    if (![16, 24, 32].includes(keyLength) || salt.length === 0) throw fail("the PBKDF2 parameters are incomplete", "check the file");
    if (credentials.passphrase === undefined) throw fail("the file is protected by a passphrase", "set the passphrase in the environment variable that tokens.yaml `seeds[].passphraseEnv` names (or --passphrase-env)");
    credentials.beforeKeyDerivation?.(iterations);
    return pbkdf2Sync(credentials.passphrase, salt, iterations, keyLength, digest);
  }
  if (child(node, "KeyName")) {
    if (!credentials.preSharedKey) throw fail("the file is encrypted with a pre-shared key", "set the key (hex) in the environment variable that tokens.yaml `seeds[].preSharedKeyEnv` names");
    return credentials.preSharedKey;
  }
  throw fail("the EncryptionKey kind is not supported (only pre-shared keys and PBKDF2 passphrases)", "ask the vendor for PSKC with a pre-shared key or a passphrase");
}

function decrypt(node: XmlNode, key: Buffer, fail: Fail, serial?: string): Buffer {
  const algorithm = attr(child(node, "EncryptionMethod"), "Algorithm") ?? "";
  const cipher = CIPHERS[algorithm];
  if (!cipher) throw fail(`unsupported encryption ${algorithm || "(none)"}`, "ask the vendor for AES-CBC", serial);
  if (key.length !== cipher.keyLength) throw fail(`the key is ${key.length} bytes; ${cipher.name} needs ${cipher.keyLength}`, "check the pre-shared key or the PBKDF2 key length", serial);
  const data = base64Field(text(node, "CipherData", "CipherValue") ?? "", "a CipherValue", fail, serial);
  if (data.length < 32 || data.length % 16 !== 0) throw fail("an encrypted value is truncated", "ask the vendor for the file again", serial);
  try {
    const decipher = createDecipheriv(cipher.name, key, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  } catch {
    throw fail("cannot decrypt: the key or passphrase is wrong, or the file is damaged", "check the key or passphrase", serial);
  }
}

// ---- writing ---------------------------------------------------------------------------------

export interface PskcWriteKey {
  serial: string;
  secret: Buffer;
  manufacturer?: string;
  model?: string;
  timeInterval: number;
  suite: "HMAC-SHA1" | "HMAC-SHA256";
  /** Written in clear beside the ciphertext, so plans can tell a changed seed without the passphrase. */
  fingerprint?: string;
}

/** Iterations for files we write (OWASP's PBKDF2-HMAC-SHA256 figure). */
export const WRITE_ITERATIONS = 600_000;

const escapeXml = (value: string) => value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A PBKDF2 passphrase-protected PSKC document (AES-256-CBC, HMAC-SHA256 MAC), readable by other PSKC tools. */
export function writePskc(keys: readonly PskcWriteKey[], passphrase: string, iterations = WRITE_ITERATIONS): string {
  const salt = randomBytes(16);
  const key = pbkdf2Sync(passphrase, salt, iterations, 32, "sha256");
  const macKey = randomBytes(32);
  const encrypt = (plain: Buffer) => {
    const iv = randomBytes(16);
    const cipher = createCipheriv("aes-256-cbc", key, iv);
    return Buffer.concat([iv, cipher.update(plain), cipher.final()]);
  };
  const cipherValue = (data: Buffer) => `<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc"/><xenc:CipherData><xenc:CipherValue>${data.toString("base64")}</xenc:CipherValue></xenc:CipherData>`;
  const packages = keys.map((k) => {
    const encrypted = encrypt(k.secret);
    const mac = createHmac("sha256", macKey).update(encrypted).digest("base64");
    return [
      "  <pskc:KeyPackage>",
      "    <pskc:DeviceInfo>",
      ...(k.manufacturer ? [`      <pskc:Manufacturer>${escapeXml(k.manufacturer)}</pskc:Manufacturer>`] : []),
      `      <pskc:SerialNo>${escapeXml(k.serial)}</pskc:SerialNo>`,
      ...(k.model ? [`      <pskc:Model>${escapeXml(k.model)}</pskc:Model>`] : []),
      "    </pskc:DeviceInfo>",
      `    <pskc:Key Id="${escapeXml(k.serial)}" Algorithm="${TOTP_ALGORITHM}">`,
      `      <pskc:AlgorithmParameters><pskc:Suite>${k.suite}</pskc:Suite><pskc:ResponseFormat Length="6" Encoding="DECIMAL"/></pskc:AlgorithmParameters>`,
      "      <pskc:Data>",
      `        <pskc:Secret><pskc:EncryptedValue>${cipherValue(encrypted)}</pskc:EncryptedValue><pskc:ValueMAC>${mac}</pskc:ValueMAC></pskc:Secret>`,
      `        <pskc:TimeInterval><pskc:PlainValue>${k.timeInterval}</pskc:PlainValue></pskc:TimeInterval>`,
      "      </pskc:Data>",
      ...(k.fingerprint === undefined ? [] : [`      <pskc:Extensions definition="${FINGERPRINT_EXTENSION}"><et:SeedFingerprint xmlns:et="urn:entra-tokens:pskc">${k.fingerprint}</et:SeedFingerprint></pskc:Extensions>`]),
      "    </pskc:Key>",
      "  </pskc:KeyPackage>",
    ].join("\n");
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<pskc:KeyContainer Version="1.0" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">',
    "  <pskc:EncryptionKey><xenc11:DerivedKey>",
    `    <xenc11:KeyDerivationMethod Algorithm="${PBKDF2}"><pkcs5:PBKDF2-params>`,
    `      <Salt><Specified>${salt.toString("base64")}</Specified></Salt><IterationCount>${iterations}</IterationCount><KeyLength>32</KeyLength>`,
    '      <PRF Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"/>',
    "    </pkcs5:PBKDF2-params></xenc11:KeyDerivationMethod>",
    "  </xenc11:DerivedKey></pskc:EncryptionKey>",
    `  <pskc:MACMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"><pskc:MACKey>${cipherValue(encrypt(macKey))}</pskc:MACKey></pskc:MACMethod>`,
    ...packages,
    "</pskc:KeyContainer>",
    "",
  ].join("\n");
}
