import { existsSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseUsersFile } from "../desired/assign.js";
import { addDelivery, type SeedEntry } from "../desired/delivery.js";
import { unifiedDiff } from "../desired/edit.js";
import { importTenant } from "../desired/import.js";
import { assignFromPool, leaver, replaceToken, retireTokens, type LifecycleResult } from "../desired/lifecycle.js";
import { PermissionError } from "../graph/errors.js";
import { readLive } from "../graph/live.js";
import type { TokenRepository } from "../graph/repository.js";
import type { Desired, LiveState, SeedFileRef } from "../model/index.js";
import { MAX_FILE_BYTES } from "../desired/load.js";
import { InputFileError, readInputText } from "../safety/regular-file.js";
import { repositoryRoot, resolvesOutside } from "../safety/repository.js";
import { replaceFile } from "../safety/replace-file.js";
import { escapeTerminal } from "../safety/escape.js";
import { readSeedFile } from "../seeds/read.js";
import { connect, guard, loadValidDesired, type ConnectionOptions } from "./reconcile.js";
import { refFromFlags, type SeedInputFlags } from "./seeds.js";

// import / add / assign / retire / replace / leaver: the token lifecycle as edits of tokens.yaml, each shown
// as a diff with --dry-run, otherwise written in place for review in a pull request.

const out = (text: string) => process.stdout.write(`${text}\n`);
const REVIEW = "Review with `git diff`, then open a pull request; `entra-tokens plan` shows what it will do in Entra.";
// `git diff` shows nothing for a file git does not track yet.
const REVIEW_NEW = "Review it, `git add` it, then open a pull request; `entra-tokens plan` shows what it will do in Entra.";

interface EditFlags {
  file: string;
  dryRun: boolean;
}

/** Prints the diff (dry run) or writes the file atomically. `created`: the file did not exist before. */
async function writeEdit(flags: EditFlags, before: string, after: string, summary: readonly string[], created = false): Promise<number> {
  for (const line of summary) out(line);
  if (flags.dryRun) {
    process.stdout.write(unifiedDiff(flags.file, before, after));
    out(`(dry run: ${flags.file} unchanged)`);
    return 0;
  }
  if (before === after) return 0;
  await replaceFile(flags.file, after, created ? null : before);
  out(created ? `Wrote ${flags.file}. ${REVIEW_NEW}` : `Updated ${flags.file}. ${REVIEW}`);
  return 0;
}

/** tokens.yaml's text for an edit; refused when it resolves outside its repository (a linked folder on the way). */
async function readTokensText(file: string): Promise<string> {
  const root = await repositoryRoot(file);
  const real = await resolvesOutside(file, root);
  if (real !== undefined) {
    throw new InputFileError(`${file} (--file) resolves to ${real}, outside the repository ${root}; nothing was read or changed: name a tokens.yaml inside the repository (a folder on the way is a link that leads out of it)`);
  }
  return readInputText(file, "--file", MAX_FILE_BYTES);
}

/** A users file lists people, one a line: 4 MiB is some 50,000 addresses. */
export const USERS_FILE_BYTES = 4 * 1024 * 1024;

const today = () => new Date().toISOString().slice(0, 10);

export async function importCommand(flags: EditFlags & ConnectionOptions & { selfService: boolean }): Promise<number> {
  return guard(async () => {
    const exists = existsSync(flags.file);
    const before = exists ? await readTokensText(flags.file) : "";
    const desired: Desired = exists
      ? await loadValidDesired(flags.file)
      : { file: flags.file, version: 1, policy: { unmanaged: "report", maxDeletes: 0 }, seedFiles: [], tokens: [] };
    const repository = connect(flags);
    const live = await readLive(repository, desired);
    const portal = await portalTokenLines(repository, desired, live);
    // The editor line only for a tokens.yaml inside this project, where the schema's path is stable.
    const root = resolve(__dirname, "..", "..", "..");
    const schema = resolve(root, "schemas", "tokens.schema.json");
    const inProject = !relative(root, resolve(flags.file)).startsWith("..");
    const schemaPath = inProject && existsSync(schema) ? relative(dirname(resolve(flags.file)), schema).split("\\").join("/") : undefined;
    const result = importTenant(flags.file, exists ? before : undefined, live, {
      selfService: flags.selfService,
      ...(schemaPath === undefined ? {} : { schemaPath: schemaPath.startsWith(".") ? schemaPath : `./${schemaPath}` }),
    });
    const summary = [
      `${result.added.length} tokens from the tenant ${exists ? `added to ${flags.file}` : `in a new ${flags.file}`} (${live.devices.length} in Entra).`,
      // Serials and UPNs are the tenant's values: escaped like every other line about them.
      ...result.claimed.map((c) => `${escapeTerminal(c.serial, 200)}: claimed by ${escapeTerminal(c.upn, 200)} (self-service), recorded as theirs`),
      ...result.unresolved.map((s) => `${escapeTerminal(s, 200)}: held by an account Graph cannot name; written as a pool token`),
      ...portal,
    ];
    return writeEdit(flags, before, result.text, summary, !exists);
  });
}

/**
 * Portal-uploaded tokens (in no inventory) of the users who hold inventory tokens or whom tokens.yaml
 * names: reported, not written, since their seed is only in the CSV that was uploaded. Users with
 * portal tokens alone are not found (that would mean reading every user's methods).
 */
