import { promises as fs } from "node:fs";
import { basename } from "node:path";
import type { AuditRecord, FleetSortKey, LiveUser } from "../model/index.js";
import { lookupUser } from "../plan/compare.js";
import { actorLabel, filterRows, fleetRows, FLEET_FORMAT_VERSION, recordsFor, sortRows, summarize, type FleetFilter, type FleetRow, } from "../plan/fleet.js";
import { actionableDrift } from "../plan/render.js";
import { renderReportHtml } from "../report/html.js";
import { escapeCsv, escapeTerminal } from "../safety/escape.js";
import { writeThroughTemporary } from "../safety/replace-file.js";
import { EXIT, type FleetFormat } from "./formats.js";
import { guard, readDrift, ReportedFailure, type ConnectionOptions } from "./reconcile.js";

// list, show and report: read-only views of the fleet, built on the same read as drift (readDrift),
// so what they show is what drift and plan see. They print no secret: none is ever read.

export interface FleetOptions extends ConnectionOptions {
  file: string;
  since?: string;
}

const COLUMNS: { header: string; value: (r: FleetRow) => string }[] = [
  { header: "serial", value: (r) => r.serial },
  { header: "state", value: (r) => r.liveStatus ?? "not in tenant" },
  { header: "desired", value: (r) => r.desiredState ?? "unmanaged" },
  { header: "upn", value: (r) => r.upn ?? "" },
  { header: "name", value: (r) => r.holderName ?? "" },
  { header: "manufacturer", value: (r) => r.manufacturer },
  { header: "model", value: (r) => r.model },
  { header: "interval", value: (r) => String(r.timeIntervalInSeconds) },
  { header: "lastUsed", value: (r) => r.lastUsedDateTime ?? "" },
  { header: "pool", value: (r) => (r.pool ? "yes" : "no") },
  { header: "managed", value: (r) => (r.managed ? "yes" : "no") },
  { header: "drift", value: (r) => [...r.drift, ...(r.staleDays !== undefined && !r.drift.includes("stale") ? ["stale"] : [])].join(" ") },
];

export async function listCommand(options: FleetOptions & { filter: FleetFilter; sort: FleetSortKey; format: FleetFormat }): Promise<number> {
  return guard(async () => {
    const { desired, live, items, now } = await readDrift(options);
    const rows = sortRows(filterRows(fleetRows(desired, live, items, now), options.filter, now), options.sort);
    process.stdout.write(renderRows(rows, options.format));
    return EXIT.ok;
  });
}

export function renderRows(rows: readonly FleetRow[], format: FleetFormat): string {
  if (format === "json") return `${JSON.stringify({ formatVersion: FLEET_FORMAT_VERSION, count: rows.length, tokens: rows }, null, 2)}\n`;
  if (format === "csv") return [COLUMNS.map((c) => c.header).join(","), ...rows.map((r) => COLUMNS.map((c) => escapeCsv(c.value(r))).join(","))].join("\r\n") + "\r\n";
  if (rows.length === 0) return "No tokens match.\n";
  const cells = rows.map((r) => COLUMNS.map((c) => escapeTerminal(c.value(r))));
  const widths = COLUMNS.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return `${[line(COLUMNS.map((c) => c.header.toUpperCase())), ...cells.map(line), "", `${rows.length} token${rows.length === 1 ? "" : "s"}`].join("\n")}\n`;
}

