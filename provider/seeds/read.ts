import type { HashFunction, SeedFileRef, SeedFormat, TimeInterval } from "../model/index.js";
import { readCustomCsv } from "./custom-csv.js";
import { looksLikeEntraCsv, readEntraCsv, readEntraCsvFacts } from "./entra-csv.js";
import { looksLikeEntraJson, readEntraJson } from "./entra-json.js";
import { delimiterHint, firstLine } from "./delimiter.js";
import { SeedFileError } from "./errors.js";
import { seedFingerprint } from "./fingerprint.js";
import { SeedStore, type Seed, type SeedDescription } from "./model.js";
import { secretFromBytes } from "./normalize.js";
import { isHotpAlgorithm, isTotpAlgorithm, looksLikePskc, readPskc, readPskcFacts, type PskcCredentials, type PskcKey, type PskcKeyFacts } from "./pskc.js";
import { DeliveryBudget, unwrap, type WrapperSecrets } from "./wrappers.js";
import { findUnsafeCharacter, showEscaped } from "../safety/characters.js";
import { readRegularFile } from "../safety/regular-file.js";

/** Seed files larger than this are refused: a real one holds a few MB at most. */
const MAX_SEED_FILE_BYTES = 20 * 1024 * 1024;
/**
 * Parsers build an object per record, field and XML element: past this many, memory (not the
 * file's size) is what a hostile file attacks. A real file is far below (10,000 PSKC keys fit).
 */
export const MAX_SEED_STRUCTURE = 500_000;
/**
 * A CSV field is one short string: 250,000 rows of Entra's six columns fit (a delivery of 100,000
 * tokens is 600,000 fields), about 15 MB, within the file size limit.
 */
const MAX_CSV_FIELDS = 1_500_000;
/** A PSKC tag with all its namespace declarations fits in a few hundred characters. */
const MAX_XML_TAG_CHARS = 8192;
/** tokens.yaml allows 256; a longer serial from a seed file can only be an error or an attack. */
const MAX_SERIAL_CHARS = 256;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads every seed file into one store; secrets for encrypted files come from `env`. */
export async function readSeedFiles(files: readonly SeedFileRef[], env: Env = process.env): Promise<SeedStore> {
  const store = new SeedStore();
  for (const seed of await gather(files, (ref) => readSeedFile(ref, env))) store.add(seed);
  return store;
}

/**
 * Every record of every seed file, each naming its file, a serial in one file only. A file `read`
 * answers undefined for is skipped (it was set aside as unread).
 */
async function gather<T extends SeedDescription>(files: readonly SeedFileRef[], read: (ref: SeedFileRef) => Promise<T[] | undefined>): Promise<T[]> {
  const records: T[] = [];
  const seen = new Set<string>();
  for (const ref of files) {
    for (const record of (await read(ref)) ?? []) {
      const size = seen.size;
      // One look-up per record: the set grows unless the serial came before.
      if (seen.add(record.serial.toUpperCase()).size === size) throw new SeedFileError(ref.path, "this serial already came from another seed file", "keep each token's seed in one file", undefined, record.serial);
      record.file = ref.path;
      records.push(record);
    }
  }
  return records;
}

/** A seed file whose facts cannot be read without a secret (a vendor's zip or OpenPGP delivery). */
export interface UnreadSeedFile {
  file: string;
  /** Why, naming the secret it needs; no secret value. */
  reason: string;
}

export interface SeedFactsRead {
  descriptions: SeedDescription[];
  unread: UnreadSeedFile[];
}

/**
 * What the seed files state in clear, opening no secret: what plan, drift and validate use, since
 * a pull request holds no passphrase. The encrypted store (PSKC) keeps everything but the seed in
 * clear; a plain vendor file is read as it is; a wrapped delivery is unread until imported.
 */
export async function readSeedFacts(files: readonly SeedFileRef[]): Promise<SeedFactsRead> {
  const unread: UnreadSeedFile[] = [];
  const descriptions = await gather(files, async (ref) => {
    try {
      return await readDelivery(ref, undefined, FACTS_ONLY);
    } catch (error: unknown) {
      if (!(error instanceof SeedFileError) || !NEEDS_A_SECRET.has(error.code)) throw error;
      unread.push({ file: ref.path, reason: error.message });
      return undefined;
    }
  });
  return { descriptions, unread };
}

