import type { AuditRecord, AuditView, FleetSortKey, ChangedBy, Desired, DriftCategory, DriftItem, LiveState, LiveStatus, TokenState } from "../model/index.js";
import { assigneeLabel, indexBySerial, lookupUser, serialKey } from "./compare.js";
import { staleDays } from "./stale.js";

// The fleet: tokens.yaml and the tenant merged into one row per serial, for list, show and the
// report. Pure: the caller reads the tenant and the audit log and passes the time.

export const FLEET_FORMAT_VERSION = 1;

export interface FleetRow {
  serial: string;
  /** What tokens.yaml says; absent for an unmanaged token. */
  desiredState?: TokenState;
  /** What Entra says; absent when the token is not in the tenant. */
  liveStatus?: LiveStatus;
  /** The holder: the tenant's assignee, else the user tokens.yaml names. */
  upn?: string;
  holderName?: string;
  manufacturer: string;
  model: string;
  timeIntervalInSeconds: number;
  lastUsedDateTime?: string;
  pool: boolean;
  managed: boolean;
  drift: DriftCategory[];
  /** Days since last use, when over policy.staleAfterDays. */
  staleDays?: number;
  deviceId?: string;
}

export function fleetRows(desired: Desired, live: LiveState, drift: readonly DriftItem[], now: number): FleetRow[] {
  const liveBySerial = indexBySerial(live.devices);
  const driftBySerial = new Map<string, DriftCategory[]>();
  for (const item of drift) {
    const key = serialKey(item.serial);
    driftBySerial.set(key, [...(driftBySerial.get(key) ?? []), item.category]);
  }
  const rows: FleetRow[] = [];
  const declared = new Set<string>();
  for (const token of desired.tokens) {
    declared.add(serialKey(token.serial));
    const device = liveBySerial.get(serialKey(token.serial));
    const holder = device ? assigneeLabel(device, live.directory) : undefined;
    const upn = holder ?? token.upn;
    const name = device?.assignedTo?.displayName ?? (upn === undefined ? undefined : lookupUser(live.directory, upn)?.displayName);
    const stale = device ? staleDays(device, desired, now) : undefined;
    rows.push({
      serial: token.serial,
      desiredState: token.state,
      ...(device ? { liveStatus: device.status, deviceId: device.id } : {}),
      ...(upn === undefined ? {} : { upn }),
      ...(name === undefined ? {} : { holderName: name }),
      manufacturer: device?.manufacturer ?? token.manufacturer,
      model: device?.model ?? token.model,
      timeIntervalInSeconds: device?.timeIntervalInSeconds ?? token.timeIntervalInSeconds,
      ...(device?.lastUsedDateTime === undefined ? {} : { lastUsedDateTime: device.lastUsedDateTime }),
      pool: token.state === "available",
      managed: true,
      drift: driftBySerial.get(serialKey(token.serial)) ?? [],
      ...(stale === undefined ? {} : { staleDays: stale }),
    });
  }
  for (const device of live.devices) {
    if (declared.has(serialKey(device.serial))) continue;
    const upn = assigneeLabel(device, live.directory);
    const stale = staleDays(device, desired, now);
    rows.push({
      serial: device.serial,
      liveStatus: device.status,
      deviceId: device.id,
      ...(upn === undefined ? {} : { upn }),
      ...(device.assignedTo?.displayName === undefined ? {} : { holderName: device.assignedTo.displayName }),
      manufacturer: device.manufacturer,
      model: device.model,
      timeIntervalInSeconds: device.timeIntervalInSeconds,
      ...(device.lastUsedDateTime === undefined ? {} : { lastUsedDateTime: device.lastUsedDateTime }),
      pool: device.status === "available" && device.assignedTo === undefined,
      managed: false,
      drift: driftBySerial.get(serialKey(device.serial)) ?? [],
      ...(stale === undefined ? {} : { staleDays: stale }),
    });
  }
  return rows.sort((a, b) => a.serial.localeCompare(b.serial, "en", { numeric: true }));
}

export interface FleetFilter {
  upn?: string;
  serial?: string;
  /** Matches the live status, or the desired state of a token not in the tenant. */
  state?: string;
  model?: string;
  /** Activated tokens not used for more than this many days (or never). */
  staleForDays?: number;
  unmanaged?: boolean;
}

