import { existsSync, promises as fs } from "node:fs";
import * as openpgp from "openpgp";
import { assignFromPool, parseUsersFile } from "../desired/assign.js";
import type { Desired, SeedFileRef, SeedFormat } from "../model/index.js";
import { entraCsv, entraJson, type ExportRow } from "../seeds/export.js";
import type { Seed } from "../seeds/model.js";
import { decodeBase32 } from "../seeds/normalize.js";
import { writePskc } from "../seeds/pskc.js";
import { append, readSeedFile, readSeedFiles } from "../seeds/read.js";
import { guard, loadValidDesired, ReportedFailure } from "./reconcile.js";

// seeds import / seeds export / assign: the file side of enrolment. Secrets go only into files
// written with mode 600, never to the terminal.

export const DEFAULT_PASSPHRASE_ENV = "ENTRA_TOKENS_SEED_PASSPHRASE";
const err = (text: string) => process.stderr.write(`${text}\n`);

export interface ImportOptions {
  out: string;
  format?: SeedFormat;
  passphraseEnv: string;
  recipient?: string;
  force: boolean;
  inputPassphraseEnv?: string;
  preSharedKeyEnv?: string;
  zipPasswordEnv?: string;
  pgpKey?: string;
  pgpPassphraseEnv?: string;
}

export async function importCommand(files: readonly string[], options: ImportOptions): Promise<number> {
  return guard(async () => {
    if (existsSync(options.out) && !options.force) throw new ReportedFailure(`${options.out} exists; pass --force to replace it`);
    const seeds: Seed[] = [];
    for (const path of files) {
      const ref: SeedFileRef = {
        path,
        ...(options.format ? { format: options.format } : {}),
        ...(options.inputPassphraseEnv ? { passphraseEnv: options.inputPassphraseEnv } : {}),
        ...(options.preSharedKeyEnv ? { preSharedKeyEnv: options.preSharedKeyEnv } : {}),
        ...(options.zipPasswordEnv ? { zipPasswordEnv: options.zipPasswordEnv } : {}),
        ...(options.pgpKey ? { pgpKeyFile: options.pgpKey } : {}),
        ...(options.pgpPassphraseEnv ? { pgpPassphraseEnv: options.pgpPassphraseEnv } : {}),
      };
      const read = await readSeedFile(ref);
      err(`${path}: ${read.length} TOTP seeds`);
      append(seeds, read);
    }
    const serials = new Set<string>();
    for (const s of seeds) {
      if (serials.has(s.serial.toUpperCase())) throw new ReportedFailure(`serial ${s.serial} appears in more than one input; keep one`);
      serials.add(s.serial.toUpperCase());
    }
    let content: string;
    let how: string;
    if (options.recipient) {
      const armoredKey = await fs.readFile(options.recipient, "utf8");
      let encryptionKeys;
      try {
        encryptionKeys = await openpgp.readKey({ armoredKey });
      } catch {
        throw new ReportedFailure(`${options.recipient} is not an armored OpenPGP public key`);
      }
      const rows = seeds.map((seed) => ({ seed, manufacturer: seed.manufacturer ?? "", model: seed.model ?? "" }));
      content = await openpgp.encrypt({ message: await openpgp.createMessage({ text: entraCsv(rows) }), encryptionKeys });
      how = `OpenPGP to ${encryptionKeys.getUserIDs()[0] ?? encryptionKeys.getKeyID().toHex()}; add to tokens.yaml: seeds: [{ file: ${options.out}, pgpKeyFile: <private key>, pgpPassphraseEnv: <VAR> }]`;
    } else {
      const passphrase = process.env[options.passphraseEnv];
      if (!passphrase) throw new ReportedFailure(`set the passphrase for the encrypted seed file in ${options.passphraseEnv} (or name another variable with --passphrase-env)`);
      if (passphrase.length < 12) throw new ReportedFailure(`the passphrase in ${options.passphraseEnv} is shorter than 12 characters; use a long random one (e.g. openssl rand -base64 24)`);
      content = writePskc(
        seeds.map((s) => ({
          serial: s.serial,
          secret: decodeBase32(s.secret.reveal()),
          timeInterval: s.timeIntervalInSeconds ?? 30,
          suite: s.hashFunction === "hmacsha256" ? "HMAC-SHA256" : "HMAC-SHA1",
          ...(s.manufacturer ? { manufacturer: s.manufacturer } : {}),
          ...(s.model ? { model: s.model } : {}),
        })),
        passphrase,
      );
      how = `PSKC, PBKDF2 passphrase-based; add to tokens.yaml: seeds: [{ file: ${options.out}, passphraseEnv: ${options.passphraseEnv} }]`;
    }
    await writePrivate(options.out, content);
    process.stdout.write(`Wrote ${seeds.length} seeds to ${options.out} (${how}).\n`);
    return 0;
  });
}

export async function exportCommand(options: { file: string; format: "entra-csv" | "entra-json"; out: string; force: boolean }): Promise<number> {
  return guard(async () => {
    if (existsSync(options.out) && !options.force) throw new ReportedFailure(`${options.out} exists; pass --force to replace it`);
    const desired: Desired = await loadValidDesired(options.file);
    const store = await readSeedFiles(desired.seedFiles);
    const rows: ExportRow[] = [];
    for (const token of desired.tokens) {
      const seed = store.get(token.serial);
      if (!seed) {
        err(`skipped ${token.serial}: no seed`);
        continue;
      }
      rows.push({ seed, manufacturer: token.manufacturer, model: token.model, ...(token.upn && token.state !== "available" ? { upn: token.upn } : {}) });
    }
    await writePrivate(options.out, options.format === "entra-csv" ? entraCsv(rows) : entraJson(rows));
    process.stdout.write(`Wrote ${rows.length} tokens to ${options.out} (${options.format}; it holds secrets: upload it, then delete it).\n`);
    return 0;
  });
}

export async function assignCommand(options: { file: string; users: string; state: "assigned" | "activated"; dryRun: boolean }): Promise<number> {
  return guard(async () => {
    const users = parseUsersFile(await fs.readFile(options.users, "utf8"), options.users);
    const result = assignFromPool(await fs.readFile(options.file, "utf8"), options.file, users, options.state);
    for (const a of result.assigned) process.stdout.write(`${a.serial} → ${a.upn}\n`);
    for (const s of result.skipped) process.stdout.write(`skipped ${s.upn}: ${s.reason}\n`);
    if (options.dryRun) {
      process.stdout.write(`(dry run: ${options.file} unchanged)\n`);
    } else if (result.assigned.length > 0) {
      await fs.writeFile(`${options.file}.tmp`, result.text);
      await fs.rename(`${options.file}.tmp`, options.file);
      process.stdout.write(`Updated ${options.file}: ${result.assigned.length} tokens assigned. Review with git diff, then open a pull request.\n`);
    }
    return 0;
  });
}

async function writePrivate(path: string, content: string): Promise<void> {
  await fs.writeFile(path, content, { mode: 0o600 });
  await fs.chmod(path, 0o600);
}
