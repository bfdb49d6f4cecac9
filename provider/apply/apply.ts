import { AuthenticationError, CredentialConfigError, InterruptedError, NotFoundError, PermissionError, type GraphFailure } from "../graph/errors.js";
import type { CreateRequest, ItemResult, TokenRepository } from "../graph/repository.js";
import { forEachConcurrently, MAX_BATCH_REQUESTS } from "../graph/client.js";
import type { LiveToken, Plan, Step, StepKind } from "../model/index.js";
import type { SeedStore } from "../seeds/model.js";
import { verificationCode } from "./totp.js";

// Executes a plan through the typed Graph operations, one phase per step kind, batched. Every
// step ends up succeeded, failed (with why) or skipped (because an earlier step of its token
// failed); nothing goes unreported. Safe to repeat: "already done" counts as success, but as
// "already so", not as work of this run (two runs at once must not both claim every change). No Microsoft
// page defines the error codes of these endpoints, so after a failed create, assign or activate the
// device is read back and its state decides, never the code alone.

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
  /** Once aborted, nothing new is sent; steps not done are reported as skipped with `interrupted`. */
  signal?: AbortSignal;
}

export interface StepOutcome {
  step: Step;
  status: "succeeded" | "failed" | "skipped";
  message?: string;
  /** Skipped because the run was interrupted before the step was sent. */
  interrupted?: boolean;
  /** Succeeded because it was found already done when checked (by an earlier or concurrent run, or by hand). */
  alreadySo?: true;
}

export interface ApplyReport {
  outcomes: StepOutcome[];
  /** Includes `alreadySo`. */
  succeeded: number;
  /** Steps found already done, not done by this run. */
  alreadySo: number;
  failed: number;
  skipped: number;
  /** Ids of devices this run created (or found already created), by upper-case serial. */
  createdDeviceIds: ReadonlyMap<string, string>;
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

  const settle = (step: Step, result: Outcome) => {
    if (result === ALREADY_SO) {
      outcomes.set(step, { step, status: "succeeded", alreadySo: true });
      return;
    }
    if (result.ok) {
      outcomes.set(step, { step, status: "succeeded" });
      return;
    }
    if ("error" in result && result.error instanceof InterruptedError) {
      outcomes.set(step, { step, status: "skipped", message: "not sent: the run was interrupted", interrupted: true });
      return;
    }
    const message = "error" in result ? result.error.message : result.message;
    outcomes.set(step, { step, status: "failed", message });
    failedSerials.add(key(step.serial));
  };

  /** Serials this plan creates or assigns: their activation waits for that. */
  const placed = new Set(plan.steps.filter((s) => s.kind === "create" || s.kind === "assign").map((s) => key(s.serial)));
  const withoutFailed = <S extends Step>(steps: readonly S[]): S[] =>
    steps.filter((s) => {
      if (!failedSerials.has(key(s.serial))) return true;
      outcomes.set(s, { step: s, status: "skipped", message: "an earlier step for this token failed" });
      return false;
    });

  /**
   * A phase's steps wait for `ready`, or, given `waitsFor`, only the steps of those serials do: the
   * others start at once and share $batch envelopes with the phases already running. A phase waits
   * for what it depends on even when it has nothing to do, so that the phases after it wait too.
   */
  const runPhase = async (phase: StepKind, ready: Promise<unknown> = Promise.resolve(), waitsFor?: ReadonlySet<string>): Promise<void> => {
    const all = plan.steps.filter((s) => s.kind === phase);
    const waiting = waitsFor === undefined ? all : all.filter((s) => waitsFor.has(key(s.serial)));
    const done = [0, 0];
    const progressOf = (part: 0 | 1) => (count: number) => {
      done[part] = count;
      options.onProgress?.({ phase, done: Math.min(done[0]! + done[1]!, all.length), total: all.length });
    };
    if (all.length > 0) progressOf(0)(0);
    await Promise.all([
      waiting.length === all.length ? undefined : runSteps(phase, all.filter((s) => !waitsFor?.has(key(s.serial))), progressOf(0)),
      ready.then(() => runSteps(phase, waiting, progressOf(1))),
    ]);
  };

