import { constants as fsConstants, promises as fs } from "node:fs";
import { dirname, resolve } from "node:path";
import * as openpgp from "openpgp";
import type { CsvLayout, Desired, SeedFileRef, SeedFormat } from "../model/index.js";
import { SeedFileError } from "../seeds/errors.js";
import { entraCsv, entraJson, type ExportRow } from "../seeds/export.js";
import type { Seed, SeedDescription } from "../seeds/model.js";
import { publishableFingerprint } from "../seeds/fingerprint.js";
import { decodeBase32 } from "../seeds/normalize.js";
import { writePskc } from "../seeds/pskc.js";
import { append, readSeedFacts, readSeedFile, readSeedFiles } from "../seeds/read.js";
import { escapeTerminal } from "../safety/escape.js";
import { PLAN_FORMAT_VERSION } from "../plan/render.js";
import { DEFAULT_PASSPHRASE_ENV, EXIT, type ExportFormat, type ListFormat } from "./formats.js";
import { guard, loadValidDesired, processIo, ReportedFailure } from "./reconcile.js";
import { jsonToStdout } from "./json-error.js";

// seeds import / list / export: the file side of enrolment. Secrets go only into files
// written with mode 600 (or to stdout when asked with `--out -`), never to the terminal otherwise.

export { DEFAULT_PASSPHRASE_ENV };
const err = (text: string) => process.stderr.write(`${text}\n`);

/** How `seeds import` and `seeds list` open a vendor file (commander's names for the flags). */
export interface SeedInputFlags {
  inputFormat?: SeedFormat;
  inputPassphraseEnv?: string;
  pskEnv?: string;
  zipPasswordEnv?: string;
  pgpKey?: string;
  pgpPassphraseEnv?: string;
  pgpPasswordEnv?: string;
  csvSerial?: string | number;
  csvSecret?: string | number;
  csvTimeInterval?: string | number;
  csvManufacturer?: string | number;
  csvModel?: string | number;
  csvCounter?: string | number;
  encoding?: CsvLayout["encoding"];
  /** false with --no-header. */
  header?: boolean;
  delimiter?: string;
  /** PSKC: accept encrypted seeds without a ValueMAC (tampering would go unnoticed). */
  acceptTamperableSeeds?: boolean;
}

export interface ImportOutput {
  out: string;
  passphraseEnv: string;
  recipient?: string;
  force: boolean;
}

