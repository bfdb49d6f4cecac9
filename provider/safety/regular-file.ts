import { constants, promises as fs } from "node:fs";
import { escapeTerminal } from "./escape.js";

// Reading a path a user (or a pull request) names: a FIFO would block forever, /dev/zero or
// /dev/urandom never end, a directory is no file, and a symbolic link (git stores them) may point
// anywhere, e.g. /etc/passwd. Only regular files are read, checked on the open handle (no race
// between a check and the read), never through a link, and never more than `maxBytes`.

export type RegularFileResult =
  | { ok: true; bytes: Buffer }
  | { ok: false; reason: "not-found" | "not-regular" | "too-large" | "unreadable"; detail: string; size?: number };

export interface ReadOptions {
  /**
   * Follow a link as the last part of the path: only for paths the operator sets (an environment
   * variable), never for paths a checkout holds. Kubernetes projects a federated token or a mounted
   * certificate as a link into the volume's `..data` folder.
   */
  followLinks?: boolean;
}

export async function readRegularFile(path: string, maxBytes: number, options: ReadOptions = {}): Promise<RegularFileResult> {
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
    // O_NOFOLLOW: a link as the last part of the path fails with ELOOP instead of being followed.
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK | (options.followLinks === true ? 0 : constants.O_NOFOLLOW));
  } catch (error: unknown) {
    const code = errorCode(error);
    if (code === "ELOOP") return { ok: false, reason: "not-regular", detail: "a symbolic link" };
    return { ok: false, reason: code === "ENOENT" ? "not-found" : "unreadable", detail: code };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: "not-regular", detail: kindOf(stat) };
    if (stat.size > maxBytes) return { ok: false, reason: "too-large", detail: `${stat.size} bytes`, size: stat.size };
    // Read at most one byte past the limit: a file that grows while read is caught too.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) {
        if (length > maxBytes) return { ok: false, reason: "too-large", detail: `more than ${maxBytes} bytes`, size: length };
        return { ok: false, reason: "unreadable", detail: "the file grew while it was read" };
      }
    }
    return { ok: true, bytes: buffer.subarray(0, length) };
  } catch (error: unknown) {
    return { ok: false, reason: "unreadable", detail: errorCode(error) };
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string {
  return error instanceof Error && "code" in error ? String(error.code) : "unknown error";
}

function kindOf(stat: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a named pipe (FIFO)";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a regular file";
}

/** A file a command was told to read (an option or an environment variable) that is not one it can read. */
export class InputFileError extends Error {}

/**
 * The text of `path`, named by `setting` (e.g. `--users`, `GITHUB_EVENT_PATH`), through the same
 * guards as tokens.yaml: a regular file, not a link, at most `maxBytes`; otherwise an InputFileError
 * saying what, where and how to fix it.
 */
export async function readInputText(path: string, setting: string, maxBytes: number, options: ReadOptions = {}): Promise<string> {
  const read = await readRegularFile(path, maxBytes, options);
  if (read.ok) return read.bytes.toString("utf8");
  const shown = escapeTerminal(path);
  const why =
    read.reason === "not-found" ? "does not exist"
    : read.reason === "not-regular" ? `is ${read.detail}, not a regular file`
    : read.reason === "too-large" ? `is larger than ${maxBytes} bytes`
    : `cannot be read (${read.detail})`;
  throw new InputFileError(`${shown} (${setting}) ${why}; nothing was read from it: point ${setting} at the file itself`);
}
