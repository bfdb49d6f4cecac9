import type { Seed } from "./model.js";

// What admins still on the portal upload: Entra's CSV and JSON. These outputs hold secrets by
// design; the CLI writes them only to a file the admin names, readable by them alone.

/** Spreadsheet apps run cells starting with these as formulas (CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export interface ExportRow {
  seed: Seed;
  upn?: string;
  manufacturer: string;
  model: string;
}

export function entraCsv(rows: readonly ExportRow[]): string {
  const lines = ["upn,serial number,secret key,time interval,manufacturer,model"];
  for (const r of rows) {
    lines.push([r.upn ?? "", r.seed.serial, r.seed.secret.reveal(), String(r.seed.timeIntervalInSeconds ?? 30), r.manufacturer, r.model].map(csvCell).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** The Graph bulk body (PATCH hardwareOathDevices). assignTo needs user ids, which a file cannot know. */
export function entraJson(rows: readonly ExportRow[]): string {
  const value = rows.map((r, i) => ({
    "@contentId": String(i + 1),
    serialNumber: r.seed.serial,
    manufacturer: r.manufacturer,
    model: r.model,
    secretKey: r.seed.secret.reveal(),
    timeIntervalInSeconds: r.seed.timeIntervalInSeconds ?? 30,
    hashFunction: r.seed.hashFunction ?? "hmacsha1",
  }));
  return `${JSON.stringify({ "@context": "#$delta", value }, null, 2)}\n`;
}
