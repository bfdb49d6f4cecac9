import { GraphRejectedError, NotFoundError, type GraphFailure } from "../graph/errors.js";
import { isAlreadyExists, type CreateRequest, type ItemResult, type TokenRepository } from "../graph/repository.js";
import { MAX_BATCH_REQUESTS, forEachConcurrently } from "../graph/client.js";
import type { Plan, Step, StepKind } from "../model/index.js";
import type { SeedStore } from "../seeds/model.js";
import { verificationCode } from "./totp.js";

// Executes a plan through the typed Graph operations, one phase per step kind, batched. Every
// step ends up succeeded, failed (with why) or skipped (because an earlier step of its token
// failed); nothing goes unreported. Safe to repeat: "already done" answers count as success.

export class ApplyRefusedError extends Error {}

export interface ProgressEvent {
  phase: StepKind;
  done: number;
  total: number;
}

export interface ApplyOptions {
  seeds: SeedStore;
  onProgress?: (event: ProgressEvent) => void;
  now?: () => number;
}

export interface StepOutcome {
  step: Step;
  status: "succeeded" | "failed" | "skipped";
  message?: string;
}

export interface ApplyReport {
  outcomes: StepOutcome[];
  succeeded: number;
  failed: number;
  skipped: number;
}

type Activate = Extract<Step, { kind: "activate" }>;

