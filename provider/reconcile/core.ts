import { applyPlan, type ApplyReport, type ProgressEvent } from "../apply/apply.js";
import type { Diagnostic } from "../desired/diagnostics.js";
import { loadDesired } from "../desired/load.js";
import { readLive, withMethodLastUse } from "../graph/live.js";
import type { TokenRepository } from "../graph/repository.js";
import type { Desired, DriftItem, LiveState, Plan, PlanTarget } from "../model/index.js";
import { classifyDrift } from "../plan/drift.js";
import { plan as makePlan } from "../plan/plan.js";
import type { PreflightWarning } from "../plan/preflight.js";
import { narrowPlan, targetSerials } from "../plan/target.js";
import { plannerSeeds } from "../seeds/facts.js";
import { SeedStore } from "../seeds/model.js";
import { readSeedFacts, readSeedFiles } from "../seeds/read.js";
import { connectTenant, type TenantConnection } from "./connection.js";
import { READ_NEEDS, requirePermissions, writeNeeds } from "./permissions.js";
import { runPreflight } from "./preflight.js";
import { checkSignedInTenant } from "./tenant.js";

// The one reconcile core: plan, apply and drift of one tenant, from an explicit context. It reads
// no process.env, argv or stack config: the fronts (the CLI, the Pulumi provider, the runner over
// many tenants) turn those into a TenantContext, and render the typed results as they need.

type Env = Readonly<Record<string, string | undefined>>;

/** Policy a run may override for itself (a reviewed mass deletion). */
export interface PolicyOverrides {
  allowDeletes: boolean;
}

export interface TenantContext extends TenantConnection {
  /** The tokens.yaml of this tenant. */
  file: string;
  /** tokens.yaml may name seed files outside its repository (ENTRA_TOKENS_ALLOW_SEEDS_OUTSIDE_REPO). */
  allowSeedsOutsideRepository?: boolean;
  /** Seed files to read instead of the file's `seeds`. */
  seeds?: readonly string[];
  /** Where the secrets of encrypted seed files are looked up (variable name → value). */
  secrets: Env;
  policy: PolicyOverrides;
  /** Wraps the slow tenant read (a front shows a status line meanwhile). */
  whileReading?: <T>(run: () => Promise<T>) => Promise<T>;
  /** Shown before seeds are opened: a seed failure must not hide the preflight's warnings. */
  onPreflight?: (warnings: readonly PreflightWarning[]) => void;
  /**
   * apply needs the seeds themselves. plan runs in pull requests, which hold no seed secret: it
   * opens none and reads what the seed files state in clear (the encrypted store keeps it so).
   */
  secretsRequired: boolean;
  /** The front's clock (ms): stale notices (policy.staleAfterDays) are judged at it; none without it. */
  now?: number;
  /** plan/apply --serial/--upn: plan (and apply) these tokens only. */
  target?: PlanTarget;
}

export type Loaded = { ok: true; desired: Desired } | { ok: false; file: string; diagnostics: Diagnostic[] };

export async function loadTenantDesired(context: Pick<TenantContext, "file" | "allowSeedsOutsideRepository">): Promise<Loaded> {
  const loaded = await loadDesired(context.file, { allowSeedsOutsideRepository: context.allowSeedsOutsideRepository === true });
  return loaded.ok ? { ok: true, desired: loaded.desired } : { ok: false, file: context.file, diagnostics: loaded.diagnostics };
}

export interface Planned {
  desired: Desired;
  live: LiveState;
  preflight: PreflightWarning[];
  plan: Plan;
  repository: TokenRepository;
  /** The seeds the plan needs (empty when it needs none, and in a plan, which opens no secret). */
  seeds: SeedStore;
}

export interface Drifted {
  desired: Desired;
  live: LiveState;
  items: DriftItem[];
  /** For further reads of the same tenant in the same session (the audit log). */
  repository: TokenRepository;
}

const clock = (context: TenantContext): { now?: number } => (context.now === undefined ? {} : { now: context.now });

/**
 * Steps that need the seed files: creating and activating need the seed; changing the interval or
 * hash needs what the seed file states about the token (its truth). Only these open (and decrypt) them.
 */
