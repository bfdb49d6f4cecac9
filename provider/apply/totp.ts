import { createGuardrails, generateSync } from "otplib";
import type { HashFunction, TimeInterval } from "../model/index.js";
import type { Secret } from "../seeds/secret.js";

// Vendor seeds can be as short as 80 bits, below otplib's default minimum; Graph accepts them.
const VENDOR_SEEDS = createGuardrails({ MIN_SECRET_BYTES: 1 });

/** The 6-digit RFC 6238 code of `secret` for the step `stepOffset` steps from `nowMs`. */
export function verificationCode(secret: Secret, interval: TimeInterval, hash: HashFunction, nowMs: number, stepOffset = 0): string {
  return generateSync({
    secret: secret.reveal(),
    period: interval,
    algorithm: hash === "hmacsha256" ? "sha256" : "sha1",
    digits: 6,
    epoch: Math.floor(nowMs / 1000) + stepOffset * interval,
    guardrails: VENDOR_SEEDS,
  });
}