export async function applyPlan(plan: Plan, repository: TokenRepository, options: ApplyOptions): Promise<ApplyReport> {
  if (plan.errors.length > 0) throw new ApplyRefusedError(`the plan has ${plan.errors.length} errors; fix them first (see the plan)`);
  if (plan.deletionGuard) throw new ApplyRefusedError(`the plan deletes ${plan.deletionGuard.deletes} tokens, above policy.maxDeletes (${plan.deletionGuard.limit}); rerun with --allow-deletes after review`);
  const now = options.now ?? Date.now;
  const outcomes = new Map<Step, StepOutcome>();
  const failedSerials = new Set<string>();
  /** Device ids learned while applying (from creates). */
  const deviceIds = new Map<string, string>();
  const key = (serial: string) => serial.toUpperCase();

  /** Serials this plan creates or assigns: their activation waits for that. */
  const placed = new Set(plan.steps.filter((s) => s.kind === "create" || s.kind === "assign").map((s) => key(s.serial)));
  const settle = (step: Step, result: ItemResult<unknown> | { ok: false; message: string }) => {
    if (result.ok) {
      outcomes.set(step, { step, status: "succeeded" });
      return;
    }
    const message = "error" in result ? result.error.message : result.message;
    outcomes.set(step, { step, status: "failed", message });
    failedSerials.add(key(step.serial));
  };

  const withoutFailed = <S extends Step>(steps: readonly S[]): S[] =>
    steps.filter((s) => {
      if (!failedSerials.has(key(s.serial))) return true;
      outcomes.set(s, { step: s, status: "skipped", message: "an earlier step for this token failed" });
      return false;
    });

  const runPhase = async (phase: StepKind, ready: Promise<unknown> = Promise.resolve()): Promise<void> => {
    const all = plan.steps.filter((s) => s.kind === phase);
    if (all.length === 0) return;
    await ready;
    const runnable = withoutFailed(all);
    const progress = (done: number) => options.onProgress?.({ phase, done: Math.min(done, runnable.length), total: runnable.length });
    progress(0);
    switch (phase) {
      case "unassign": {
        const steps = runnable.filter((s): s is Extract<Step, { kind: "unassign" }> => s.kind === "unassign");
        const results = await repository.unassign(steps.map((s) => ({ userId: s.from.id, deviceId: s.deviceId })), progress);
        // 404: already unassigned (e.g. by a run that was interrupted).
        steps.forEach((s, i) => settle(s, tolerate(results[i]!, (e) => e instanceof NotFoundError)));
        break;
      }
      case "delete": {
        const steps = runnable.filter((s): s is Extract<Step, { kind: "delete" }> => s.kind === "delete");
        const results = await repository.delete(steps.map((s) => ({ deviceId: s.deviceId })), progress);
        steps.forEach((s, i) => settle(s, tolerate(results[i]!, (e) => e instanceof NotFoundError)));
        break;
      }
      case "update": {
        const steps = runnable.filter((s): s is Extract<Step, { kind: "update" }> => s.kind === "update");
        const results = await repository.update(steps.map((s) => ({ deviceId: s.deviceId, changes: Object.fromEntries(s.changes.map((c) => [c.field, c.to])) })), progress);
        steps.forEach((s, i) => settle(s, results[i]!));
        break;
      }
      case "create": {
        const steps = runnable.filter((s): s is Extract<Step, { kind: "create" }> => s.kind === "create");
        const requests: { step: (typeof steps)[number]; request: CreateRequest }[] = [];
        for (const step of steps) {
          const seed = options.seeds.get(step.serial);
          if (!seed) {
            settle(step, { ok: false, message: "no seed for this serial" });
            continue;
          }
          requests.push({
            step,
            request: {
              serial: step.serial,
              secretKey: seed.secret.reveal(),
              ...step.attributes,
              ...(step.displayName === undefined ? {} : { displayName: step.displayName }),
              ...(step.assignTo === undefined ? {} : { assignToUserId: step.assignTo.id }),
            },
          });
        }
        const results = await repository.createDevices(requests.map((r) => r.request), progress);
        for (const [i, { step }] of requests.entries()) {
          const result = results[i]!;
          if (result.ok) {
            deviceIds.set(key(step.serial), result.value.id);
            settle(step, result);
          } else if (isAlreadyExists(result.error)) {
            // An interrupted earlier run (or a retried request) created it: adopt it if it is as planned.
            settle(step, await adoptExisting(repository, step, deviceIds));
          } else {
            settle(step, result);
          }
        }
        break;
      }
      case "assign": {
        const steps = runnable.filter((s): s is Extract<Step, { kind: "assign" }> => s.kind === "assign");
        const items = steps.map((s) => ({ userId: s.to.id, deviceId: s.deviceId ?? deviceIds.get(key(s.serial)) ?? "" }));
        const results = await repository.assign(items, progress);
        for (const [i, step] of steps.entries()) {
          const result = results[i]!;
          const alreadyAssigned = !result.ok && result.error instanceof GraphRejectedError && result.error.code === "tokenAlreadyAssigned";
          settle(step, alreadyAssigned ? await confirmHolder(repository, step.serial, step.to.id, result) : result);
        }
        break;
      }
      case "activate": {
        const steps = runnable.filter((s): s is Activate => s.kind === "activate");
        // One $batch per round, `concurrency` rounds in flight and a new one as soon as one ends;
        // each round computes its codes just before it is sent, so they stay fresh.
        let done = 0;
        const activate = (group: readonly Activate[]) => {
          const rounds: Activate[][] = [];
          for (let start = 0; start < group.length; start += MAX_BATCH_REQUESTS) rounds.push(group.slice(start, start + MAX_BATCH_REQUESTS));
          return forEachConcurrently(rounds, repository.concurrency, async (round) => {
            const results = await activateRound(repository, round, options.seeds, deviceIds, now);
            round.forEach((s, i) => settle(s, results[i]!));
            progress((done += round.length));
          });
        };
        // Tokens already held start at once; the others once their create or assign is done.
        await Promise.all([
          activate(steps.filter((s) => !placed.has(key(s.serial)))),
          placement.then(() => activate(withoutFailed(steps.filter((s) => placed.has(key(s.serial)))))),
        ]);
        break;
      }
    }
  };

  // Phases wait only for what Graph's rules make them depend on, and otherwise overlap:
  // unassigning frees tokens and users' seats (at most 5 each) for everything after it; Graph
  // changes attributes only of unassigned tokens, so an update precedes its token's assign;
  // deletes touch only unmanaged tokens and creates only new serials; an activation waits for its
  // token's create or assign, while tokens already held can be activated from the start.
  const unassigned = runPhase("unassign");
  const updated = runPhase("update", unassigned);
  const created = runPhase("create", unassigned);
  const assigned = runPhase("assign", updated);
  const placement = Promise.all([created, assigned]);
  await Promise.all([runPhase("delete", unassigned), placement, runPhase("activate")]);
  const ordered = plan.steps.map((s) => outcomes.get(s) ?? { step: s, status: "skipped" as const, message: "not reached" });
  return {
    outcomes: ordered,
    succeeded: ordered.filter((o) => o.status === "succeeded").length,
    failed: ordered.filter((o) => o.status === "failed").length,
    skipped: ordered.filter((o) => o.status === "skipped").length,
  };
}

