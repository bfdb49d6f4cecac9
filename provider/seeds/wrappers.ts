import type { Entry, ZipReader } from "@zip.js/zip.js";
import { SeedFileError, type SeedErrorCode } from "./errors.js";

// Vendors ship seed files inside a password-protected zip and/or an OpenPGP message. These are
// opened in memory only: nothing decrypted is ever written to disk. zip.js and openpgp are loaded
// only when a file is such a delivery: together they cost ~0.2 s of start-up that `validate` of a
// store does not need.

export interface WrapperSecrets {
  zipPassword?: string;
  /** Armored OpenPGP private key, and its passphrase. */
  pgpPrivateKey?: string;
  pgpPassphrase?: string;
  /** For symmetrically encrypted OpenPGP messages. */
  pgpPassword?: string;
}

export interface UnwrappedFile {
  /** e.g. seeds.zip!tokens.csv */
  name: string;
  bytes: Buffer;
}

/**
 * What one delivery (a seed file named in tokens.yaml, with everything nested in it) may cost. One
 * budget for all levels: a zip of zips gets no fresh allowance per inner archive, which is how nested
 * zip bombs passed per-archive limits. Sized so that the worst case stays well under 200 MB of memory.
 */
export const DELIVERY_LIMITS = {
  /** Bytes unpacked or decrypted, summed over every level, counted as they stream out. */
  unpackedBytes: 20 * 1024 * 1024,
  /** Zip entries, summed over every archive of the delivery. */
  entries: 1000,
  /** Wrappers inside wrappers: a zip in a zip in an OpenPGP message is 3. */
  depth: 3,
  /** PBKDF2 iterations summed over the delivery's PSKC files (one file may use 5,000,000). */
  pbkdf2Iterations: 10_000_000,
} as const;

const MIB = 1024 * 1024;
const BOMB_FIX = "this looks like a zip bomb or a damaged delivery; do not use the file, ask the vendor for it again";

/** Counts a delivery's cost as it is opened; the first limit passed stops everything. */
export class DeliveryBudget {
  private unpacked = 0;
  private entries = 0;
  private iterations = 0;

  constructor(readonly limits: { readonly [K in keyof typeof DELIVERY_LIMITS]: number } = DELIVERY_LIMITS) {}

  get remainingBytes(): number {
    return this.limits.unpackedBytes - this.unpacked;
  }

  addBytes(where: string, count: number): void {
    this.unpacked += count;
    if (this.unpacked > this.limits.unpackedBytes) throw limitError(where, `the delivery unpacks to more than ${this.limits.unpackedBytes / MIB} MiB (all nesting levels together)`, BOMB_FIX, "delivery-bytes-limit");
  }

  addEntry(where: string): void {
    if (++this.entries > this.limits.entries) throw limitError(where, `the delivery holds more than ${this.limits.entries} zip entries (all nesting levels together)`, "a seed delivery holds a few files; unpack it and point tokens.yaml at the seed files", "delivery-entries-limit");
  }

  checkDepth(where: string, depth: number): void {
    if (depth > this.limits.depth) throw limitError(where, `wrappers are nested more than ${this.limits.depth} levels deep`, "unpack the vendor's file once and point tokens.yaml at the result", "delivery-depth-limit");
  }

  addKeyDerivation(where: string, iterations: number): void {
    this.iterations += iterations;
    if (this.iterations > this.limits.pbkdf2Iterations) throw limitError(where, `the delivery asks for more than ${this.limits.pbkdf2Iterations.toLocaleString("en")} PBKDF2 iterations in all`, "a delivery has one or a few passphrase-protected PSKC files; check this one", "delivery-work-limit");
  }
}

function limitError(where: string, message: string, fix: string, code: SeedErrorCode): SeedFileError {
  return new SeedFileError(where, message, fix, undefined, undefined, code);
}

function isZip(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;
}