  const runSteps = async (phase: StepKind, all: readonly Step[], progress: (done: number) => void): Promise<void> => {
    if (all.length === 0 || options.signal?.aborted) return;
    const runnable = withoutFailed(all);
    switch (phase) {
      case "unassign": {
        const steps = runnable.filter((s): s is Extract<Step, { kind: "unassign" }> => s.kind === "unassign");
        const results = await repository.unassign(steps.map((s) => ({ userId: s.from.id, deviceId: s.deviceId })), progress);
        // 404: already unassigned (e.g. by a run that was interrupted).
        steps.forEach((s, i) => settle(s, alreadySoIf(results[i]!, (e) => e instanceof NotFoundError)));
        break;
      }
      case "delete": {
        const steps = runnable.filter((s): s is Extract<Step, { kind: "delete" }> => s.kind === "delete");
        const results = await repository.delete(steps.map((s) => ({ deviceId: s.deviceId })), progress);
        steps.forEach((s, i) => settle(s, alreadySoIf(results[i]!, (e) => e instanceof NotFoundError)));
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
        const failed: { step: (typeof steps)[number]; failure: GraphFailure }[] = [];
        for (const [i, { step }] of requests.entries()) {
          const result = results[i]!;
          if (result.ok) {
            deviceIds.set(key(step.serial), result.value.id);
            settle(step, result);
          } else if (worthReadingBack(result.error)) failed.push({ step, failure: result.error });
          else settle(step, result);
        }
        // An interrupted earlier run, a retried request or an answer we could not match may have
        // created it: what Graph holds under our serial decides.
        const found = await repository.readBackBySerial(failed.map((f) => f.step.serial));
        const toAssign: { step: (typeof steps)[number]; device: LiveToken; userId: string }[] = [];
        for (const [i, { step, failure }] of failed.entries()) {
          const device = known(found[i]);
          if (!device) {
            settle(step, { ok: false, error: failure });
            continue;
          }
          deviceIds.set(key(step.serial), device.id);
          if (step.assignTo === undefined || device.assignedTo?.id === step.assignTo.id) settle(step, ALREADY_SO);
          else if (device.assignedTo) settle(step, { ok: false, message: `the serial already exists in Entra, ${heldBy(device)}; run plan again` });
          else toAssign.push({ step, device, userId: step.assignTo.id });
        }
        const assigned = await assignDecided(repository, toAssign.map((a) => ({ userId: a.userId, deviceId: a.device.id })));
        toAssign.forEach((a, i) => settle(a.step, assigned[i]!));
        break;
      }
      case "assign": {
        const steps = runnable.filter((s): s is Extract<Step, { kind: "assign" }> => s.kind === "assign");
        const items = steps.map((s) => ({ userId: s.to.id, deviceId: s.deviceId ?? deviceIds.get(key(s.serial)) ?? "" }));
        const results = await assignDecided(repository, items, progress);
        steps.forEach((s, i) => settle(s, results[i]!));
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
            if (options.signal?.aborted) return;
            const results = await activateRound(repository, round, options.seeds, deviceIds, now);
            round.forEach((s, i) => settle(s, results[i]!));
            progress((done += round.length));
          });
        };
        // Tokens already held start at once; the others once their create or assign is done.
        await Promise.all([
          activate(steps.filter((s) => !placed.has(key(s.serial)))),
          placement.then(() => (options.signal?.aborted ? undefined : activate(withoutFailed(steps.filter((s) => placed.has(key(s.serial))))))),
        ]);
        break;
      }
    }
  };

  // Phases wait only for what Graph's rules make them depend on, and otherwise overlap:
  // unassigning frees tokens and users' seats (at most 5 each) for everything after it; Graph
  // changes attributes and deletes only of unassigned tokens, so an update or delete of a token
  // being unassigned waits for that (the others go at once), and an update precedes its token's assign;
  // deletes touch unmanaged tokens and creates new serials, except where a device is deleted to be
  // created again with a new seed (the Pulumi update of a changed seed): then creates wait for the
  // deletes. An activation waits for its token's create or assign, while tokens already held can be
  // activated from the start.
  const unassigning = new Set(plan.steps.filter((s) => s.kind === "unassign").map((s) => key(s.serial)));
  const unassigned = runPhase("unassign");
  const updated = runPhase("update", unassigned, unassigning);
  const deleted = runPhase("delete", unassigned, unassigning);
  const deletedSerials = new Set(plan.steps.filter((s) => s.kind === "delete").map((s) => key(s.serial)));
  const recreates = plan.steps.some((s) => s.kind === "create" && deletedSerials.has(key(s.serial)));
  const created = runPhase("create", recreates ? deleted : unassigned);
  const assigned = runPhase("assign", updated);
  const placement = Promise.all([created, assigned]);
  await Promise.all([unassigned, updated, deleted, placement, runPhase("activate")]);
  const interrupted = options.signal?.aborted === true;
  const ordered = plan.steps.map((s) => outcomes.get(s) ?? { step: s, status: "skipped" as const, message: "not reached", ...(interrupted ? { interrupted } : {}) });
  return {
    outcomes: ordered,
    succeeded: ordered.filter((o) => o.status === "succeeded").length,
    failed: ordered.filter((o) => o.status === "failed").length,
    skipped: ordered.filter((o) => o.status === "skipped").length,
    alreadySo: ordered.filter((o) => o.alreadySo).length,
    createdDeviceIds: deviceIds,
  };
}