/** Refusals that only mean "a secret is needed to open this delivery". */
const NEEDS_A_SECRET: ReadonlySet<string> = new Set(["zip-password", "pgp-decrypt"]);

export function readSeedFile(ref: SeedFileRef, env: Env = process.env): Promise<Seed[]> {
  return readDelivery(ref, env, WITH_SEEDS);
}

/** How a delivery's files become records: with their seeds (apply), or only what they state in clear. */
interface RecordReader<T extends SeedDescription> {
  entraCsv(text: string, file: string): T[];
  plain(seeds: Seed[]): T[];
  pskc(text: string, file: string, credentials: PskcCredentials): T[];
}

const WITH_SEEDS: RecordReader<Seed> = {
  entraCsv: readEntraCsv,
  plain: (seeds) => seeds,
  pskc: (text, file, credentials) => readPskc(text, file, credentials).map((key) => seedFromPskc(key, file)),
};

/**
 * A plain file (made-up seeds, `allowPlaintext`) is read whole; its facts drop the secret. No
 * fingerprint: only the encrypted store carries one for plans.
 */
const FACTS_ONLY: RecordReader<SeedDescription> = {
  // The common vendor file: 100,000 rows are read without holding a secret per row.
  entraCsv: readEntraCsvFacts,
  plain: (seeds) => seeds.map(({ secret: _secret, ...description }) => description),
  pskc: (text, file) => readPskcFacts(text, file).map((key) => describePskcKey(key, file)),
};

/** `env` undefined: no secret is looked up, so a delivery that needs one is refused as needing it. */
async function readDelivery<T extends SeedDescription>(ref: SeedFileRef, env: Env | undefined, reader: RecordReader<T>): Promise<T[]> {
  const secret = (variable: string | undefined, what: string): string | undefined => {
    if (variable === undefined || env === undefined) return undefined;
    const value = env[variable];
    if (value === undefined || value === "") throw new SeedFileError(ref.path, `the ${what} is expected in the environment variable ${variable}, which is not set`, `set ${variable} (in CI: from an environment secret of the deploy job)`, undefined, undefined, "seed-secret-unset");
    return value;
  };
  const bytes = await readBytes(ref.path, "check the path in tokens.yaml `seeds` (relative to tokens.yaml) or --seeds");
  const pgpPrivateKey = ref.pgpKeyFile === undefined || env === undefined ? undefined : (await readBytes(ref.pgpKeyFile, "check `seeds[].pgpKeyFile` in tokens.yaml")).toString("utf8");
  const wrapperSecrets: WrapperSecrets = {
    ...optional("zipPassword", secret(ref.zipPasswordEnv, "zip password")),
    ...optional("pgpPrivateKey", pgpPrivateKey),
    ...optional("pgpPassphrase", secret(ref.pgpPassphraseEnv, "OpenPGP key passphrase")),
    ...optional("pgpPassword", secret(ref.pgpPasswordEnv, "OpenPGP password")),
  };
  const passphrase = secret(ref.passphraseEnv, "PSKC passphrase");
  const pskHex = secret(ref.preSharedKeyEnv, "PSKC pre-shared key");
  if (pskHex !== undefined && !/^(?:[0-9a-fA-F]{2}){16,32}$/.test(pskHex)) {
    throw new SeedFileError(ref.path, `the pre-shared key in ${ref.preSharedKeyEnv} is not 16 to 32 bytes of hex`, "give the key as the vendor sent it, in hex");
  }
  const seeds: T[] = [];
  const budget = new DeliveryBudget();
  for await (const file of unwrap(bytes, ref.path, wrapperSecrets, budget)) {
    const text = file.bytes.toString("utf8");
    const format = ref.format ?? detect(text, file.name);
    checkStructure(text, format, file.name, ref.csv?.delimiter);
    const before = seeds.length;
    switch (format) {
      case "entra-csv":
        append(seeds, reader.entraCsv(text, file.name));
        break;
      case "entra-json":
        append(seeds, reader.plain(readEntraJson(text, file.name)));
        break;
      case "custom-csv":
        if (!ref.csv) throw new SeedFileError(ref.path, "format custom-csv needs a column layout", "add `csv: { serial: <column>, secret: <column>, encoding: hex|base32|base64 }` to this seeds entry");
        append(seeds, reader.plain(readCustomCsv(text, file.name, ref.csv)));
        break;
      case "pskc":
        append(
          seeds,
          reader.pskc(text, file.name, {
            ...optional("passphrase", passphrase),
            ...optional("preSharedKey", pskHex === undefined ? undefined : Buffer.from(pskHex, "hex")),
            acceptTamperableSeeds: ref.acceptTamperableSeeds === true,
            beforeKeyDerivation: (iterations) => budget.addKeyDerivation(file.name, iterations),
          }),
        );
        break;
    }
    for (let i = before; i < seeds.length; i++) refuseUnsafeText(seeds[i]!, file.name);
  }
  return seeds;
}


