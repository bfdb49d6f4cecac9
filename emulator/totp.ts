import { createHmac } from "node:crypto";

// The emulator's own RFC 4226/6238 code: it must not share code with the client it checks.

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function decodeBase32(text: string): Buffer {
  const clean = text.toUpperCase().replace(/=+$/, "");
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of clean) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error("not base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function hotp(key: Buffer, counter: number, algorithm: "sha1" | "sha256", digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(message).digest();
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(code).padStart(digits, "0");
}

/** True when `code` matches the current step or one step either side (clock skew). */
export function verifyTotp(secretBase32: string, code: string, stepSeconds: number, hash: "hmacsha1" | "hmacsha256", nowMs: number): boolean {
  const key = decodeBase32(secretBase32);
  const step = Math.floor(nowMs / 1000 / stepSeconds);
  const algorithm = hash === "hmacsha256" ? "sha256" : "sha1";
  return [step - 1, step, step + 1].some((counter) => counter >= 0 && hotp(key, counter, algorithm) === code);
}

export function totpAt(secretBase32: string, stepSeconds: number, hash: "hmacsha1" | "hmacsha256", nowMs: number): string {
  return hotp(decodeBase32(secretBase32), Math.floor(nowMs / 1000 / stepSeconds), hash === "hmacsha256" ? "sha256" : "sha1");
}
