import { parse } from "csv-parse/sync";
import type { TimeInterval } from "../model/index.js";
import { SeedFileError } from "./errors.js";
import type { Seed, SeedDescription } from "./model.js";
import type { Secret } from "./secret.js";
import { MAX_CSV_RECORD_CHARS, normalizeSecret } from "./normalize.js";
import { plainCsvRows } from "./plain-csv.js";

// Entra's legacy upload format: `upn,serial number,secret key,time interval,manufacturer,model`,
// also without the upn column. A plain file is split by plain-csv.ts, anything else by csv-parse.

const REQUIRED = ["serial number", "secret key"] as const;

export function looksLikeEntraCsv(text: string): boolean {
  const header = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0]?.toLowerCase() ?? "";
  return REQUIRED.every((column) => header.includes(column));
}

/** The seeds of an Entra CSV. */
export function readEntraCsv(text: string, file: string): Seed[] {
  return entraCsvRecords(text, file, (facts, secret) => ({ ...facts, secret }));
}

/** What an Entra CSV states in clear: every row checked as for its seed, no secret kept. */
export function readEntraCsvFacts(text: string, file: string): SeedDescription[] {
  return entraCsvRecords(text, file, (facts) => facts);
}

function entraCsvRecords<T>(text: string, file: string, record: (facts: SeedDescription, secret: Secret) => T): T[] {
  const unmarked = text.replace(/^\uFEFF/, "");
  const rows = plainCsvRows(unmarked, MAX_CSV_RECORD_CHARS) ?? parseCsv(unmarked, file);
  let at: Columns | undefined;
  const seen = new Set<string>();
  const records: T[] = [];
  let rowNumber = 0;
  for (const row of rows) {
    rowNumber++;
    if (at === undefined) {
      at = columnsOf(row, file);
      continue;
    }
    const serial = cell(row, at.serial);
    if (!serial) throw new SeedFileError(file, "the serial number is empty", "fill in the serial printed on the token", rowNumber);
    const size = seen.size;
    if (seen.add(serial.toUpperCase()).size === size) throw new SeedFileError(file, "the serial appears twice", "remove the duplicate row", rowNumber, serial);
    const secret = normalizeSecret(cell(row, at.secret) ?? "");
    if (!secret.ok) throw new SeedFileError(file, secret.reason, "use the secret exactly as the vendor sent it (base32)", rowNumber, serial);
    const interval = cell(row, at.interval);
    let timeIntervalInSeconds: TimeInterval | undefined;
    if (interval !== undefined) {
      if (interval !== "30" && interval !== "60") throw new SeedFileError(file, `time interval ${interval} is not 30 or 60`, "Entra supports 30- and 60-second tokens only", rowNumber, serial);
      timeIntervalInSeconds = interval === "60" ? 60 : 30;
    }
    const upn = cell(row, at.upn);
    const manufacturer = cell(row, at.manufacturer);
    const model = cell(row, at.model);
    records.push(
      record(
        // The common rows in literals of one shape each, no spread per row.
        upn === undefined && manufacturer === undefined && model === undefined
          ? timeIntervalInSeconds === undefined
            ? { serial }
            : { serial, timeIntervalInSeconds }
          : {
              serial,
              ...(timeIntervalInSeconds === undefined ? {} : { timeIntervalInSeconds }),
              ...(upn === undefined ? {} : { upn }),
              ...(manufacturer === undefined ? {} : { manufacturer }),
              ...(model === undefined ? {} : { model }),
            },
        secret.secret,
      ),
    );
  }
  if (at === undefined) throw new SeedFileError(file, "the file is empty", "use the seed file the vendor sent");
  return records;
}

interface Columns {
  serial: number;
  secret: number;
  interval: number;
  upn: number;
  manufacturer: number;
  model: number;
}

/** Where each column is (-1: absent), from the header. */
function columnsOf(header: readonly string[], file: string): Columns {
  const columns = header.map((h) => h.toLowerCase());
  for (const name of REQUIRED) {
    if (!columns.includes(name)) throw new SeedFileError(file, `the header has no "${name}" column`, "the header must be: upn,serial number,secret key,time interval,manufacturer,model");
  }
  return {
    serial: columns.indexOf("serial number"),
    secret: columns.indexOf("secret key"),
    interval: columns.indexOf("time interval"),
    upn: columns.indexOf("upn"),
    manufacturer: columns.indexOf("manufacturer"),
    model: columns.indexOf("model"),
  };
}

/** The cell in column `at` (-1: the file has no such column); an empty cell is no value. */
function cell(row: readonly string[], at: number): string | undefined {
  const value = at < 0 ? undefined : row[at];
  return value === undefined || value === "" ? undefined : value;
}

function parseCsv(text: string, file: string): string[][] {
  try {
    return parse(text, { relax_column_count: false, skip_empty_lines: true, trim: true, max_record_size: MAX_CSV_RECORD_CHARS });
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : "";
    // csv-parse messages quote line numbers, never field contents.
    throw new SeedFileError(file, `not a readable CSV file (${message.replace(/".*"/g, "…")})`, "export the file again from the vendor portal as CSV");
  }
}