/** The seed file reference the flags describe, or why they do not fit together. */
export function refFromFlags(path: string, flags: SeedInputFlags): SeedFileRef {
  const mapped = flags.csvSerial !== undefined || flags.csvSecret !== undefined || flags.inputFormat === "custom-csv";
  const csvOnly = [
    ["--csv-time-interval", flags.csvTimeInterval],
    ["--csv-manufacturer", flags.csvManufacturer],
    ["--csv-model", flags.csvModel],
    ["--csv-counter", flags.csvCounter],
    ["--encoding", flags.encoding],
    ["--no-header", flags.header === false ? true : undefined],
    ["--delimiter", flags.delimiter],
  ].filter(([, value]) => value !== undefined);
  if (!mapped && csvOnly.length > 0) {
    throw new ReportedFailure(`${csvOnly.map(([flag]) => flag).join(", ")} apply to a custom CSV: name its columns with --csv-serial and --csv-secret`);
  }
  if (mapped && flags.inputFormat !== undefined && flags.inputFormat !== "custom-csv") {
    throw new ReportedFailure(`--csv-* columns describe a custom CSV, but --input-format is ${flags.inputFormat}: leave one out`);
  }
  let csv: CsvLayout | undefined;
  if (mapped) {
    if (flags.csvSerial === undefined || flags.csvSecret === undefined) throw new ReportedFailure("a custom CSV needs both --csv-serial and --csv-secret (a header name or a column number from 1)");
    csv = {
      serial: flags.csvSerial,
      secret: flags.csvSecret,
      ...optional("timeInterval", flags.csvTimeInterval),
      ...optional("manufacturer", flags.csvManufacturer),
      ...optional("model", flags.csvModel),
      ...optional("counter", flags.csvCounter),
      ...optional("encoding", flags.encoding),
      ...(flags.header === false ? { header: false } : {}),
      ...optional("delimiter", flags.delimiter),
    };
  }
  return {
    path,
    ...(csv ? { format: "custom-csv" as const, csv } : optional("format", flags.inputFormat)),
    ...optional("passphraseEnv", flags.inputPassphraseEnv),
    ...optional("preSharedKeyEnv", flags.pskEnv),
    ...optional("zipPasswordEnv", flags.zipPasswordEnv),
    ...optional("pgpKeyFile", flags.pgpKey),
    ...optional("pgpPassphraseEnv", flags.pgpPassphraseEnv),
    ...optional("pgpPasswordEnv", flags.pgpPasswordEnv),
    ...(flags.acceptTamperableSeeds ? { acceptTamperableSeeds: true } : {}),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

// The seed readers explain fixes in tokens.yaml's terms (`seeds[].zipPasswordEnv`); a file named on
// the command line is opened with flags, so its errors are told in the flags' terms instead.
const SETTING_FLAGS: Record<string, string> = {
  passphraseEnv: "--input-passphrase-env",
  preSharedKeyEnv: "--psk-env",
  zipPasswordEnv: "--zip-password-env",
  pgpKeyFile: "--pgp-key",
  pgpPassphraseEnv: "--pgp-passphrase-env",
  pgpPasswordEnv: "--pgp-password-env",
  acceptTamperableSeeds: "--accept-tamperable-seeds",
  "csv.serial": "--csv-serial",
  "csv.secret": "--csv-secret",
  "csv.timeInterval": "--csv-time-interval",
  "csv.manufacturer": "--csv-manufacturer",
  "csv.model": "--csv-model",
  "csv.counter": "--csv-counter",
  "csv.encoding": "--encoding",
  "csv.delimiter": "--delimiter",
};
const PHRASES: [RegExp, string][] = [
  [/check the path in tokens\.yaml `seeds` \(relative to tokens\.yaml\) or --seeds/g, "check the path"],
  [/name it in tokens\.yaml: seeds: \[\{ file: \.\.\., format: [^\]]*\]/g, "pass --input-format entra-csv|entra-json|pskc, or name the columns of a custom CSV with --csv-serial and --csv-secret"],
  [/add `csv: \{[^`]*\}` to this seeds entry/g, "name its columns with --csv-serial and --csv-secret (and --encoding hex|base32|base64)"],
  [/ \(or --passphrase-env\)/g, ""],
  [/(?:tokens\.yaml )?`?seeds\[\]\.(passphraseEnv|preSharedKeyEnv|zipPasswordEnv|pgpKeyFile|pgpPassphraseEnv|pgpPasswordEnv|acceptTamperableSeeds|csv\.\w+)`?/g, "$1"],
];

export function inFlagTerms(message: string): string {
  let text = message;
  for (const [pattern, replacement] of PHRASES) text = text.replace(pattern, replacement);
  return text.replace(/\b(passphraseEnv|preSharedKeyEnv|zipPasswordEnv|pgpKeyFile|pgpPassphraseEnv|pgpPasswordEnv|acceptTamperableSeeds|csv\.\w+)\b/g, (name: string) => SETTING_FLAGS[name] ?? name);
}

/** Reads files named on the command line; their errors speak of the flags. */
async function readFromFlags(files: readonly string[], flags: SeedInputFlags, each?: (path: string, seeds: Seed[]) => void): Promise<Seed[]> {
  const seeds: Seed[] = [];
  for (const path of files) {
    const ref = refFromFlags(path, flags);
    let read: Seed[];
    try {
      read = await readSeedFile(ref);
    } catch (error: unknown) {
      if (error instanceof SeedFileError) throw new ReportedFailure(inFlagTerms(error.message));
      throw error;
    }
    each?.(path, read);
    append(seeds, read);
  }
  return seeds;
}

/**
 * Where a file holding secrets is about to go: its folder is created, and an existing file, a
 * folder in its place or a folder we cannot write is refused here, before anything is decrypted.
 */
async function prepareOutput(out: string, force: boolean): Promise<void> {
  const folder = dirname(resolve(out));
  try {
    await fs.mkdir(folder, { recursive: true });
    await fs.access(folder, fsConstants.W_OK);
  } catch (error: unknown) {
    const code = error instanceof Error && "code" in error ? String(error.code) : "unknown error";
    throw new ReportedFailure(`cannot write to the folder of ${out} (${code}); choose another --out`);
  }
  // lstat: a link is not followed, so /dev/stdout (a link to the terminal or a pipe) is refused like
  // any device: secrets reach stdout only when asked for with `--out -`.
  const existing = await fs.lstat(out).catch(() => undefined);
  if (existing && !existing.isFile() && !existing.isDirectory()) {
    throw new ReportedFailure(`${out} is ${existing.isSymbolicLink() ? "a link" : "not a regular file"}; give a new file name with --out${out.startsWith("/dev/") ? ", or --out - to write to stdout" : ""}`);
  }
  if (existing?.isDirectory()) throw new ReportedFailure(`${out} is a folder; give a file name with --out, e.g. ${out.replace(/\/?$/, "/seeds.pskc")}`);
  if (existing && !force) throw new ReportedFailure(`${out} exists; pass --force to replace it`);
}

export async function importCommand(files: readonly string[], input: SeedInputFlags, output: ImportOutput): Promise<number> {
  return guard(async () => {
    // Everything that can be checked without the seeds is checked before any input is decrypted.
    for (const path of files) refFromFlags(path, input);
    await prepareOutput(output.out, output.force);
    let encryptionKeys: openpgp.Key | undefined;
    let passphrase: string | undefined;
    if (output.recipient) {
      const armoredKey = await fs.readFile(output.recipient, "utf8");
      try {
        encryptionKeys = await openpgp.readKey({ armoredKey });
      } catch {
        throw new ReportedFailure(`${output.recipient} is not an armored OpenPGP public key (--recipient)`);
      }
      // Checked before any seed is read: openpgp.js would only fail at encrypt time, in its own words.
      await encryptionKeys.getEncryptionKey().catch(() => {
        const fingerprint = encryptionKeys?.getFingerprint().toUpperCase() ?? "<fingerprint>";
        throw new ReportedFailure(
          `${output.recipient} (--recipient, key ${fingerprint}) holds no key that can encrypt: it has no encryption subkey, or that subkey is expired or revoked; nothing was written. ` +
            `Fix: add an encryption subkey (gpg --quick-add-key ${fingerprint} cv25519 encr), export the public key again (gpg --armor --export ${fingerprint} > ${output.recipient}), or protect the store with a passphrase instead of --recipient`,
          { code: "pgp-no-encryption-key" },
        );
      });
    } else {
      passphrase = process.env[output.passphraseEnv];
      if (!passphrase) throw new ReportedFailure(`set the passphrase for the encrypted seed file in ${output.passphraseEnv} (or name another variable with --out-passphrase-env)`);
      if (passphrase.length < 12) throw new ReportedFailure(`the passphrase in ${output.passphraseEnv} is shorter than 12 characters; use a long random one (e.g. openssl rand -base64 24)`);
    }
    const seeds = await readFromFlags(files, input, (path, read) => err(`${path}: ${read.length} TOTP seeds`));
    const serials = new Set<string>();
    for (const s of seeds) {
      if (serials.has(s.serial.toUpperCase())) throw new ReportedFailure(`serial ${s.serial} appears in more than one input; keep one`);
      serials.add(s.serial.toUpperCase());
    }
    let content: string;
    let how: string;
    if (encryptionKeys) {
      const rows = seeds.map((seed) => ({ seed, manufacturer: seed.manufacturer ?? "", model: seed.model ?? "" }));
      content = await openpgp.encrypt({ message: await openpgp.createMessage({ text: entraCsv(rows) }), encryptionKeys });
      how = `OpenPGP to ${encryptionKeys.getUserIDs()[0] ?? encryptionKeys.getKeyID().toHex()}; add to tokens.yaml: seeds: [{ file: ${output.out}, pgpKeyFile: <private key>, pgpPassphraseEnv: <VAR> }]`;
    } else {
      content = writePskc(
        seeds.map((s) => ({
          serial: s.serial,
          secret: decodeBase32(s.secret.reveal()),
          timeInterval: s.timeIntervalInSeconds ?? 30,
          suite: s.hashFunction === "hmacsha256" ? "HMAC-SHA256" : "HMAC-SHA1",
          ...(s.manufacturer ? { manufacturer: s.manufacturer } : {}),
          ...(s.model ? { model: s.model } : {}),
          ...optional("fingerprint", publishableFingerprint(s.serial, s.secret.reveal())),
        })),
        passphrase ?? "",
      );
      how = `PSKC, PBKDF2 passphrase-based; add to tokens.yaml: seeds: [{ file: ${output.out}, passphraseEnv: ${output.passphraseEnv} }]`;
    }
    await writePrivate(output.out, content);
    process.stdout.write(`Wrote ${seeds.length} seeds to ${output.out} (${how}).\n`);
    return EXIT.ok;
  });
}

/** `seeds list`: what a store holds, by serial; the secrets stay in memory, unprinted. */
export async function listCommand(files: readonly string[], input: SeedInputFlags, options: { file: string; format: ListFormat }): Promise<number> {
  return guard(async () => {
    // From tokens.yaml, the facts in clear: like plan, listing the store needs no secret.
    let seeds: SeedDescription[];
    // A store is opened with the one default variable `seeds import` writes with, when it is set and
    // no other is named (only when set: a file that needs no passphrase does not ask for it).
    if (files.length > 0) seeds = await readFromFlags(files, input.inputPassphraseEnv === undefined && process.env[DEFAULT_PASSPHRASE_ENV] ? { ...input, inputPassphraseEnv: DEFAULT_PASSPHRASE_ENV } : input);
    else {
      const { descriptions, unread } = await readSeedFacts((await loadValidDesired(options.file, processIo, options.format)).seedFiles);
      for (const file of unread) err(`not listed: ${escapeTerminal(file.reason, 1_000)}`);
      seeds = descriptions;
    }
    const rows = seeds
      .map((s) => ({
        serial: s.serial,
        timeIntervalInSeconds: s.timeIntervalInSeconds ?? null,
        hashFunction: s.hashFunction ?? null,
        manufacturer: s.manufacturer ?? null,
        model: s.model ?? null,
      }))
      .sort((a, b) => a.serial.localeCompare(b.serial));
    if (options.format === "json") {
      process.stdout.write(`${JSON.stringify({ formatVersion: PLAN_FORMAT_VERSION, seeds: rows }, null, 2)}\n`);
      return EXIT.ok;
    }
    const header = ["serial", "interval", "hash", "manufacturer", "model"];
    const table = [header, ...rows.map((r) => [r.serial, r.timeIntervalInSeconds === null ? "-" : `${r.timeIntervalInSeconds}s`, r.hashFunction ?? "-", r.manufacturer ?? "-", r.model ?? "-"])];
    const widths = header.map((_, i) => table.reduce((widest, row) => Math.max(widest, row[i]!.length), 0));
    for (const row of table) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()}\n`);
    process.stdout.write(`${rows.length} seed${rows.length === 1 ? "" : "s"}\n`);
    return EXIT.ok;
  }, undefined, jsonToStdout(options.format));
}

