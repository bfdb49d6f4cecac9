/**
 * Why a seed file was refused, one code per kind so that CI logs and tests can tell them apart.
 * docs/cli.md ("Seed files") and docs/security.md (the limits) say what each means.
 */
export type SeedErrorCode =
  | "seed-invalid"
  | "seed-secret-unset"
  | "seed-unreadable"
  | "seed-missing"
  | "seed-too-large"
  | "seed-unsafe-text"
  | "seed-too-many-records"
  | "delivery-bytes-limit"
  | "delivery-entries-limit"
  | "delivery-depth-limit"
  | "delivery-work-limit"
  | "zip-unsafe-path"
  | "zip-damaged"
  | "zip-password"
  | "pgp-unreadable"
  | "pgp-decrypt"
  | "pskc-xml"
  | "pskc-base64"
  | "pskc-mac-missing"
  | "pskc-mac-mismatch"
  | "pskc-fingerprint"
  | "seed-fingerprint-mismatch";

import { showEscaped } from "../safety/characters.js";

/** A seed file that cannot be used. Never carries secret material: only file, row, serial and why. */
export class SeedFileError extends Error {
  constructor(
    readonly file: string,
    /** What is wrong, without the file, row, serial or fix (unescaped: show it through showEscaped). */
    readonly reason: string,
    readonly fix: string,
    readonly row?: number,
    readonly serial?: string,
    readonly code: SeedErrorCode = "seed-invalid",
  ) {
    // Escaped: names and serials come from the file, and may hold terminal controls.
    const shown = serial === undefined ? undefined : shortSerial(serial);
    super(showEscaped(`${file}${row === undefined ? "" : `, row ${row}`}${shown === undefined ? "" : ` (serial ${shown})`}: ${reason}. Fix: ${fix} [${code}]`));
  }
}

/** A serial from a seed file as shown to people: shortened, since a hostile one can be megabytes long (unescaped). */
export function shortSerial(serial: string): string {
  return serial.length > 64 ? `${serial.slice(0, 64)}…` : serial;
}
