import { createHash } from "node:crypto";
import { decodeBase32 } from "./normalize.js";

// A seed's fingerprint: changes when the seed changes, reveals nothing of it. The encrypted store
// keeps it in clear beside the ciphertext, so a plan in a pull request (which holds no passphrase)
// can tell a changed seed; the Pulumi state keeps the same value (as a secret output).

/**
 * RFC 4226 section 4, R6: a shared secret has at least 128 bits. A SHA-256 of a secret that long
 * cannot be searched; a shorter (weaker) seed gets no fingerprint in clear.
 */
export const MIN_FINGERPRINTED_SECRET_BYTES = 16;

/** SHA-256 of the upper-case serial and the unpadded base32 seed, in hex. */
export function seedFingerprint(serial: string, base32Secret: string): string {
  return createHash("sha256").update(`${serial.toUpperCase()}\n${base32Secret}`).digest("hex");
}

/** The fingerprint to write in clear, or none for a seed too short to publish a hash of. */
export function publishableFingerprint(serial: string, base32Secret: string): string | undefined {
  return decodeBase32(base32Secret).length >= MIN_FINGERPRINTED_SECRET_BYTES ? seedFingerprint(serial, base32Secret) : undefined;
}
