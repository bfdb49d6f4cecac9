import { parse } from "csv-parse/sync";
import type { CsvLayout, TimeInterval } from "../model/index.js";
import { delimiterHint, firstLine } from "./delimiter.js";
import { SeedFileError } from "./errors.js";
import type { Seed } from "./model.js";
import { MAX_CSV_RECORD_CHARS, normalizeSecret } from "./normalize.js";

// Vendor CSVs of every other shape (Duo-, Okta- or vendor-style): the columns are named in tokens.yaml.

export function readCustomCsv(text: string, file: string, layout: CsvLayout): Seed[] {
  let rows: string[][];
  try {
    rows = parse(text.replace(/^\uFEFF/, ""), { skip_empty_lines: true, trim: true, relax_column_count: true, delimiter: layout.delimiter ?? ",", max_record_size: MAX_CSV_RECORD_CHARS });
  } catch {
    throw new SeedFileError(file, "not a readable CSV file", "check the delimiter in tokens.yaml `seeds[].csv.delimiter`");
  }
  const hasHeader = layout.header ?? true;
  const header = hasHeader ? (rows[0] ?? []).map((h) => h.toLowerCase()) : [];
  const body = hasHeader ? rows.slice(1) : rows;
  const columnOf = (ref: string | number | undefined, name: string): number | undefined => {
    if (ref === undefined) return undefined;
    if (typeof ref === "number") return ref - 1;
    const index = header.indexOf(ref.toLowerCase());
    if (index < 0) {
      const hint = delimiterHint(firstLine(text), layout.delimiter ?? ",", "set `seeds[].csv.delimiter` to {delimiter}");
      throw new SeedFileError(file, `no column named "${ref}" (for ${name})`, hint ?? `the header has: ${header.join(", ")}`);
    }
    return index;
  };
  const requiredColumn = (ref: string | number, name: string): number => {
    const index = columnOf(ref, name);
    if (index === undefined || index < 0) throw new SeedFileError(file, `the ${name} column is not set`, `name it in tokens.yaml seeds[].csv.${name}`);
    return index;
  };
  const columns = {
    serial: requiredColumn(layout.serial, "serial"),
    secret: requiredColumn(layout.secret, "secret"),
    timeInterval: columnOf(layout.timeInterval, "timeInterval"),
    manufacturer: columnOf(layout.manufacturer, "manufacturer"),
    model: columnOf(layout.model, "model"),
    counter: columnOf(layout.counter, "counter"),
  };
  return body.map((row, i): Seed => {
    const rowNumber = i + (hasHeader ? 2 : 1);
    const cell = (index: number | undefined) => (index === undefined ? undefined : row[index] || undefined);
    const serial = cell(columns.serial);
    if (!serial) throw new SeedFileError(file, "the serial is empty", "fill in the serial printed on the token", rowNumber);
    if (cell(columns.counter) !== undefined) {
      throw new SeedFileError(file, "this is a counter-based (HOTP) token", "Entra accepts only time-based (TOTP) hardware tokens: ask the vendor for TOTP tokens", rowNumber, serial);
    }
    const secret = normalizeSecret(cell(columns.secret) ?? "", layout.encoding ?? "base32");
    if (!secret.ok) throw new SeedFileError(file, secret.reason, `check seeds[].csv.encoding (now ${layout.encoding ?? "base32"})`, rowNumber, serial);
    const interval = cell(columns.timeInterval);
    if (interval !== undefined && interval !== "30" && interval !== "60") throw new SeedFileError(file, `time interval ${interval} is not 30 or 60`, "Entra supports 30- and 60-second tokens only", rowNumber, serial);
    const manufacturer = cell(columns.manufacturer);
    const model = cell(columns.model);
    return {
      serial,
      secret: secret.secret,
      ...(interval === undefined ? {} : { timeIntervalInSeconds: (interval === "60" ? 60 : 30) satisfies TimeInterval }),
      ...(manufacturer === undefined ? {} : { manufacturer }),
      ...(model === undefined ? {} : { model }),
    };
  });
}
