import { parse } from "csv-parse/sync";
import type { TimeInterval } from "../model/index.js";
import { SeedFileError } from "./errors.js";
import type { Seed } from "./model.js";
import { MAX_CSV_RECORD_CHARS, normalizeSecret } from "./normalize.js";

// Entra's legacy upload format: `upn,serial number,secret key,time interval,manufacturer,model`,
// also without the upn column.

const REQUIRED = ["serial number", "secret key"] as const;

export function looksLikeEntraCsv(text: string): boolean {
  const header = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0]?.toLowerCase() ?? "";
  return REQUIRED.every((column) => header.includes(column));
}

export function readEntraCsv(text: string, file: string): Seed[] {
  let rows: string[][];
  try {
    rows = parse(text.replace(/^\uFEFF/, ""), { relax_column_count: false, skip_empty_lines: true, trim: true, max_record_size: MAX_CSV_RECORD_CHARS });
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : "";
    // csv-parse messages quote line numbers, never field contents.
    throw new SeedFileError(file, `not a readable CSV file (${message.replace(/".*"/g, "…")})`, "export the file again from the vendor portal as CSV");
  }
  const [header, ...body] = rows;
  if (!header) throw new SeedFileError(file, "the file is empty", "use the seed file the vendor sent");
  const columns = header.map((h) => h.toLowerCase());
  const index = (name: string) => columns.indexOf(name);
  for (const name of REQUIRED) {
    if (index(name) < 0) throw new SeedFileError(file, `the header has no "${name}" column`, "the header must be: upn,serial number,secret key,time interval,manufacturer,model");
  }
  const seen = new Set<string>();
  return body.map((row, i) => {
    const rowNumber = i + 2;
    const cell = (name: string): string | undefined => {
      const at = index(name);
      const value = at < 0 ? undefined : row[at];
      return value === undefined || value === "" ? undefined : value;
    };
    const serial = cell("serial number");
    if (!serial) throw new SeedFileError(file, "the serial number is empty", "fill in the serial printed on the token", rowNumber);
    if (seen.has(serial.toUpperCase())) throw new SeedFileError(file, "the serial appears twice", "remove the duplicate row", rowNumber, serial);
    seen.add(serial.toUpperCase());
    const secret = normalizeSecret(cell("secret key") ?? "");
    if (!secret.ok) throw new SeedFileError(file, secret.reason, "use the secret exactly as the vendor sent it (base32)", rowNumber, serial);
    const interval = cell("time interval");
    let timeIntervalInSeconds: TimeInterval | undefined;
    if (interval !== undefined) {
      if (interval !== "30" && interval !== "60") throw new SeedFileError(file, `time interval ${interval} is not 30 or 60`, "Entra supports 30- and 60-second tokens only", rowNumber, serial);
      timeIntervalInSeconds = interval === "60" ? 60 : 30;
    }
    const upn = cell("upn");
    const manufacturer = cell("manufacturer");
    const model = cell("model");
    return {
      serial,
      secret: secret.secret,
      ...(timeIntervalInSeconds === undefined ? {} : { timeIntervalInSeconds }),
      ...(upn === undefined ? {} : { upn }),
      ...(manufacturer === undefined ? {} : { manufacturer }),
      ...(model === undefined ? {} : { model }),
    };
  });
}