export async function exportCommand(options: { file: string; format: ExportFormat; out: string; force: boolean }): Promise<number> {
  return guard(async () => {
    const toStdout = options.out === "-";
    if (!toStdout) await prepareOutput(options.out, options.force);
    const desired: Desired = await loadValidDesired(options.file, processIo, toStdout ? options.format : "text");
    const store = await readSeedFiles(desired.seedFiles);
    const rows: ExportRow[] = [];
    // A retired token is lost or broken: uploading it would bring it back into the pool.
    for (const token of desired.tokens.filter((t) => t.state !== "retired")) {
      const seed = store.get(token.serial);
      if (!seed) {
        err(`skipped ${token.serial}: no seed`);
        continue;
      }
      rows.push({ seed, manufacturer: token.manufacturer, model: token.model, ...(token.upn && token.state !== "available" ? { upn: token.upn } : {}) });
    }
    const content = options.format === "entra-csv" ? entraCsv(rows) : entraJson(rows);
    if (options.format === "entra-csv") {
      // how-to-mfa-upload-oath-tokens.md: portal-uploaded tokens are not compatible with the Graph API this tool uses.
      err("Warning: tokens uploaded with this CSV in the admin portal are not in the Graph inventory, so entra-tokens will not manage them (and refuses to create their serials again); see docs/entra-rules.md.");
    }
    if (toStdout) {
      process.stdout.write(content);
      err(`Wrote ${rows.length} tokens to stdout (${options.format}; it holds secrets).`);
      return EXIT.ok;
    }
    await writePrivate(options.out, content);
    process.stdout.write(`Wrote ${rows.length} tokens to ${options.out} (${options.format}; it holds secrets: upload it, then delete it).\n`);
    return EXIT.ok;
  });
}

async function writePrivate(path: string, content: string): Promise<void> {
  await fs.writeFile(path, content, { mode: 0o600 });
  await fs.chmod(path, 0o600);
}