function tolerate<T>(result: ItemResult<T>, done: (error: GraphFailure) => boolean): ItemResult<T | undefined> {
  return !result.ok && done(result.error) ? { ok: true, value: undefined } : result;
}

async function adoptExisting(repository: TokenRepository, step: Extract<Step, { kind: "create" }>, deviceIds: Map<string, string>): Promise<ItemResult<unknown> | { ok: false; message: string }> {
  const existing = await repository.deviceBySerial(step.serial);
  if (!existing) return { ok: false, message: "Graph says the serial exists but it cannot be found; run again" };
  deviceIds.set(step.serial.toUpperCase(), existing.id);
  if (step.assignTo === undefined || existing.assignedTo?.id === step.assignTo.id) return { ok: true, value: undefined };
  if (existing.assignedTo) return { ok: false, message: `the serial already exists, held by someone else (${existing.assignedTo.id}); run plan again` };
  const [assigned] = await repository.assign([{ userId: step.assignTo.id, deviceId: existing.id }]);
  return assigned ?? { ok: false, message: "no answer to the assignment" };
}

async function confirmHolder(repository: TokenRepository, serial: string, userId: string, original: ItemResult): Promise<ItemResult<unknown>> {
  const device = await repository.deviceBySerial(serial);
  return device?.assignedTo?.id === userId ? { ok: true, value: undefined } : original;
}

/** One round of activations; a wrong code is retried once with the next step's code (clock skew). */
async function activateRound(
  repository: TokenRepository,
  steps: readonly Activate[],
  seeds: SeedStore,
  deviceIds: Map<string, string>,
  now: () => number,
): Promise<(ItemResult | { ok: false; message: string })[]> {
  const results: (ItemResult | { ok: false; message: string })[] = new Array(steps.length);
  const attempt = async (indexes: number[], stepOffset: number) => {
    const items: { index: number; request: Parameters<TokenRepository["activate"]>[0][number] }[] = [];
    for (const index of indexes) {
      const step = steps[index]!;
      const seed = seeds.get(step.serial);
      const deviceId = step.deviceId ?? deviceIds.get(step.serial.toUpperCase());
      if (!seed || !deviceId) {
        results[index] = { ok: false, message: seed ? "the device id is unknown (its creation failed)" : "no seed for this serial" };
        continue;
      }
      const code = verificationCode(seed.secret, step.totp.timeIntervalInSeconds, step.totp.hashFunction, now(), stepOffset);
      items.push({ index, request: { userId: step.user.id, deviceId, verificationCode: code, ...(step.displayName === undefined ? {} : { displayName: step.displayName }) } });
    }
    const answers = await repository.activate(items.map((i) => i.request));
    items.forEach((item, i) => (results[item.index] = answers[i]!));
  };
  await attempt(steps.map((_, i) => i), 0);
  const wrongCode = steps
    .map((_, i) => i)
    .filter((i) => {
      const r = results[i];
      return r !== undefined && !r.ok && "error" in r && r.error.code === "invalidVerificationCode";
    });
  if (wrongCode.length > 0) await attempt(wrongCode, 1);
  for (const i of wrongCode) {
    const r = results[i];
    if (r && !r.ok && "error" in r && r.error.code === "invalidVerificationCode") {
      results[i] = { ok: false, message: `${r.error.message}. The seed does not match the token (or the clock is off by more than a step): check the seed file and the machine's time` };
    }
  }
  return results;
}
