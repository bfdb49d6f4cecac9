import { promises as fs } from "node:fs";
import { basename, join } from "node:path";
import type { AuditRecord, FleetSortKey, LiveUser } from "../model/index.js";
import { lookupUser } from "../plan/compare.js";
import { actorLabel, filterRows, fleetRows, FLEET_FORMAT_VERSION, recordsFor, sortRows, summarize, type FleetFilter, type FleetRow, } from "../plan/fleet.js";
import { actionableDrift } from "../plan/render.js";
import { renderReportHtml } from "../report/html.js";
import { escapeCsv, escapeTerminal } from "../safety/escape.js";
import { writeThroughTemporary } from "../safety/replace-file.js";
import { EXIT, type FleetFormat } from "./formats.js";
import { overallExit } from "../reconcile/fleet.js";
import { tenantLabel } from "../reconcile/tenant.js";
import { guard, printTenantNotes, processIo, readDrift, ReportedFailure, runAllTenants, singleTenant, tenantSummary, type ConnectionOptions, type TenantIo, type TenantSelection } from "./reconcile.js";
import { jsonToStdout } from "./json-error.js";

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

type ListOptions = FleetOptions & { filter: FleetFilter; sort: FleetSortKey; format: FleetFormat };

async function listRows(options: ListOptions, io: TenantIo): Promise<FleetRow[]> {
  const { desired, live, items, now } = await readDrift(options, io);
  return sortRows(filterRows(fleetRows(desired, live, items, now), options.filter, now), options.sort);
}

/** `list`; with --all-tenants one table (or CSV, or JSON) of every tenant's tokens, a tenant column first. */
export async function listCommand(options: ListOptions, selection?: TenantSelection): Promise<number> {
  return guard(async () => {
    if (!selection?.allTenants) {
      const { file, io } = selection ? singleTenant(selection.tenant ?? "") : { file: options.file, io: processIo };
      process.stdout.write(renderRows(await listRows({ ...options, file }, io), options.format));
      return EXIT.ok;
    }
    const runs = await runAllTenants((tenant, io) => listRows({ ...options, file: tenant.file }, io));
    printTenantNotes(runs);
    const rows = runs.flatMap(({ tenant, result }) => (result.value ?? []).map((row) => ({ tenant: tenant.name, ...row })));
    const tenants = runs.map(({ tenant, result }) => ({ tenant: tenant.name, file: tenant.file, exitCode: result.value ? EXIT.ok : EXIT.failure, count: result.value?.length ?? null }));
    process.stdout.write(options.format === "json" ? `${JSON.stringify({ formatVersion: FLEET_FORMAT_VERSION, count: rows.length, tenants, tokens: rows }, null, 2)}\n` : renderRows(rows, options.format, true));
    process.stderr.write(`${tenantSummary("list", tenants.map((t) => ({ name: t.tenant, verdict: t.count === null ? "error" : `${t.count} token${t.count === 1 ? "" : "s"}`, code: t.exitCode })))}\n`);
    return overallExit(tenants.map((t) => t.exitCode));
  }, undefined, jsonToStdout(options.format));
}

