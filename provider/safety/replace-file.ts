import { randomBytes } from "node:crypto";
import { constants, promises as fs } from "node:fs";
import { basename, dirname, join } from "node:path";
import { escapeTerminal } from "./escape.js";
import { readRegularFile } from "./regular-file.js";

/** Far above tokens.yaml's own cap: this read only checks that nobody changed the file meanwhile. */
const CURRENT_LIMIT = 64 * 1024 * 1024;

// Editing a file in a checkout of someone's branch: a committed `tokens.yaml.tmp` symlink must not
// redirect our write, tokens.yaml itself must not be a link to elsewhere, and two editors at once
// must not silently lose one edit.

export class UnsafeWriteError extends Error {}

/**
 * Replaces `path` with `content` if it still holds `expected` (what the edit was computed from; null
 * for a new file): written to a fresh temporary file created exclusively beside it (random name,
 * O_EXCL|O_NOFOLLOW, so no planted file or link is used), then renamed over it. A lock file beside it
 * serialises editors; a second editor, or a file changed since it was read, fails with what to do.
 */
export async function replaceFile(path: string, content: string, expected: string | null, mode = 0o644): Promise<void> {
  const shown = escapeTerminal(path);
  await refuseLink(path, shown);
  const lock = join(dirname(path), `.${basename(path)}.lock`);
  let lockHandle: fs.FileHandle;
  try {
    lockHandle = await fs.open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error: unknown) {
    if (code(error) === "EEXIST") throw new UnsafeWriteError(`another entra-tokens edit of ${shown} is running (lock ${escapeTerminal(lock)}); run this command again when it is done, or delete the lock if no edit is running`);
    throw error;
  }
  try {
    const current = await readCurrent(path);
    if (current !== expected) throw new UnsafeWriteError(`${shown} changed while this command ran (another edit, or a checkout); nothing was written: run the command again`);
    await writeThroughTemporary(path, content, mode);
  } finally {
    await lockHandle.close();
    await fs.rm(lock, { force: true });
  }
}

/**
 * Writes `content` to a fresh temporary file created exclusively beside `path` (random name,
 * O_EXCL|O_NOFOLLOW: no planted file or link is used), then renames it over `path`: never half-written.
 */
export async function writeThroughTemporary(path: string, content: string, mode = 0o644): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
  const handle = await fs.open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temporary, path);
  } catch (error: unknown) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

async function refuseLink(path: string, shown: string): Promise<void> {
  try {
    const stat = await fs.lstat(path);
    if (stat.isSymbolicLink()) throw new UnsafeWriteError(`${shown} is a symbolic link; entra-tokens edits only a regular file in the repository: replace the link with the file itself`);
    if (!stat.isFile()) throw new UnsafeWriteError(`${shown} is not a regular file; give the path of tokens.yaml itself`);
  } catch (error: unknown) {
    if (code(error) !== "ENOENT") throw error;
  }
}

async function readCurrent(path: string): Promise<string | null> {
  const read = await readRegularFile(path, CURRENT_LIMIT);
  if (read.ok) return read.bytes.toString("utf8");
  if (read.reason === "not-found") return null;
  throw new UnsafeWriteError(`${escapeTerminal(path)} cannot be read back before writing (${read.detail}); nothing was written`);
}

function code(error: unknown): string | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;
}
