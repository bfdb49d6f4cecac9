import { Uint8ArrayReader, ZipReader } from "@zip.js/zip.js";
import * as openpgp from "openpgp";
import { SeedFileError } from "./errors.js";

// Vendors ship seed files inside a password-protected zip and/or an OpenPGP message. These are
// opened in memory only: nothing decrypted is ever written to disk.

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

/** Limits against zip bombs: per entry, per archive, and how many entries. */
export const ZIP_LIMITS = { entryBytes: 20 * 1024 * 1024, totalBytes: 50 * 1024 * 1024, entries: 1000, depth: 3 };

function isZip(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;
}

function isPgp(bytes: Buffer): boolean {
  if (bytes.subarray(0, 64).toString("latin1").includes("-----BEGIN PGP MESSAGE-----")) return true;
  // A binary message starts with a public-key (1) or symmetric (3) session-key packet.
  const first = bytes[0] ?? 0;
  if ((first & 0x80) === 0) return false;
  const tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
  return tag === 1 || tag === 3;
}

export async function unwrap(bytes: Buffer, name: string, secrets: WrapperSecrets, depth = 0): Promise<UnwrappedFile[]> {
  if (depth > ZIP_LIMITS.depth) throw new SeedFileError(name, "archives are nested too deeply", "unpack the vendor's file once and point tokens.yaml at the result");
  if (isZip(bytes)) return unzip(bytes, name, secrets, depth);
  if (isPgp(bytes)) return unwrap(await decryptPgp(bytes, name, secrets), `${name}!decrypted`, secrets, depth + 1);
  return [{ name, bytes }];
}

async function unzip(bytes: Buffer, name: string, secrets: WrapperSecrets, depth: number): Promise<UnwrappedFile[]> {
  const reader = new ZipReader(new Uint8ArrayReader(bytes), secrets.zipPassword === undefined ? {} : { password: secrets.zipPassword });
  let entries;
  try {
    entries = await reader.getEntries();
  } catch (error: unknown) {
    // zip.js refuses "../" and absolute entry names itself (zip-slip).
    if (error instanceof Error && /unsafe filename/i.test(error.message)) {
      throw new SeedFileError(name, "a zip entry points outside the archive", "do not use this file; ask the vendor for a clean one");
    }
    throw new SeedFileError(name, "the zip file is damaged or truncated", "ask the vendor for the file again");
  }
  const files = entries.filter((e) => !e.directory);
  if (files.length > ZIP_LIMITS.entries) throw new SeedFileError(name, `the zip holds ${files.length} files`, "a seed archive holds a few files; check this one");
  const out: UnwrappedFile[] = [];
  let total = 0;
  for (const entry of files) {
    const entryName = entry.filename;
    // Zip-slip: we never write entries to disk, but such names only come from crafted archives.
    if (entryName.split(/[\\/]/).includes("..") || /^([\\/]|[A-Za-z]:)/.test(entryName)) {
      throw new SeedFileError(name, `a zip entry ("${entryName}") points outside the archive`, "do not use this file; ask the vendor for a clean one");
    }
    if (entry.encrypted && secrets.zipPassword === undefined) {
      throw new SeedFileError(name, "the zip is password-protected", "set the password in the environment variable that tokens.yaml `seeds[].zipPasswordEnv` names");
    }
    if ((entry.uncompressedSize ?? 0) > ZIP_LIMITS.entryBytes) throw new SeedFileError(name, `the zip entry "${entryName}" unpacks to ${entry.uncompressedSize} bytes`, "this looks like a zip bomb; do not use the file");
    const chunks: Uint8Array[] = [];
    let size = 0;
    // Count what really comes out: a zip can lie about its sizes.
    const sink = new WritableStream<Uint8Array>({
      write(chunk) {
        size += chunk.length;
        total += chunk.length;
        if (size > ZIP_LIMITS.entryBytes || total > ZIP_LIMITS.totalBytes) throw new Error("zip bomb");
        chunks.push(chunk);
      },
    });
    try {
      await entry.getData?.(sink, secrets.zipPassword === undefined ? {} : { password: secrets.zipPassword });
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      if (message === "zip bomb") throw new SeedFileError(name, `the zip entry "${entryName}" unpacks past ${ZIP_LIMITS.entryBytes / 1024 / 1024} MiB`, "this looks like a zip bomb; do not use the file");
      if (/password/i.test(message)) throw new SeedFileError(name, "the zip password is wrong", "check the password the vendor sent separately");
      throw new SeedFileError(name, `cannot unpack "${entryName}" (${message})`, "ask the vendor for the file again");
    }
    for (const file of await unwrap(Buffer.concat(chunks), `${name}!${entryName}`, secrets, depth + 1)) out.push(file);
  }
  await reader.close();
  return out;
}

async function decryptPgp(bytes: Buffer, name: string, secrets: WrapperSecrets): Promise<Buffer> {
  const fail = (message: string, fix: string) => new SeedFileError(name, message, fix);
  let message;
  try {
    const text = bytes.toString("latin1");
    message = text.includes("-----BEGIN PGP MESSAGE-----") ? await openpgp.readMessage({ armoredMessage: bytes.toString("utf8") }) : await openpgp.readMessage({ binaryMessage: new Uint8Array(bytes) });
  } catch {
    throw fail("not a readable OpenPGP message", "ask the vendor for the file again");
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
  try {
    const result = await openpgp.decrypt({
      message,
      format: "binary",
      ...(decryptionKeys ? { decryptionKeys } : {}),
      ...(secrets.pgpPassword === undefined ? {} : { passwords: [secrets.pgpPassword] }),
    });
    return Buffer.from(result.data);
  } catch {
    throw fail("cannot decrypt the OpenPGP message with the key or password given", "check that the file was encrypted to this key (or with this password), and that it is complete");
  }
}