function isArmoredPgp(bytes: Buffer): boolean {
  return bytes.subarray(0, 64).toString("latin1").includes("-----BEGIN PGP MESSAGE-----");
}

function isPgp(bytes: Buffer): boolean {
  if (isArmoredPgp(bytes)) return true;
  // A binary message starts with a public-key (1) or symmetric (3) session-key packet.
  const first = bytes[0] ?? 0;
  if ((first & 0x80) === 0) return false;
  const tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
  return tag === 1 || tag === 3;
}

/** The seed files inside a delivery, one at a time, so that each can be read and dropped before the next. */
export async function* unwrap(bytes: Buffer, name: string, secrets: WrapperSecrets, budget = new DeliveryBudget(), depth = 0): AsyncGenerator<UnwrappedFile> {
  budget.checkDepth(name, depth);
  if (isZip(bytes)) {
    yield* unzip(bytes, name, secrets, budget, depth);
  } else if (isPgp(bytes)) {
    yield* unwrap(await decryptPgp(bytes, name, secrets, budget), `${name}!decrypted`, secrets, budget, depth + 1);
  } else {
    yield { name, bytes };
  }
}

async function* unzip(bytes: Buffer, name: string, secrets: WrapperSecrets, budget: DeliveryBudget, depth: number): AsyncGenerator<UnwrappedFile> {
  const password = secrets.zipPassword === undefined ? {} : { password: secrets.zipPassword };
  // No web workers: unpacking is counted in this thread, chunk by chunk.
  const zip = await import("@zip.js/zip.js");
  const reader = new zip.ZipReader(new zip.Uint8ArrayReader(bytes), { useWebWorkers: false, ...password });
  const fail = (message: string, fix: string, code: SeedErrorCode) => new SeedFileError(name, message, fix, undefined, undefined, code);
  for await (const entry of zipEntries(reader, name)) {
    budget.addEntry(name);
    if (entry.directory) continue;
    const entryName = entry.filename;
    // Zip-slip: we never write entries to disk, but such names only come from crafted archives.
    if (entryName.split(/[\\/]/).includes("..") || /^([\\/]|[A-Za-z]:)/.test(entryName)) {
      throw fail(`a zip entry (${JSON.stringify(entryName)}) points outside the archive`, "do not use this file; ask the vendor for a clean one", "zip-unsafe-path");
    }
    const where = `${name}!${entryName}`;
    if (entry.encrypted && secrets.zipPassword === undefined) {
      throw fail("the zip is password-protected", "set the password in the environment variable that tokens.yaml `seeds[].zipPasswordEnv` names", "zip-password");
    }
    // The declared size refuses the obvious bomb before any work; the real output is counted below (sizes can lie).
    if (entry.uncompressedSize > budget.remainingBytes) budget.addBytes(where, entry.uncompressedSize);
    const chunks: Uint8Array[] = [];
    let overBudget: SeedFileError | undefined;
    const sink = new WritableStream<Uint8Array>({
      write(chunk) {
        try {
          budget.addBytes(where, chunk.length);
        } catch (error: unknown) {
          if (error instanceof SeedFileError) overBudget = error;
          throw error;
        }
        chunks.push(chunk);
      },
    });
    try {
      await entry.getData(sink, password);
    } catch (error: unknown) {
      if (overBudget) throw overBudget;
      const message = error instanceof Error ? error.message : String(error);
      if (/password/i.test(message)) throw fail("the zip password is wrong", "check the password the vendor sent separately", "zip-password");
      throw fail(`cannot unpack ${JSON.stringify(entryName)} (${message})`, "ask the vendor for the file again", "zip-damaged");
    }
    const data = Buffer.concat(chunks);
    chunks.length = 0;
    yield* unwrap(data, where, secrets, budget, depth + 1);
  }
  await reader.close();
}

