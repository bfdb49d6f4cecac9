import type { AuditRecord } from "../model/index.js";
import type { CallPurpose, GraphClient } from "./client.js";
import { UnexpectedResponseError } from "./errors.js";

// The directory audit log, for "who changed what". Sources (microsoftgraph/microsoft-graph-docs-contrib,
// beta): api/directoryaudit-list.md (GET /auditLogs/directoryAudits, AuditLog.Read.All, $filter
// with ge on activityDateTime, skiptoken paging) and resources/directoryaudit.md,
// resources/auditactivityinitiator.md (initiatedBy.user or initiatedBy.app). Which activity names
// Entra uses for each token change is only partly documented (entra-docs
// reference-audit-activities.md): records are kept by their targets, never by name.

export const READ_AUDIT_LOG: CallPurpose = { operation: "read the directory audit log", permission: "AuditLog.Read.All" };
const PATH = "/auditLogs/directoryAudits";
/** A bound on what one run reads: the newest this many records since the window's start. */
export const MAX_AUDIT_RECORDS = 20_000;

/** Audit records since `since` (ISO date) whose targets name one of `deviceIds` or `serials`. */
export async function readAuditLog(client: GraphClient, since: string, deviceIds: ReadonlySet<string>, serials: ReadonlySet<string>): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  let seen = 0;
  const filter = `activityDateTime ge ${since}`;
  for await (const page of client.pages(`${PATH}?$filter=${encodeURIComponent(filter)}`, READ_AUDIT_LOG)) {
    for (const raw of page) {
      const record = parseRecord(raw);
      if (record.targets.some((t) => deviceIds.has(t.id.toLowerCase()) || (t.name !== undefined && serials.has(t.name.toUpperCase())))) records.push(record);
    }
    seen += page.length;
    if (seen >= MAX_AUDIT_RECORDS) break;
  }
  return records.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function parseRecord(raw: unknown): AuditRecord {
  const bad = (why: string) => new UnexpectedResponseError(`Graph answered a request to ${READ_AUDIT_LOG.operation} with an entry we cannot read (${why})`, READ_AUDIT_LOG.operation);
  if (!isObject(raw)) throw bad("not an object");
  const at = raw["activityDateTime"];
  const activity = raw["activityDisplayName"];
  if (typeof at !== "string" || Number.isNaN(Date.parse(at))) throw bad("no activityDateTime");
  if (typeof activity !== "string") throw bad("no activityDisplayName");
  const initiatedBy = isObject(raw["initiatedBy"]) ? raw["initiatedBy"] : {};
  const app = isObject(initiatedBy["app"]) ? initiatedBy["app"] : undefined;
  const user = isObject(initiatedBy["user"]) ? initiatedBy["user"] : undefined;
  const text = (o: Record<string, unknown> | undefined, key: string): string | undefined => (o && typeof o[key] === "string" && o[key] !== "" ? o[key] : undefined);
  const actor: AuditRecord["actor"] = user && (text(user, "userPrincipalName") ?? text(user, "id"))
    ? { kind: "user", name: text(user, "userPrincipalName") ?? text(user, "displayName") ?? text(user, "id") ?? "", id: text(user, "id") ?? "" }
    : { kind: "app", name: text(app, "displayName") ?? text(app, "appId") ?? "unknown app", id: text(app, "appId") ?? "" };
  const targetList = Array.isArray(raw["targetResources"]) ? raw["targetResources"] : [];
  const targets = targetList.filter(isObject).flatMap((t) => {
    const id = text(t, "id");
    if (id === undefined) return [];
    const name = text(t, "displayName");
    const type = text(t, "type");
    const upn = text(t, "userPrincipalName");
    return [{ id, ...(name === undefined ? {} : { name }), ...(type === undefined ? {} : { type }), ...(upn === undefined ? {} : { upn }) }];
  });
  return { at, activity, category: typeof raw["category"] === "string" ? raw["category"] : "", result: typeof raw["result"] === "string" ? raw["result"] : "", actor, targets };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
