import { randomUUID } from "node:crypto";
import { GraphError } from "./tenant.js";

// The directory audit log (GET /auditLogs/directoryAudits): one entry for every write the emulator serves.
// Sources (microsoftgraph/microsoft-graph-docs-contrib, beta): resources/directoryaudit.md (the
// properties; $filter on activityDateTime `eq`/`ge`/`le`, on activityDisplayName `eq`/`startswith`),
// resources/auditactivityinitiator.md (initiatedBy is a user or an app), api/directoryaudit-list.md
// ($filter, $top, $orderby, skiptoken paging; the entry shape of its examples; AuditLog.Read.All).
// Activity names and categories: MicrosoftDocs/entra-docs
// docs/identity/monitoring-health/reference-audit-activities.md, "Authentication Methods":
// ApplicationManagement "Create / Bulk upload / Assign / Update / Delete Hardware Oath Token" and
// UserManagement "Admin registered / updated / deleted security info". The reference names no
// activity for activating or unassigning a token: the emulator logs them as the security-info
// activities (operationType Update / Unassign); clients must match on targets, never on names alone.

export type AuditInitiator = { app: { appId: string; displayName: string; servicePrincipalId: string } } | { user: { id: string; userPrincipalName: string; displayName: string } };

export interface AuditTarget {
  id: string;
  displayName: string | null;
  type: "Device" | "User";
  userPrincipalName?: string | null;
}

export interface AuditEntry {
  id: string;
  category: "ApplicationManagement" | "UserManagement";
  correlationId: string;
  result: "success" | "failure";
  resultReason: string;
  activityDisplayName: string;
  activityDateTime: string;
  loggedByService: string;
  operationType: "Add" | "Assign" | "Update" | "Unassign" | "Delete";
  initiatedBy: AuditInitiator;
  targetResources: AuditTarget[];
  additionalDetails: { key: string; value: string }[];
}

export const HARDWARE_OATH_ACTIVITIES = {
  create: { activityDisplayName: "Create Hardware Oath Token", category: "ApplicationManagement", operationType: "Add" },
  bulkCreate: { activityDisplayName: "Bulk upload Hardware Oath Token", category: "ApplicationManagement", operationType: "Add" },
  assign: { activityDisplayName: "Assign Hardware Oath Token", category: "ApplicationManagement", operationType: "Assign" },
  update: { activityDisplayName: "Update Hardware Oath Token", category: "ApplicationManagement", operationType: "Update" },
  delete: { activityDisplayName: "Delete Hardware Oath Token", category: "ApplicationManagement", operationType: "Delete" },
  activate: { activityDisplayName: "Admin registered security info", category: "UserManagement", operationType: "Update" },
  deactivate: { activityDisplayName: "Admin updated security info", category: "UserManagement", operationType: "Update" },
  unassign: { activityDisplayName: "Admin deleted security info", category: "UserManagement", operationType: "Unassign" },
} as const satisfies Record<string, Pick<AuditEntry, "activityDisplayName" | "category" | "operationType">>;
export type AuditActivity = keyof typeof HARDWARE_OATH_ACTIVITIES;

/** Graph keeps 7 to 30 days depending on the licence; the emulator keeps the newest entries, bounded. */
const MAX_ENTRIES = 50_000;

export class AuditLog {
  private readonly entries: AuditEntry[] = [];

  constructor(private readonly now: () => number) {}

  record(activity: AuditActivity, initiatedBy: AuditInitiator, targets: AuditTarget[], result: AuditEntry["result"] = "success"): void {
    const correlationId = randomUUID();
    this.entries.push({
      id: `Directory_${correlationId}_${this.entries.length}`,
      ...HARDWARE_OATH_ACTIVITIES[activity],
      correlationId,
      result,
      resultReason: "",
      activityDateTime: new Date(this.now()).toISOString(),
      loggedByService: "Authentication Methods",
      initiatedBy,
      targetResources: targets,
      additionalDetails: [],
    });
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
  }

  all(): readonly AuditEntry[] {
    return this.entries;
  }

  /** The entries `$filter` and `$orderby` select, newest first unless `$orderby=activityDateTime asc`. */
  query(filter: string | null, orderBy: string | null): AuditEntry[] {
    const predicates = parseAuditFilter(filter);
    const matching = this.entries.filter((e) => predicates.every((p) => p(e)));
    const order = (orderBy ?? "activityDateTime desc").trim();
    const ascending = /^activityDateTime(\s+asc)?$/i.test(order);
    if (!ascending && !/^activityDateTime\s+desc$/i.test(order)) throw new GraphError(400, "BadRequest", `$orderby is supported on activityDateTime only (got '${order}').`);
    return matching.sort((a, b) => (ascending ? 1 : -1) * (Date.parse(a.activityDateTime) - Date.parse(b.activityDateTime)));
  }
}

/** The documented clauses, joined by `and`: activityDateTime eq|ge|le <date>, category eq, activityDisplayName eq|startswith. */
function parseAuditFilter(filter: string | null): ((e: AuditEntry) => boolean)[] {
  if (filter === null || filter.trim() === "") return [];
  return filter.split(/\s+and\s+/i).map((clause) => {
    const date = /^\s*activityDateTime\s+(eq|ge|le)\s+(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\s*$/i.exec(clause);
    if (date) {
      const at = Date.parse(date[2] ?? "");
      if (Number.isNaN(at)) throw invalid(clause);
      const op = (date[1] ?? "").toLowerCase();
      return (e: AuditEntry) => {
        const t = Date.parse(e.activityDateTime);
        return op === "eq" ? t === at : op === "ge" ? t >= at : t <= at;
      };
    }
    const eq = /^\s*(category|activityDisplayName)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(clause);
    if (eq) {
      const value = (eq[2] ?? "").replace(/''/g, "'");
      return eq[1] === "category" ? (e: AuditEntry) => e.category === value : (e: AuditEntry) => e.activityDisplayName === value;
    }
    const starts = /^\s*startswith\(\s*activityDisplayName\s*,\s*'((?:[^']|'')*)'\s*\)\s*$/.exec(clause);
    if (starts) {
      const prefix = (starts[1] ?? "").replace(/''/g, "'");
      return (e: AuditEntry) => e.activityDisplayName.startsWith(prefix);
    }
    throw invalid(clause);
  });
}

function invalid(clause: string): GraphError {
  return new GraphError(400, "BadRequest", `Invalid filter clause: '${clause.trim()}'. Supported: activityDateTime eq|ge|le <date>, category eq '...', activityDisplayName eq '...', startswith(activityDisplayName,'...').`);
}
