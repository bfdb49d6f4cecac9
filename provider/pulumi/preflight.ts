import { GraphSession } from "../apply/session.js";
import { connectionFromSettings } from "./connection-env.js";
import type { StackSettings } from "./stack-settings.js";
import { readLive } from "../graph/live.js";
import type { Desired, Plan } from "../model/index.js";
import { plan as makePlan } from "../plan/plan.js";
import { renderPlanText } from "../plan/render.js";
import type { PlannerSeeds } from "../seeds/facts.js";
import { checkSignedInTenant } from "../reconcile/tenant.js";

// What the Pulumi program asks the tenant once, before it registers a resource: a run that cannot
// reach or sign in to Graph fails here, in seconds, with one error, instead of once per resource
// after each one's own wait. In a preview it also runs the planner `entra-tokens plan` runs, on
// the same files, so the reviewer reads the same summary and per-token outcomes at the top.

export interface TenantCheckOptions {
  /** A preview (`pulumi preview`, or the preview half of `pulumi up`): print the plan. */
  dryRun: boolean;
  allowDeletes: boolean;
  /** What the seed files say (a preview reads their clear facts, opening no secret). */
  seeds: PlannerSeeds;
  /** Credentials and Graph: the stack's config over the environment. */
  settings: StackSettings;
}

/**
 * Refuses credentials of another tenant than tokens.yaml declares (before any Graph request). Then
 * in a preview, the plan (read as the CLI reads the tenant); otherwise one request proves the
 * tenant is reachable, the credential signs in and devices can be read. Graph failures are thrown
 * as the typed errors of the client, naming the setting that chose the Graph URL.
 */
export async function checkTenant(desired: Desired, options: TenantCheckOptions): Promise<Plan | undefined> {
  const connection = connectionFromSettings(options.settings);
  // As the CLI does: a stack whose tokens file names a tenant never converges another one.
  if (desired.tenant) await checkSignedInTenant(connection.credential, desired.tenant, desired.file);
  const repository = GraphSession.forTenant(connection).repository;
  if (!options.dryRun) {
    const first = desired.tokens[0];
    if (first) await repository.deviceBySerial(first.serial);
    return undefined;
  }
  const live = await readLive(repository, desired);
  return makePlan(desired, live, { ...options.seeds, allowDeletes: options.allowDeletes });
}

/** The plan as `entra-tokens plan` prints it, for the preview's diagnostics. */
export function previewText(plan: Plan): string {
  return `entra-tokens plan of this preview (the same planner and files as \`entra-tokens plan\`):\n${renderPlanText(plan)}`;
}
