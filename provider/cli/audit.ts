import { READ_AUDIT_LOG, readAuditLog } from "../graph/audit.js";
import { GraphFailure } from "../graph/errors.js";
import type { TokenRepository } from "../graph/repository.js";
import type { AuditView, Desired, LiveState } from "../model/index.js";
import type { PreflightWarning } from "../plan/preflight.js";

// drift, show and report read the directory audit log to say who changed a token and when. Without
// AuditLog.Read.All (or any other failure to read it) they still work, and say the actors are unknown.

/** Entra keeps audit entries 7 days (free) or 30 days (P1/P2): the default window asks for the longest. */
export const DEFAULT_AUDIT_DAYS = 30;

export async function readAudit(repository: TokenRepository, desired: Desired, live: LiveState, since: string | undefined): Promise<AuditView> {
  const from = since ?? new Date(Date.now() - DEFAULT_AUDIT_DAYS * 86_400_000).toISOString();
  const deviceIds = new Set(live.devices.map((d) => d.id.toLowerCase()));
  const serials = new Set([...desired.tokens.map((t) => t.serial), ...live.devices.map((d) => d.serial)].map((s) => s.toUpperCase()));
  try {
    return { known: true, since: from, records: await readAuditLog(repository.client, from, deviceIds, serials) };
  } catch (error: unknown) {
    if (!(error instanceof GraphFailure)) throw error;
    return { known: false, reason: `could not ${READ_AUDIT_LOG.operation} (${error.message.split(". Fix:")[0]})` };
  }
}

/** The preflight's line for an unreadable audit log: what is lost, and the permission that brings it back. */
export function auditWarning(audit: AuditView): PreflightWarning[] {
  if (audit.known) return [];
  return [{ code: "audit-unreadable", message: `${audit.reason}: who changed tokens out of band and when stays unknown`, fix: `grant the app ${READ_AUDIT_LOG.permission} to have drift, show and report name the actors` }];
}