const needsSeed = (plan: Plan) =>
  plan.steps.some((s) => s.kind === "create" || s.kind === "activate" || (s.kind === "update" && s.changes.some((c) => c.field === "timeIntervalInSeconds" || c.field === "hashFunction")));

const reading = <T>(context: TenantContext, run: () => Promise<T>): Promise<T> => (context.whileReading ? context.whileReading(run) : run());

/** Connects, first refusing credentials of another tenant than the file declares. */
async function connectChecked(context: TenantContext, desired: Desired): Promise<TokenRepository> {
  if (desired.tenant) await checkSignedInTenant(context.credential, desired.tenant, desired.file);
  return connectTenant(context);
}

/** check the tenant → connect → read the tenant → preflight → (seeds) → plan. */
export async function planTenant(context: TenantContext, desired: Desired): Promise<Planned> {
  const repository = await connectChecked(context, desired);
  const command = context.secretsRequired ? "apply" : "plan";
  await requirePermissions(context.credential, READ_NEEDS, command);
  const live = await reading(context, () => readLive(repository, desired));
  repository.forgetDirectory();
  const preflight = await runPreflight(repository, desired, live, context.concurrency);
  // Plan first as if every seed were at hand: every seed check of the planner guards a create, an
  // activate or a change of interval or hash, so a plan without those opens no seed file.
  const everySerial = new Set(desired.tokens.map((t) => t.serial));
  const allowDeletes = context.policy.allowDeletes;
  // --serial/--upn: the whole file is planned, then narrowed; an unknown target stops before any seed is read.
  const chosen = context.target ? targetSerials(context.target, desired, live) : undefined;
  const narrowed = (whole: Plan): Plan => (context.target && chosen ? narrowPlan(whole, context.target, chosen, { maxDeletes: desired.policy.maxDeletes, allowDeletes }) : whole);
  const optimistic = narrowed(makePlan(desired, live, { seeds: everySerial, allowDeletes, ...clock(context) }));
  context.onPreflight?.(preflight);
  // apply refuses before any change; plan runs with a read-only app by design (docs/github.md), so it does not ask.
  if (context.secretsRequired) await requirePermissions(context.credential, writeNeeds(optimistic), command);
  const noSeeds = new SeedStore();
  if (!needsSeed(optimistic)) return { desired, live, preflight, plan: optimistic, repository, seeds: noSeeds };
  const refs = context.seeds ? context.seeds.map((path) => ({ path })) : desired.seedFiles;
  if (!context.secretsRequired) {
    const planned = makePlan(desired, live, { ...plannerSeeds(await readSeedFacts(refs)), allowDeletes, ...clock(context) });
    return { desired, live, preflight, plan: narrowed(planned), repository, seeds: noSeeds };
  }
  const seeds = await readSeedFiles(refs, context.secrets);
  const planned = makePlan(desired, live, { ...plannerSeeds({ descriptions: seeds.all(), unread: [] }), allowDeletes, ...clock(context) });
  return { desired, live, preflight, plan: narrowed(planned), repository, seeds };
}

/**
 * Applies a plan planTenant made; the caller decided (confirmation, guard) that it may. It needs
 * only the plan, the session and the seeds: a caller that keeps no more lets the tenant as read
 * (users, their methods) be freed while the apply runs.
 */
export function applyTenant(planned: Pick<Planned, "plan" | "repository" | "seeds">, options: { onProgress?: (event: ProgressEvent) => void; signal?: AbortSignal } = {}): Promise<ApplyReport> {
  return applyPlan(planned.plan, planned.repository, { seeds: planned.seeds, ...options });
}

/** check the tenant → connect → read the tenant → classify drift. */
export async function driftTenant(context: TenantContext, desired: Desired): Promise<Drifted> {
  const repository = await connectChecked(context, desired);
  await requirePermissions(context.credential, READ_NEEDS, "drift");
  // The device may never record a use its holder's method has (docs/entra-rules.md): drift reads both.
  const live = await withMethodLastUse(repository, await reading(context, () => readLive(repository, desired)));
  return { desired, live, items: classifyDrift(desired, live, context.now), repository };
}
