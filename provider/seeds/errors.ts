/** A seed file that cannot be used. Never carries secret material: only file, row, serial and why. */
export class SeedFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly fix: string,
    readonly row?: number,
    readonly serial?: string,
  ) {
    super(`${file}${row === undefined ? "" : `, row ${row}`}${serial === undefined ? "" : ` (serial ${serial})`}: ${message}. Fix: ${fix}`);
  }
}