/** zip.js's entries one by one (a central directory can list millions), its errors made ours. */
async function* zipEntries(reader: ZipReader<unknown>, name: string): AsyncGenerator<Entry> {
  const entries = reader.getEntriesGenerator();
  for (;;) {
    let next: IteratorResult<Entry, boolean>;
    try {
      next = await entries.next();
    } catch (error: unknown) {
      // zip.js refuses "../" and absolute entry names itself (zip-slip).
      if (error instanceof Error && /unsafe filename/i.test(error.message)) {
        throw new SeedFileError(name, "a zip entry points outside the archive", "do not use this file; ask the vendor for a clean one", undefined, undefined, "zip-unsafe-path");
      }
      throw new SeedFileError(name, "the zip file is damaged or truncated", "ask the vendor for the file again", undefined, undefined, "zip-damaged");
    }
    if (next.done) return;
    yield next.value;
  }
}

function streamOf<T>(value: T): ReadableStream<T> {
  return new ReadableStream<T>({
    start(controller) {
      controller.enqueue(value);
      controller.close();
    },
  });
}

async function decryptPgp(bytes: Buffer, name: string, secrets: WrapperSecrets, budget: DeliveryBudget): Promise<Buffer> {
  const fail = (message: string, fix: string, code: SeedErrorCode = "pgp-decrypt") => new SeedFileError(name, message, fix, undefined, undefined, code);
  const openpgp = await import("openpgp");
  let message;
  try {
    // Streams in and out, so that a compressed bomb inside the message is stopped at the budget.
    message = isArmoredPgp(bytes) ? await openpgp.readMessage({ armoredMessage: streamOf(bytes.toString("utf8")) }) : await openpgp.readMessage({ binaryMessage: streamOf(new Uint8Array(bytes)) });
  } catch {
    throw fail("not a readable OpenPGP message", "ask the vendor for the file again", "pgp-unreadable");
  }
  let decryptionKeys;
  if (secrets.pgpPrivateKey !== undefined) {
    try {
      const key = await openpgp.readPrivateKey({ armoredKey: secrets.pgpPrivateKey });
      decryptionKeys = key.isDecrypted() ? key : await openpgp.decryptKey({ privateKey: key, passphrase: secrets.pgpPassphrase ?? "" });
    } catch {
      throw fail("cannot unlock the OpenPGP private key", "check the key file and the passphrase in the environment variable that `seeds[].pgpPassphraseEnv` names");
    }
  }
  if (!decryptionKeys && secrets.pgpPassword === undefined) {
    throw fail("the file is OpenPGP-encrypted", "name the private key in tokens.yaml `seeds[].pgpKeyFile` (and `pgpPassphraseEnv`), or the password in `pgpPasswordEnv`");
  }
  const undecryptable = () => fail("cannot decrypt the OpenPGP message with the key or password given", "check that the file was encrypted to this key (or with this password), and that it is complete");
  let plaintext: ReadableStream<Uint8Array>;
  try {
    const result = await openpgp.decrypt({
      message,
      format: "binary",
      // Without this openpgp buffers (and decompresses) everything before releasing a byte. The
      // plaintext is used only after the stream has ended cleanly, which is after its integrity check.
      config: { allowUnauthenticatedStream: true },
      ...(decryptionKeys ? { decryptionKeys } : {}),
      ...(secrets.pgpPassword === undefined ? {} : { passwords: [secrets.pgpPassword] }),
    });
    plaintext = result.data;
  } catch {
    throw undecryptable();
  }
  const chunks: Uint8Array[] = [];
  const reader = plaintext.getReader();
  for (;;) {
    let next: Awaited<ReturnType<typeof reader.read>>;
    try {
      next = await reader.read();
    } catch {
      throw undecryptable();
    }
    if (next.done) break;
    try {
      budget.addBytes(`${name}!decrypted`, next.value.length);
    } catch (error: unknown) {
      await reader.cancel().catch(() => undefined);
      throw error;
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks);
}
