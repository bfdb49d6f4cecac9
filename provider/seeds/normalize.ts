import type { CsvLayout } from "../model/index.js";
import { Secret } from "./secret.js";

/**
 * A seed CSV row is well under 1 KB; csv-parse grows its buffers for longer fields, and one
 * hostile 20 MB field costs over 100 MB to read. Shared by the two CSV readers.
 */
export const MAX_CSV_RECORD_CHARS = 64 * 1024;

/** Graph's limit on secretKey length. */
export const MAX_SECRET_CHARS = 128;

const GRAPH_BASE32 = /^[A-Z2-7]+$/;

export type SecretEncoding = NonNullable<CsvLayout["encoding"]>;

export type Normalized = { ok: true; secret: Secret } | { ok: false; reason: string };

/** Any vendor spelling of a seed → unpadded upper-case base32, or why Graph would refuse it. */
export function normalizeSecret(raw: string, encoding: SecretEncoding = "base32"): Normalized {
  // Already as Graph takes it (most files): nothing to strip, upper-case or check further.
  if (encoding === "base32" && raw.length <= MAX_SECRET_CHARS && GRAPH_BASE32.test(raw)) return { ok: true, secret: new Secret(raw) };
  const compact = raw.replace(/[\s-]/g, "");
  if (compact === "") return { ok: false, reason: "the secret is empty" };
  let base32: string;
  if (encoding === "base32") {
    base32 = compact.toUpperCase().replace(/=+$/, "");
    const bad = /[^A-Z2-7]/.exec(base32);
    // Graph's own wording for this, so admins recognise it from the portal.
    if (bad) return { ok: false, reason: `invalid base32 encoding due to illegal character ${bad[0]}` };
  } else {
    const bytes = encoding === "hex" ? decodeHex(compact) : decodeBase64(compact);
    if (!bytes) return { ok: false, reason: `the secret is not valid ${encoding}` };
    return secretFromBytes(bytes);
  }
  if (base32.length > MAX_SECRET_CHARS) return { ok: false, reason: `the secret is ${base32.length} base32 characters; Graph accepts at most ${MAX_SECRET_CHARS}` };
  return { ok: true, secret: new Secret(base32) };
}

function decodeHex(text: string): Buffer | undefined {
  return /^(?:[0-9a-fA-F]{2})+$/.test(text) ? Buffer.from(text, "hex") : undefined;
}

function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return bytes.length > 0 ? bytes : undefined;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function encodeBase32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Raw seed bytes (from PSKC, hex, base64) → the base32 Graph takes, within Graph's length limit. */
export function secretFromBytes(bytes: Uint8Array): Normalized {
  if (bytes.length === 0) return { ok: false, reason: "the secret is empty" };
  const base32 = encodeBase32(bytes);
  if (base32.length > MAX_SECRET_CHARS) return { ok: false, reason: `the secret is ${base32.length} base32 characters; Graph accepts at most ${MAX_SECRET_CHARS}` };
  return { ok: true, secret: new Secret(base32) };
}

/** Inverse of encodeBase32, for secrets already normalised (upper case, no padding). */
export function decodeBase32(base32: string): Buffer {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of base32) {
    value = (value << 5) | ALPHABET.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
