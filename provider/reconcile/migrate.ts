import { applyPlan, type ApplyReport } from "../apply/apply.js";
import { readLive } from "../graph/live.js";
import { NEEDS } from "../graph/permissions.js";
import type { TokenRepository } from "../graph/repository.js";
import type { Desired, LiveState, Plan } from "../model/index.js";
import { serialKey } from "../plan/compare.js";
import { plan as makePlan } from "../plan/plan.js";
import { plannerSeeds } from "../seeds/facts.js";
import { SeedStore } from "../seeds/model.js";
import { readSeedFacts, readSeedFiles } from "../seeds/read.js";
import { connectTenant } from "./connection.js";
import type { TenantContext } from "./core.js";
import { READ_NEEDS, requirePermissions } from "./permissions.js";
import { checkSignedInTenant } from "./tenant.js";

// Portal-uploaded tokens (CSV in the admin center) into the inventory, as entra-docs
// how-to-mfa-manage-oath-tokens.md ("User has two tokens with the same serial number") says:
// the legacy token is the user's hardwareOathMethod whose id no inventory device has; DELETE the
// user's method, then DELETE the device with that id; then the token is created in the inventory
// (assigned, and activated where tokens.yaml says so and the seed is known) by the usual steps.

export interface PortalMigration {
  serial: string;
  /** The holder of the portal token, and its method id (= the legacy device's id). */
  userId: string;
  upn: string;
  methodId: string;
}

export interface MigrationPlan {
  desired: Desired;
  migrations: PortalMigration[];
  /** What creates those serials in the inventory afterwards: the plan's steps for them alone. */
  plan: Plan;
}

export interface PlannedMigration {
  migration: MigrationPlan;
  seeds: SeedStore;
  repository: TokenRepository;
}

export interface Migrated {
  removed: { migration: PortalMigration; ok: boolean; message?: string }[];
  /** Undefined when a removal failed: nothing was created. */
  report?: ApplyReport;
}

/** The portal tokens of serials tokens.yaml declares and the inventory lacks (read for the users tokens.yaml names). */
export function portalMigrations(desired: Desired, live: LiveState): PortalMigration[] {
  const inInventory = new Set(live.devices.map((d) => serialKey(d.serial)));
  const declared = new Set(desired.tokens.filter((t) => t.state !== "retired").map((t) => serialKey(t.serial)));
  const found: PortalMigration[] = [];
  for (const [userId, methods] of live.userMethods ?? []) {
    const upn = live.directory.users.get(userId)?.userPrincipalName ?? userId;
    for (const token of methods.portalTokens) {
      if (declared.has(serialKey(token.serial)) && !inInventory.has(serialKey(token.serial))) found.push({ serial: token.serial, userId, upn, methodId: token.id });
    }
  }
  return found;
}

/** The tenant as it will be once the portal tokens are gone: what the steps after the removals are planned on. */
function withoutPortalTokens(live: LiveState, migrations: readonly PortalMigration[]): LiveState {
  const removed = new Set(migrations.map((m) => m.methodId));
  const userMethods = new Map([...(live.userMethods ?? [])].map(([userId, methods]) => [userId, { ...methods, portalTokens: methods.portalTokens.filter((t) => !removed.has(t.id)) }]));
  return { ...live, userMethods };
}

/** The plan's steps, errors and warnings for the migrated serials only: nothing else of tokens.yaml runs here. */
function onlyFor(plan: Plan, migrations: readonly PortalMigration[]): Plan {
  const serials = new Set(migrations.map((m) => serialKey(m.serial)));
  const mine = <T extends { serial: string }>(items: readonly T[]) => items.filter((i) => serials.has(serialKey(i.serial)));
  return { ...plan, steps: mine(plan.steps), errors: mine(plan.errors), warnings: mine(plan.warnings), unmanaged: [] };
}

/**
 * Reads the tenant and plans the migration. Seeds are opened only when `context.secretsRequired`
 * (the run that migrates); a preview plans from the seed files' clear facts, as `plan` does.
 */
export async function planMigration(context: TenantContext, desired: Desired): Promise<PlannedMigration> {
  if (desired.tenant) await checkSignedInTenant(context.credential, desired.tenant, desired.file);
  const repository = connectTenant(context);
  await requirePermissions(context.credential, READ_NEEDS, "migrate");
  const live = await readLive(repository, desired);
  const migrations = portalMigrations(desired, live);
  const after = withoutPortalTokens(live, migrations);
  const allowDeletes = context.policy.allowDeletes;
  if (migrations.length === 0) return { migration: { desired, migrations, plan: onlyFor(makePlan(desired, after, { seeds: new Set(), allowDeletes }), migrations) }, seeds: new SeedStore(), repository };
  const refs = context.seeds ? context.seeds.map((path) => ({ path })) : desired.seedFiles;
  if (!context.secretsRequired) {
    // The preview reads the seed files' clear facts, as plan does: a missing, mismatched or unchecked seed shows before --yes.
    const plan = makePlan(desired, after, { ...plannerSeeds(await readSeedFacts(refs)), allowDeletes });
    return { migration: { desired, migrations, plan: onlyFor(plan, migrations) }, seeds: new SeedStore(), repository };
  }
  await requirePermissions(context.credential, [NEEDS.writeDevices, NEEDS.writeHardwareMethods], "migrate");
  const seeds = await readSeedFiles(refs, context.secrets);
  const plan = makePlan(desired, after, { ...plannerSeeds({ descriptions: seeds.all(), unread: [] }), allowDeletes });
  return { migration: { desired, migrations, plan: onlyFor(plan, migrations) }, seeds, repository };
}

/**
 * Removes each portal token (the user's method, then its device), and only when every removal
 * succeeded creates the tokens in the inventory. The caller checked that the plan has no errors.
 */
export async function runMigration(planned: PlannedMigration): Promise<Migrated> {
  const { migration, repository, seeds } = planned;
  const unassigned = await repository.unassign(migration.migrations.map((m) => ({ userId: m.userId, deviceId: m.methodId })));
  const deleted = await repository.delete(migration.migrations.map((m, i) => ({ deviceId: unassigned[i]!.ok ? m.methodId : "" })).filter((d) => d.deviceId !== ""));
  let next = 0;
  const removed = migration.migrations.map((m, i) => {
    const first = unassigned[i]!;
    if (!first.ok) return { migration: m, ok: false, message: first.error.message };
    const second = deleted[next++]!;
    return second.ok ? { migration: m, ok: true } : { migration: m, ok: false, message: second.error.message };
  });
  if (removed.some((r) => !r.ok)) return { removed };
  return { removed, report: await applyPlan(migration.plan, repository, { seeds }) };
}
