import { promises as fs } from "node:fs";
import type { HashFunction, SeedFileRef, SeedFormat, TimeInterval } from "../model/index.js";
import { readCustomCsv } from "./custom-csv.js";
import { looksLikeEntraCsv, readEntraCsv } from "./entra-csv.js";
import { looksLikeEntraJson, readEntraJson } from "./entra-json.js";
import { SeedFileError } from "./errors.js";
import { SeedStore, type Seed } from "./model.js";
import { secretFromBytes } from "./normalize.js";
import { isHotpAlgorithm, isTotpAlgorithm, looksLikePskc, readPskc, type PskcKey } from "./pskc.js";
import { unwrap, type WrapperSecrets } from "./wrappers.js";

/** Seed files larger than this are refused: a real one holds a few MB at most. */
const MAX_SEED_FILE_BYTES = 50 * 1024 * 1024;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads every seed file into one store; secrets for encrypted files come from `env`. */
export async function readSeedFiles(files: readonly SeedFileRef[], env: Env = process.env): Promise<SeedStore> {
  const store = new SeedStore();
  for (const ref of files) {
    for (const seed of await readSeedFile(ref, env)) {
      if (store.get(seed.serial)) throw new SeedFileError(ref.path, "this serial already came from another seed file", "keep each token's seed in one file", undefined, seed.serial);
      store.add(seed);
    }
  }
  return store;
}

export async function readSeedFile(ref: SeedFileRef, env: Env = process.env): Promise<Seed[]> {
  const secret = (variable: string | undefined, what: string): string | undefined => {
    if (variable === undefined) return undefined;
    const value = env[variable];
    if (value === undefined || value === "") throw new SeedFileError(ref.path, `the ${what} is expected in the environment variable ${variable}, which is not set`, `set ${variable} (in CI: from a repository secret)`);
    return value;
  };
  const bytes = await readBytes(ref.path, "check the path in tokens.yaml `seeds` (relative to tokens.yaml) or --seeds");
  const pgpPrivateKey = ref.pgpKeyFile === undefined ? undefined : (await readBytes(ref.pgpKeyFile, "check `seeds[].pgpKeyFile` in tokens.yaml")).toString("utf8");
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
  const seeds: Seed[] = [];
  for (const file of await unwrap(bytes, ref.path, wrapperSecrets)) {
    const text = file.bytes.toString("utf8");
    const format = ref.format ?? detect(text, file.name);
    switch (format) {
      case "entra-csv":
        append(seeds, readEntraCsv(text, file.name));
        break;
      case "entra-json":
        append(seeds, readEntraJson(text, file.name));
        break;
      case "custom-csv":
        if (!ref.csv) throw new SeedFileError(ref.path, "format custom-csv needs a column layout", "add `csv: { serial: <column>, secret: <column>, encoding: hex|base32|base64 }` to this seeds entry");
        append(seeds, readCustomCsv(text, file.name, ref.csv));
        break;
      case "pskc": {
        const keys = readPskc(text, file.name, { ...optional("passphrase", passphrase), ...optional("preSharedKey", pskHex === undefined ? undefined : Buffer.from(pskHex, "hex")) });
        for (const key of keys) seeds.push(seedFromPskc(key, file.name));
        break;
      }
    }
  }
  return seeds;
}

/** push(...items) passes every item as an argument: a 130,000-row file overflowed the call stack. */
export function append<T>(target: T[], items: Iterable<T>): void {
  for (const item of items) target.push(item);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

async function readBytes(path: string, fix: string): Promise<Buffer> {
  try {
    const stat = await fs.stat(path);
    if (stat.size > MAX_SEED_FILE_BYTES) throw new SeedFileError(path, `the file is ${Math.round(stat.size / 1024 / 1024)} MiB`, "check that this is the vendor's seed file");
    return await fs.readFile(path);
  } catch (error: unknown) {
    if (error instanceof SeedFileError) throw error;
    const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
    throw new SeedFileError(path, `cannot read the file (${code})`, fix);
  }
}

export function detect(text: string, file: string): SeedFormat {
  if (looksLikePskc(text)) return "pskc";
  if (looksLikeEntraCsv(text)) return "entra-csv";
  if (looksLikeEntraJson(text)) return "entra-json";
  throw new SeedFileError(file, "the format is not recognised", "name it in tokens.yaml: seeds: [{ file: ..., format: entra-csv | entra-json | pskc | custom-csv }]");
}

/** Entra takes 6-digit TOTP tokens with a 30 or 60 s step; anything else is refused here, with why. */
function seedFromPskc(key: PskcKey, file: string): Seed {
  const fail = (message: string, fix: string) => new SeedFileError(file, message, fix, undefined, key.serial);
  if (isHotpAlgorithm(key.algorithm)) throw fail("this is a counter-based (HOTP) token", "Entra accepts only time-based (TOTP) hardware tokens: ask the vendor for TOTP tokens");
  if (!isTotpAlgorithm(key.algorithm)) throw fail(`the algorithm ${key.algorithm || "(none)"} is not TOTP`, "Entra accepts only TOTP hardware tokens");
  if (key.digits !== undefined && key.digits !== 6) throw fail(`the token shows ${key.digits} digits`, "Entra accepts 6-digit tokens only");
  const interval = key.timeInterval ?? 30;
  if (interval !== 30 && interval !== 60) throw fail(`the time step is ${interval} s`, "Entra supports 30- and 60-second tokens only");
  const secret = secretFromBytes(key.secret);
  if (!secret.ok) throw fail(secret.reason, "ask the vendor for a seed Entra accepts");
  const hash: HashFunction = /sha-?256/i.test(key.suite ?? "") ? "hmacsha256" : "hmacsha1";
  return {
    serial: key.serial,
    secret: secret.secret,
    timeIntervalInSeconds: interval satisfies TimeInterval,
    hashFunction: hash,
    ...(key.manufacturer === undefined ? {} : { manufacturer: key.manufacturer }),
    ...(key.model === undefined ? {} : { model: key.model }),
  };
}