/** A step found done when checked: it succeeds, but not as work of this run. */
const ALREADY_SO = Symbol("already so");

type Outcome = ItemResult<unknown> | { ok: false; message: string } | typeof ALREADY_SO;

function alreadySoIf<T>(result: ItemResult<T>, done: (error: GraphFailure) => boolean): ItemResult<T> | typeof ALREADY_SO {
  return !result.ok && done(result.error) ? ALREADY_SO : result;
}

/** Failures after which the device's state can tell what happened (not a sign-in or permission refusal). */
function worthReadingBack(error: GraphFailure): boolean {
  return !(error instanceof PermissionError || error instanceof AuthenticationError || error instanceof CredentialConfigError);
}

/** The device a read-back found; undefined when it found none or could not read. */
function known(result: ItemResult<LiveToken | undefined> | undefined): LiveToken | undefined {
  return result?.ok ? result.value : undefined;
}

function heldBy(device: LiveToken): string {
  return `held by ${device.assignedTo?.displayName ?? "another user"} (user id ${device.assignedTo?.id ?? "unknown"})`;
}

/** Assigns; a failed assignment is decided by who holds the device afterwards. */
async function assignDecided(repository: TokenRepository, items: readonly { userId: string; deviceId: string }[], onProgress?: (done: number) => void): Promise<Outcome[]> {
  if (items.length === 0) return [];
  const results: Outcome[] = await repository.assign(items, onProgress);
  const failed = items.flatMap((_, i) => {
    const result = results[i]!;
    return result !== ALREADY_SO && !result.ok && "error" in result && worthReadingBack(result.error) ? [{ index: i, failure: result.error }] : [];
  });
  const devices = await repository.readBackById(failed.map((f) => items[f.index]!.deviceId));
  failed.forEach(({ index, failure }, i) => {
    const device = known(devices[i]);
    if (device?.assignedTo?.id === items[index]!.userId) results[index] = ALREADY_SO;
    else if (device?.assignedTo) results[index] = { ok: false, message: `${failure.message}: the token is ${heldBy(device)}; unassign it there first, or change tokens.yaml` };
  });
  return results;
}

/** One round of activations; a wrong code is retried once with the next step's code (clock skew). */
async function activateRound(
  repository: TokenRepository,
  steps: readonly Activate[],
  seeds: SeedStore,
  deviceIds: Map<string, string>,
  now: () => number,
): Promise<Outcome[]> {
  const results: Outcome[] = new Array(steps.length);
  const deviceIdOf = (step: Activate) => step.deviceId ?? deviceIds.get(step.serial.toUpperCase());
  const attempt = async (indexes: number[], stepOffset: number) => {
    const items: { index: number; request: Parameters<TokenRepository["activate"]>[0][number] }[] = [];
    for (const index of indexes) {
      const step = steps[index]!;
      const seed = seeds.get(step.serial);
      const deviceId = deviceIdOf(step);
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
  // Decided by the device's state after each failure: activated by us is done; failedActivation
  // is retried once with the next step's code (clock skew); a holder other than ours is named.
  const decide = async (indexes: number[], lastTry: boolean): Promise<number[]> => {
    const failed = indexes.filter((i) => {
      const r = results[i];
      return r !== undefined && r !== ALREADY_SO && !r.ok && "error" in r && worthReadingBack(r.error);
    });
    const devices = await repository.readBackById(failed.map((i) => deviceIdOf(steps[i]!) ?? ""));
    const retry: number[] = [];
    failed.forEach((index, i) => {
      const device = known(devices[i]);
      const failure = results[index]!;
      const message = failure !== ALREADY_SO && !failure.ok && "error" in failure ? failure.error.message : "";
      const ours = device?.assignedTo?.id === steps[index]!.user.id;
      if (ours && device?.status === "activated") results[index] = ALREADY_SO;
      else if (device?.assignedTo && !ours) results[index] = { ok: false, message: `${message}: the token is ${heldBy(device)}` };
      else if (ours && device?.status === "failedActivation") {
        if (!lastTry) retry.push(index);
        else results[index] = { ok: false, message: `${message}. The seed does not match the token (or the clock is off by more than a step): check the seed file and the machine's time` };
      }
    });
    return retry;
  };
  const all = steps.map((_, i) => i);
  await attempt(all, 0);
  const retry = await decide(all, false);
  if (retry.length > 0) {
    await attempt(retry, 1);
    await decide(retry, true);
  }
  return results;
}