/** push(...items) passes every item as an argument: a 130,000-row file overflowed the call stack. */
export function append<T>(target: T[], items: Iterable<T>): void {
  for (const item of items) target.push(item);
}

/** Counts what a parser would turn into objects (see MAX_SEED_STRUCTURE), without parsing. */
function checkStructure(text: string, format: SeedFormat, file: string, delimiter = ","): void {
  // The XML parser gathers a tag's attributes all at once: one tag with a million of them exhausts memory on its own.
  if (format === "pskc" && new RegExp(`<[^>]{${MAX_XML_TAG_CHARS}}`).test(text)) {
    throw new SeedFileError(file, `an XML tag is longer than ${MAX_XML_TAG_CHARS} characters`, "use the file as the vendor sent it; PSKC tags are short", undefined, undefined, "pskc-xml");
  }
  const pattern = format === "pskc" ? /<[^/?!]|=/g : format === "entra-json" ? /[,{[:]/g : new RegExp(`\n|${delimiter.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")}`, "g");
  const limit = format === "pskc" || format === "entra-json" ? MAX_SEED_STRUCTURE : MAX_CSV_FIELDS;
  let count = 0;
  for (pattern.lastIndex = 0; pattern.exec(text) !== null; ) {
    if (++count > limit) {
      const what = format === "pskc" ? "XML elements and attributes" : format === "entra-json" ? "JSON values" : "CSV fields";
      throw new SeedFileError(file, `the file holds more than ${limit.toLocaleString("en")} ${what}`, "split the delivery into smaller files (a file of 10,000 tokens is well within the limit)", undefined, undefined, "seed-too-many-records");
    }
  }
}

/**
 * Serial, maker, model and upn reach Graph, plans and terminals: invisible or control characters
 * there are refused, and the value is only ever shown escaped.
 */
function refuseUnsafeText(seed: SeedDescription, file: string): void {
  if (seed.serial.length > MAX_SERIAL_CHARS) throw new SeedFileError(file, `a serial is ${seed.serial.length} characters long; serials have at most ${MAX_SERIAL_CHARS}`, "check the column layout (is this column the serial?) or ask the vendor for the file again", undefined, undefined, "seed-invalid");
  for (const field of ["serial", "manufacturer", "model", "upn"] as const) {
    const value = seed[field];
    const unsafe = value === undefined ? undefined : findUnsafeCharacter(value);
    if (value === undefined || unsafe === undefined) continue;
    throw new SeedFileError(file, `the ${field} ${JSON.stringify(showEscaped(value.length > 64 ? `${value.slice(0, 64)}…` : value))} holds ${unsafe.description}, a ${unsafe.kind.replace("-", " ")}`, "such characters are invisible or control the terminal; ask the vendor for a clean file", undefined, undefined, "seed-unsafe-text");
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

async function readBytes(path: string, fix: string): Promise<Buffer> {
  const read = await readRegularFile(path, MAX_SEED_FILE_BYTES);
  if (read.ok) return read.bytes;
  switch (read.reason) {
    case "too-large":
      throw new SeedFileError(path, `the file is ${Math.round((read.size ?? 0) / 1024 / 1024)} MiB, above the ${MAX_SEED_FILE_BYTES / 1024 / 1024} MiB limit`, "check that this is the vendor's seed file", undefined, undefined, "seed-too-large");
    case "not-found":
      throw new SeedFileError(path, "the file does not exist", fix, undefined, undefined, "seed-missing");
    case "not-regular":
      throw new SeedFileError(path, `this is ${read.detail}, not a regular file`, fix, undefined, undefined, "seed-unreadable");
    default:
      throw new SeedFileError(path, `cannot read the file (${read.detail})`, fix, undefined, undefined, "seed-unreadable");
  }
}

export function detect(text: string, file: string): SeedFormat {
  if (looksLikePskc(text)) return "pskc";
  if (looksLikeEntraCsv(text)) return "entra-csv";
  if (looksLikeEntraJson(text)) return "entra-json";
  const hint = delimiterHint(firstLine(text), ",", "save it again as comma-separated CSV, or read it as a custom CSV with `seeds[].csv.delimiter` {delimiter} and its columns in `seeds[].csv.serial` and `seeds[].csv.secret`");
  throw new SeedFileError(file, "the format is not recognised", hint ?? "name it in tokens.yaml: seeds: [{ file: ..., format: entra-csv | entra-json | pskc | custom-csv }]");
}

/** Entra takes 6-digit TOTP tokens with a 30 or 60 s step; anything else is refused here, with why. */
function describePskcKey(key: PskcKeyFacts, file: string): SeedDescription {
  const fail = (message: string, fix: string) => new SeedFileError(file, message, fix, undefined, key.serial);
  if (isHotpAlgorithm(key.algorithm)) throw fail("this is a counter-based (HOTP) token", "Entra accepts only time-based (TOTP) hardware tokens: ask the vendor for TOTP tokens");
  if (!isTotpAlgorithm(key.algorithm)) throw fail(`the algorithm ${key.algorithm || "(none)"} is not TOTP`, "Entra accepts only TOTP hardware tokens");
  if (key.digits !== undefined && key.digits !== 6) throw fail(`the token shows ${key.digits} digits`, "Entra accepts 6-digit tokens only");
  const interval = key.timeInterval ?? 30;
  if (interval !== 30 && interval !== 60) throw fail(`the time step is ${interval} s`, "Entra supports 30- and 60-second tokens only");
  const hash: HashFunction = /sha-?256/i.test(key.suite ?? "") ? "hmacsha256" : "hmacsha1";
  return {
    serial: key.serial,
    timeIntervalInSeconds: interval satisfies TimeInterval,
    hashFunction: hash,
    ...(key.manufacturer === undefined ? {} : { manufacturer: key.manufacturer }),
    ...(key.model === undefined ? {} : { model: key.model }),
    ...(key.fingerprint === undefined ? {} : { fingerprint: key.fingerprint }),
  };
}

/**
 * The key's description and its decrypted seed. The fingerprint in clear must be this seed's: a
 * ciphertext moved to another key package keeps its MAC, but not its fingerprint (which names the serial).
 */
function seedFromPskc(key: PskcKey, file: string): Seed {
  const { fingerprint, ...description } = describePskcKey(key, file);
  const secret = secretFromBytes(key.secret);
  if (!secret.ok) throw new SeedFileError(file, secret.reason, "ask the vendor for a seed Entra accepts", undefined, key.serial);
  if (fingerprint !== undefined && fingerprint !== seedFingerprint(key.serial, secret.secret.reveal())) {
    throw new SeedFileError(file, "the seed does not match the fingerprint stored beside it: the file was altered (a seed moved to another serial?)", "restore the file from git history or import the vendor's delivery again with `entra-tokens seeds import`", undefined, key.serial, "seed-fingerprint-mismatch");
  }
  return { ...description, secret: secret.secret };
}