export function filterRows(rows: readonly FleetRow[], filter: FleetFilter, now: number): FleetRow[] {
  const lower = (s: string | undefined) => s?.toLowerCase();
  return rows.filter((row) => {
    if (filter.upn !== undefined && lower(row.upn) !== lower(filter.upn)) return false;
    if (filter.serial !== undefined && serialKey(row.serial) !== serialKey(filter.serial)) return false;
    if (filter.state !== undefined && (row.liveStatus ?? row.desiredState) !== filter.state) return false;
    if (filter.model !== undefined && lower(row.model) !== lower(filter.model)) return false;
    if (filter.unmanaged === true && row.managed) return false;
    if (filter.staleForDays !== undefined) {
      if (row.liveStatus !== "activated") return false;
      const used = row.lastUsedDateTime === undefined ? Number.NaN : Date.parse(row.lastUsedDateTime);
      if (!Number.isNaN(used) && now - used <= filter.staleForDays * 86_400_000) return false;
    }
    return true;
  });
}

export function sortRows(rows: readonly FleetRow[], key: FleetSortKey): FleetRow[] {
  const value = (r: FleetRow): string => {
    switch (key) {
      case "serial":
        return r.serial;
      case "upn":
        return r.upn ?? "\uffff";
      case "state":
        return r.liveStatus ?? r.desiredState ?? "";
      case "model":
        return `${r.manufacturer} ${r.model}`;
      case "lastUsed":
        return r.lastUsedDateTime ?? "";
    }
  };
  return [...rows].sort((a, b) => value(a).localeCompare(value(b), "en", { numeric: true }) || a.serial.localeCompare(b.serial, "en", { numeric: true }));
}

export interface FleetSummary {
  tokens: number;
  assigned: number;
  activated: number;
  failedActivation: number;
  unmanaged: number;
  drift: number;
  stale: number;
  /** Free pool tokens (available, nobody holds them) per "manufacturer model". */
  poolLeft: Record<string, number>;
  byState: Record<string, number>;
  byModel: Record<string, number>;
}

export function summarize(rows: readonly FleetRow[], actionable: readonly DriftItem[]): FleetSummary {
  const count = (list: Record<string, number>, key: string) => (list[key] = (list[key] ?? 0) + 1);
  const byState: Record<string, number> = {};
  const byModel: Record<string, number> = {};
  const poolLeft: Record<string, number> = {};
  for (const row of rows) {
    count(byState, row.liveStatus ?? `${row.desiredState ?? "unknown"} (not in tenant)`);
    count(byModel, `${row.manufacturer} ${row.model}`);
    if (row.liveStatus === "available" && row.upn === undefined) count(poolLeft, `${row.manufacturer} ${row.model}`);
  }
  return {
    tokens: rows.length,
    assigned: rows.filter((r) => r.liveStatus === "assigned").length,
    activated: rows.filter((r) => r.liveStatus === "activated").length,
    failedActivation: rows.filter((r) => r.liveStatus === "failedActivation").length,
    unmanaged: rows.filter((r) => !r.managed).length,
    drift: new Set(actionable.map((i) => serialKey(i.serial))).size,
    stale: rows.filter((r) => r.staleDays !== undefined).length,
    poolLeft,
    byState,
    byModel,
  };
}

/** Audit records about one token (by device id or serial) or one user (by id), oldest first. */
export function recordsFor(records: readonly AuditRecord[], target: { deviceId?: string; serial?: string; userId?: string }): AuditRecord[] {
  return records.filter((r) =>
    r.targets.some(
      (t) =>
        (target.deviceId !== undefined && t.id.toLowerCase() === target.deviceId.toLowerCase()) ||
        (target.serial !== undefined && t.name !== undefined && serialKey(t.name) === serialKey(target.serial)) ||
        (target.userId !== undefined && t.id.toLowerCase() === target.userId.toLowerCase()),
    ),
  );
}

/** Each finding gets the latest audit record about its token (actor, time, activity), when the log names one. */
export function attachActors(items: readonly DriftItem[], audit: AuditView, live: LiveState): DriftItem[] {
  if (!audit.known) return [...items];
  const liveBySerial = indexBySerial(live.devices);
  return items.map((item) => {
    const device = liveBySerial.get(serialKey(item.serial));
    const latest = recordsFor(audit.records, { serial: item.serial, ...(device ? { deviceId: device.id } : {}) }).at(-1);
    if (!latest) return item;
    const changedBy: ChangedBy = { actor: latest.actor, at: latest.at, activity: latest.activity };
    return { ...item, changedBy };
  });
}

export function actorLabel(actor: AuditRecord["actor"]): string {
  return actor.kind === "app" ? `app ${actor.name}${actor.id !== "" && actor.id !== actor.name ? ` (${actor.id})` : ""}` : `user ${actor.name}`;
}
