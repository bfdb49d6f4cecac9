import type { TokenCredential } from "@azure/identity";
import { GRAPH_SCOPE } from "../graph/client.js";
import { MissingPermissionsError } from "../graph/errors.js";
import { grantedPermissions, NEEDS, unmet, type PermissionNeed } from "../graph/permissions.js";
import type { Plan } from "../model/index.js";

// Names a missing permission from the app's own access token (its roles), before the run meets
// Graph's 403 half-way. When the token says nothing about its permissions, nothing is decided here.

/** What every read of plan, apply and drift needs. */
export const READ_NEEDS: readonly PermissionNeed[] = [NEEDS.readDevices, NEEDS.readUsers, NEEDS.readHardwareMethods];

/** The write permissions this plan's steps need. */
export function writeNeeds(plan: Plan): PermissionNeed[] {
  const needs = new Set<PermissionNeed>();
  for (const step of plan.steps) {
    if (step.kind === "create" || step.kind === "update" || step.kind === "delete") needs.add(NEEDS.writeDevices);
    if (step.kind === "assign" || step.kind === "unassign" || step.kind === "activate" || (step.kind === "create" && step.assignTo !== undefined)) needs.add(NEEDS.writeHardwareMethods);
  }
  return [...needs];
}

/** Throws MissingPermissionsError when the token shows that `needs` are not all granted. */
export async function requirePermissions(credential: TokenCredential, needs: readonly PermissionNeed[], operation: string): Promise<void> {
  if (needs.length === 0) return;
  const granted = await grantedPermissions(credential, GRAPH_SCOPE);
  if (!granted) return;
  const missing = unmet(granted, needs);
  if (missing.length > 0) throw new MissingPermissionsError(operation, missing);
}