/** `show <serial|upn>`: one token, or one user's tokens, with everything known, the audit log included. */
export async function showCommand(target: string, options: FleetOptions & { format: "text" | "json" }): Promise<number> {
  return guard(async () => {
    const { desired, live, items, audit, now } = await readDrift(options);
    const rows = fleetRows(desired, live, items, now);
    const isUser = target.includes("@");
    const user: LiveUser | null | undefined = isUser ? lookupUser(live.directory, target) : undefined;
    const chosen = isUser ? rows.filter((r) => r.upn?.toLowerCase() === target.toLowerCase()) : filterRows(rows, { serial: target }, now);
    if (chosen.length === 0 && !user) throw new ReportedFailure(isUser ? `no token is held by or declared for ${escapeTerminal(target)}, and Graph knows no such user` : `no token with serial ${escapeTerminal(target)} in tokens.yaml or the tenant; \`entra-tokens list\` shows every serial`);
    const findings = items.filter((i) => chosen.some((r) => r.serial.toUpperCase() === i.serial.toUpperCase()));
    const wanted = [...(user ? [{ userId: user.id }] : []), ...chosen.map((r) => ({ serial: r.serial, ...(r.deviceId ? { deviceId: r.deviceId } : {}) }))];
    // One record may name both the user and the token: a Set keeps it once, in the log's order.
    const unique = audit.known ? [...new Set(wanted.flatMap((w) => recordsFor(audit.records, w)))].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)) : [];
    if (options.format === "json") {
      process.stdout.write(`${JSON.stringify({ formatVersion: FLEET_FORMAT_VERSION, ...(isUser ? { user: user ?? null } : {}), tokens: chosen, findings, audit: audit.known ? { known: true, since: audit.since, records: unique } : { known: false, reason: audit.reason } }, null, 2)}\n`);
      return EXIT.ok;
    }
    // Every value from the tenant or tokens.yaml goes through the terminal escaper (and its cut).
    const v = (text: string) => escapeTerminal(text);
    const lines: string[] = [];
    if (isUser) lines.push(user ? `User ${v(user.userPrincipalName)}: ${v(user.displayName ?? "")} (${v(user.userType)}, ${user.accountEnabled ? "enabled" : "disabled"})` : `User ${v(target)}: unknown to Graph`, `Tokens: ${chosen.length}`);
    for (const row of chosen) {
      lines.push("", `Token ${v(row.serial)}`);
      for (const c of COLUMNS.slice(1)) lines.push(`  ${c.header.padEnd(12)} ${v(c.value(row)) || "-"}`);
      if (row.staleDays !== undefined) lines.push(`  ${"stale".padEnd(12)} not used for ${row.staleDays} days`);
    }
    if (findings.length > 0) {
      lines.push("", "Drift and notices:");
      for (const f of findings) lines.push(`  ${f.category} ${v(f.serial)}: desired ${v(f.desired)}; live ${v(f.live)}`, `    fix: ${escapeTerminal(f.fix, 1_000)}`);
    }
    lines.push("", audit.known ? `Audit log since ${audit.since.slice(0, 10)}:` : `Audit log: unknown (${escapeTerminal(audit.reason, 1_000)}; grant the app AuditLog.Read.All)`);
    if (audit.known && unique.length === 0) lines.push("  nothing recorded");
    for (const r of unique) lines.push(`  ${auditLine(r)}`);
    process.stdout.write(`${lines.join("\n")}\n`);
    return EXIT.ok;
  });
}

function auditLine(r: AuditRecord): string {
  const targets = r.targets.map((t) => escapeTerminal(t.upn ?? t.name ?? t.id)).join(", ");
  const result = r.result && r.result !== "success" ? ` (${escapeTerminal(r.result)})` : "";
  return `${escapeTerminal(r.at.slice(0, 19).replace("T", " "))} UTC  ${escapeTerminal(r.activity)}${result}  by ${escapeTerminal(actorLabel(r.actor))}  on ${targets}`;
}

export async function reportCommand(options: FleetOptions & { out: string; poolLowWater: number; force: boolean }): Promise<number> {
  return guard(async () => {
    // Before the tenant is read: an --out we would refuse should not cost a read of the tenant first.
    await checkNewFile(options.out, options.force);
    const { desired, live, items, audit, now } = await readDrift(options);
    const rows = fleetRows(desired, live, items, now);
    const html = renderReportHtml({ rows, summary: summarize(rows, actionableDrift(items)), drift: items, audit, generatedAt: new Date(now).toISOString(), poolLowWater: options.poolLowWater, source: basename(desired.file) });
    await writeNewFile(options.out, html, options.force);
    process.stderr.write(`Wrote ${escapeTerminal(options.out)} (${rows.length} tokens, ${items.length} findings); it opens offline in any browser.\n`);
    return EXIT.ok;
  });
}

/** Through a fresh exclusive temp file in the same folder, then renamed: never through a link, never half-written. */
async function writeNewFile(path: string, content: string, force: boolean): Promise<void> {
  await checkNewFile(path, force);
  await writeThroughTemporary(path, content);
}

/** Refuses an --out that is a link, a folder or a device, or an existing file without --force; the path shown escaped. */
async function checkNewFile(path: string, force: boolean): Promise<void> {
  const existing = await fs.lstat(path).catch((error: unknown) => (error instanceof Error && "code" in error && error.code === "ENOENT" ? undefined : Promise.reject(error)));
  if (existing && !existing.isFile()) throw new ReportedFailure(`${escapeTerminal(path)} (--out) exists and is not a regular file (a link, a folder or a device); nothing was written: give --out a new file's path`);
  if (existing && !force) throw new ReportedFailure(`${escapeTerminal(path)} (--out) exists; nothing was written: pass --force to replace it, or give --out a new file's path`);
}