/** Rows of one tenant, or (`byTenant`) of many, each naming its tenant in a first column. */
export function renderRows(rows: readonly (FleetRow & { tenant?: string })[], format: FleetFormat, byTenant = false): string {
  if (format === "json") return `${JSON.stringify({ formatVersion: FLEET_FORMAT_VERSION, count: rows.length, tokens: rows }, null, 2)}\n`;
  const columns: { header: string; value: (r: FleetRow & { tenant?: string }) => string }[] = byTenant ? [{ header: "tenant", value: (r) => r.tenant ?? "" }, ...COLUMNS] : COLUMNS;
  if (format === "csv") return [columns.map((c) => c.header).join(","), ...rows.map((r) => columns.map((c) => escapeCsv(c.value(r))).join(","))].join("\r\n") + "\r\n";
  if (rows.length === 0) return "No tokens match.\n";
  const cells = rows.map((r) => columns.map((c) => escapeTerminal(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return `${[line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line), "", `${rows.length} token${rows.length === 1 ? "" : "s"}`].join("\n")}\n`;
}

/** Neither tokens.yaml nor the tenant knows what `show` was asked for. */
class NotFoundError extends ReportedFailure {}

type ShowOptions = FleetOptions & { format: "text" | "json" };

/**
 * `show <serial|upn>`: one token, or one user's tokens, with everything known, the audit log included.
 * With --all-tenants, in every tenant that knows it (a block each); an error if none does.
 */
export async function showCommand(target: string, options: ShowOptions, selection?: TenantSelection): Promise<number> {
  return guard(async () => {
    if (!selection?.allTenants) {
      const { file, io } = selection ? singleTenant(selection.tenant ?? "") : { file: options.file, io: processIo };
      return showTenant(target, { ...options, file }, io);
    }
    const runs = await runAllTenants(async (tenant, io) => {
      try {
        return await showTenant(target, { ...options, file: tenant.file }, io);
      } catch (error: unknown) {
        if (error instanceof NotFoundError) return "absent" as const;
        throw error;
      }
    });
    printTenantNotes(runs);
    const found = runs.filter((r) => r.result.value === EXIT.ok);
    const failed = runs.filter((r) => r.result.value === undefined);
    if (options.format === "json") {
      const entries = runs.map(({ tenant, result }) => ({ tenant: tenant.name, file: tenant.file, found: result.value === undefined ? null : result.value === EXIT.ok, exitCode: result.value === undefined ? EXIT.failure : EXIT.ok, result: result.value === EXIT.ok ? JSON.parse(result.out) : null }));
      process.stdout.write(`${JSON.stringify({ formatVersion: FLEET_FORMAT_VERSION, tenants: entries }, null, 2)}\n`);
    } else {
      for (const { tenant, result } of found) process.stdout.write(`\n== tenant ${tenant.name} (${tenant.file}) ==\n${result.out}`);
    }
    const absent = runs.filter((r) => r.result.value === "absent").map((r) => r.tenant.name);
    if (found.length === 0 && failed.length === 0) throw new ReportedFailure(`no tenant knows ${target} (looked in ${absent.join(", ")}); \`entra-tokens list --all-tenants\` shows every serial`);
    if (absent.length > 0) process.stderr.write(`${escapeTerminal(target)} is not in: ${absent.join(", ")}\n`);
    return failed.length > 0 ? EXIT.failure : EXIT.ok;
  }, undefined, jsonToStdout(options.format));
}

async function showTenant(target: string, options: ShowOptions, io: TenantIo): Promise<number> {
  const { desired, live, items, audit, now } = await readDrift(options, io);
  const rows = fleetRows(desired, live, items, now);
  const isUser = target.includes("@");
  const user: LiveUser | null | undefined = isUser ? lookupUser(live.directory, target) : undefined;
  const chosen = isUser ? rows.filter((r) => r.upn?.toLowerCase() === target.toLowerCase()) : filterRows(rows, { serial: target }, now);
  if (chosen.length === 0 && !user) throw new NotFoundError(isUser ? `no token is held by or declared for ${escapeTerminal(target)}, and Graph knows no such user` : `no token with serial ${escapeTerminal(target)} in tokens.yaml or the tenant; \`entra-tokens list\` shows every serial`);
  const findings = items.filter((i) => chosen.some((r) => r.serial.toUpperCase() === i.serial.toUpperCase()));
  const wanted = [...(user ? [{ userId: user.id }] : []), ...chosen.map((r) => ({ serial: r.serial, ...(r.deviceId ? { deviceId: r.deviceId } : {}) }))];
  // One record may name both the user and the token: a Set keeps it once, in the log's order.
  const unique = audit.known ? [...new Set(wanted.flatMap((w) => recordsFor(audit.records, w)))].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)) : [];
  if (options.format === "json") {
    io.out(`${JSON.stringify({ formatVersion: FLEET_FORMAT_VERSION, ...(isUser ? { user: user ?? null } : {}), tokens: chosen, findings, audit: audit.known ? { known: true, since: audit.since, records: unique } : { known: false, reason: audit.reason } }, null, 2)}\n`);
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
  io.out(`${lines.join("\n")}\n`);
  return EXIT.ok;
}

function auditLine(r: AuditRecord): string {
  const targets = r.targets.map((t) => escapeTerminal(t.upn ?? t.name ?? t.id)).join(", ");
  const result = r.result && r.result !== "success" ? ` (${escapeTerminal(r.result)})` : "";
  return `${escapeTerminal(r.at.slice(0, 19).replace("T", " "))} UTC  ${escapeTerminal(r.activity)}${result}  by ${escapeTerminal(actorLabel(r.actor))}  on ${targets}`;
}

type ReportOptions = FleetOptions & { out: string; poolLowWater: number; force: boolean };

/** `report`; with --all-tenants, --out names a folder that gets one `<tenant>.html` per tenant. */
export async function reportCommand(options: ReportOptions, selection?: TenantSelection): Promise<number> {
  return guard(async () => {
    if (!selection?.allTenants) {
      const { file, io } = selection ? singleTenant(selection.tenant ?? "") : { file: options.file, io: processIo };
      return writeReport({ ...options, file }, io);
    }
    await ensureFolder(options.out);
    const runs = await runAllTenants((tenant, io) => writeReport({ ...options, file: tenant.file, out: join(options.out, `${tenant.name}.html`) }, io));
    printTenantNotes(runs);
    const lines = runs.map(({ tenant, result }) => ({ name: tenant.name, verdict: result.value === undefined ? "error" : "written", code: result.value ?? EXIT.failure }));
    process.stderr.write(`${tenantSummary("report", lines)}\n`);
    return overallExit(lines.map((l) => l.code));
  });
}

async function writeReport(options: ReportOptions, io: TenantIo): Promise<number> {
  // Before the tenant is read: an --out we would refuse should not cost a read of the tenant first.
  await checkNewFile(options.out, options.force);
  const { desired, live, items, audit, now } = await readDrift(options, io);
  const rows = fleetRows(desired, live, items, now);
  // The header names the tenant the file declares, so reports of many tenants cannot be confused.
  const source = desired.tenant ? `${basename(desired.file)} of tenant ${tenantLabel(desired.tenant)}` : basename(desired.file);
  const html = renderReportHtml({ rows, summary: summarize(rows, actionableDrift(items)), drift: items, audit, generatedAt: new Date(now).toISOString(), poolLowWater: options.poolLowWater, source });
  await writeNewFile(options.out, html, options.force);
  io.note(`Wrote ${escapeTerminal(options.out)} (${rows.length} tokens, ${items.length} findings); it opens offline in any browser.`);
  return EXIT.ok;
}

/** The folder of many tenants' reports: made when missing (its parent must exist), never a link. */
async function ensureFolder(path: string): Promise<void> {
  const existing = await fs.lstat(path).catch((error: unknown) => (error instanceof Error && "code" in error && error.code === "ENOENT" ? undefined : Promise.reject(error)));
  if (existing && !existing.isDirectory()) throw new ReportedFailure(`${escapeTerminal(path)} is not a folder (a file or a link?); with --all-tenants, --out names the folder that gets one <tenant>.html each`);
  if (!existing) await fs.mkdir(path);
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