async function portalTokenLines(repository: TokenRepository, desired: Desired, live: LiveState): Promise<string[]> {
  const holders = new Set(live.devices.flatMap((d) => (d.assignedTo ? [d.assignedTo.id.toLowerCase()] : [])));
  for (const token of desired.tokens) {
    const user = token.upn === undefined ? undefined : live.directory.users.get(token.upn.toLowerCase());
    if (user) holders.add(user.id.toLowerCase());
  }
  let found: Map<string, { id: string; serial: string }[]>;
  try {
    found = await repository.portalTokens([...holders], new Set(live.devices.map((d) => d.id)));
  } catch (error: unknown) {
    if (!(error instanceof PermissionError)) throw error;
    return [`Portal-uploaded tokens were not looked for: the app lacks ${error.permission} (or UserAuthenticationMethod.Read.All).`];
  }
  return [...found].flatMap(([userId, tokens]) => {
    const upn = live.directory.users.get(userId)?.userPrincipalName ?? userId;
    return tokens.map(
      (token) =>
        `${escapeTerminal(token.serial, 200)}: a token of ${escapeTerminal(upn, 200)} uploaded through the admin portal (method id ${escapeTerminal(token.id, 100)}), in no inventory: not written. ` +
        "To manage it, add its seed file to `seeds` and an entry for it to tokens.yaml, then run `entra-tokens migrate` (docs/entra-rules.md).",
    );
  });
}

export interface AddFlags extends EditFlags {
  users?: string;
  state: "assigned" | "activated";
}

/** `add`: the seed file is opened with the same flags as `seeds import` and `seeds list` (SeedInputFlags). */
export async function addCommand(seedFile: string, input: SeedInputFlags, flags: AddFlags): Promise<number> {
  return guard(async () => {
    const base = dirname(resolve(flags.file));
    const inFile = (path: string) => relative(base, resolve(path)).split("\\").join("/");
    const ref: SeedFileRef = refFromFlags(seedFile, input);
    // tokens.yaml's entry: the same names (never the secrets), its paths relative to tokens.yaml.
    const { path: _path, pgpKeyFile, ...names } = ref;
    const entry: SeedEntry = { file: inFile(seedFile), ...names, ...(pgpKeyFile ? { pgpKeyFile: inFile(pgpKeyFile) } : {}) };
    // Only the serials and attributes leave this function: the secrets stay in the seed file.
    const delivered = (await readSeedFile(ref)).map(({ serial, timeIntervalInSeconds, hashFunction, manufacturer, model }) => ({
      serial,
      ...(timeIntervalInSeconds === undefined ? {} : { timeIntervalInSeconds }),
      ...(hashFunction === undefined ? {} : { hashFunction }),
      ...(manufacturer === undefined ? {} : { manufacturer }),
      ...(model === undefined ? {} : { model }),
    }));
    const users = flags.users === undefined ? undefined : parseUsersFile(await readInputText(flags.users, "--users", USERS_FILE_BYTES), flags.users);
    const before = await readTokensText(flags.file);
    const result = addDelivery(flags.file, before, delivered, { seedEntry: entry, state: flags.state, ...(users ? { users } : {}) });
    const pooled = result.added.filter((a) => a.upn === undefined).length;
    const summary = [
      `${seedFile}: ${delivered.length} tokens; ${result.added.length} added (${result.added.length - pooled} to users, ${pooled} to the pool), ${result.alreadyDeclared.length} already in ${flags.file}.`,
      ...result.added.filter((a) => a.upn !== undefined).map((a) => `${a.serial} → ${a.upn}`),
      ...(result.seedEntryAdded ? [`seeds: ${entry.file} added to ${flags.file}`] : []),
    ];
    return writeEdit(flags, before, result.text, summary);
  });
}

export function assignCommand(flags: EditFlags & { users: string; state: "assigned" | "activated" }): Promise<number> {
  return guard(async () => {
    const users = parseUsersFile(await readInputText(flags.users, "--users", USERS_FILE_BYTES), flags.users);
    const before = await readTokensText(flags.file);
    const result = assignFromPool(before, flags.file, users, flags.state);
    const summary = [
      ...result.assigned.map((a) => `${a.serial} → ${a.upn}`),
      ...result.skipped.map((s) => `skipped ${s.upn}: ${s.reason}`),
      `${result.assigned.length} ${result.assigned.length === 1 ? "token" : "tokens"} assigned.`,
    ];
    return writeEdit(flags, before, result.text, summary);
  });
}

async function lifecycleEdit(flags: EditFlags, edit: (text: string) => LifecycleResult): Promise<number> {
  return guard(async () => {
    const before = await readTokensText(flags.file);
    const result = edit(before);
    return writeEdit(flags, before, result.text, result.changes);
  });
}

export function retireCommand(serials: readonly string[], flags: EditFlags & { reason?: string }): Promise<number> {
  return lifecycleEdit(flags, (text) => retireTokens(flags.file, text, serials, today(), flags.reason));
}

export function replaceCommand(serial: string, flags: EditFlags & { with?: string }): Promise<number> {
  return lifecycleEdit(flags, (text) => replaceToken(flags.file, text, serial, today(), flags.with));
}

export function leaverCommand(upn: string, flags: EditFlags & { retire: boolean }): Promise<number> {
  return lifecycleEdit(flags, (text) => leaver(flags.file, text, upn, flags.retire ? "retire" : "pool", today()));
}
