import { readUserMethods } from "../graph/live.js";
import type { TokenRepository } from "../graph/repository.js";
import type { Desired, DesiredToken, LiveToken, LiveUser, Plan, PlanProblem, Step } from "../model/index.js";
import { serialKey } from "../plan/compare.js";
import { deviceAfter } from "../plan/effects.js";
import { plan } from "../plan/plan.js";
import { connectTenant, type TenantConnection } from "../reconcile/connection.js";
import { SeedStore } from "../seeds/model.js";
import type { Secret } from "../seeds/secret.js";
import { applyPlan, type StepOutcome } from "./apply.js";
import { Coalescer, type Settled } from "./coalescer.js";

// One Graph session per process (ARCHITECTURE.md): one credential, whose tokens are cached, one
// client, one inventory snapshot read once, a user cache, and coalescers that gather the calls
// arriving together into the same bulk creates and `$batch` requests the CLI makes for a whole plan.

/** One token to converge to its desired state, or one to delete. */
export type TokenChange =
  | {
      kind: "converge";
      token: DesiredToken;
      seed?: Secret;
      /** The seed changed: delete the device and create it again with the new seed. */
      replaceSeed?: boolean;
      /** Pulumi Create: the token is new to the stack; an existing serial is adopted only if allowed. */
      expectNew?: { adoptExisting: boolean };
      /** Whether the deletion budget allows this token's device to be deleted (a retired token). */
      mayDelete: boolean;
    }
  | { kind: "remove"; serial: string };

export interface ChangeResult {
  /** The device as Graph now has it; undefined when it no longer exists. */
  device?: LiveToken;
  /** Who holds it, when someone does. */
  holder?: LiveUser;
  /** What this run did to the token, in words, for the log. */
  actions: string[];
  /** An existing device was taken over rather than created. */
  adopted: boolean;
  warnings: PlanProblem[];
}

export class ChangeRefusedError extends Error {}

const DEFAULT_QUIET_MS = 30;
const MAX_GATHERED = 500;

export class GraphSession {
  private inventoryLoad: Promise<Map<string, LiveToken>> | undefined;
  private readonly users = new Map<string, LiveUser | null>();
  private readonly changes: Coalescer<TokenChange, ChangeResult>;
  private readonly holders: Coalescer<string, LiveUser | null>;
  private holderPrefetch: Promise<void> | undefined;

  constructor(
    readonly repository: TokenRepository,
    quietMs = DEFAULT_QUIET_MS,
  ) {
    this.changes = new Coalescer((items) => this.applyChanges(items), quietMs, MAX_GATHERED);
    this.holders = new Coalescer(async (ids) => {
      const found = await this.lookUp(ids);
      return ids.map((id) => ({ ok: true as const, value: found.get(id.toLowerCase()) ?? null }));
    }, quietMs, MAX_GATHERED);
  }

  /** A session on one tenant; the front (the Pulumi provider) says which, and how to reach it. */
  static forTenant(connection: TenantConnection): GraphSession {
    return new GraphSession(connectTenant(connection));
  }

  /** The tenant's devices by upper-case serial: read once, then kept up to date by this session's own changes. */
  inventory(): Promise<Map<string, LiveToken>> {
    this.inventoryLoad ??= this.repository.listDevices().then(
      (devices) => new Map(devices.map((d) => [serialKey(d.serial), d])),
      (error: unknown) => {
        this.inventoryLoad = undefined; // a later call may try again
        throw error;
      },
    );
    return this.inventoryLoad;
  }

  /** The token with this serial as the session knows it, and its holder (look-ups gathered with concurrent calls). */
  async token(serial: string): Promise<{ device?: LiveToken; holder?: LiveUser }> {
    const device = (await this.inventory()).get(serialKey(serial));
    if (!device?.assignedTo) return device ? { device } : {};
    if (this.holderPrefetch) await this.holderPrefetch;
    const holder = this.users.get(device.assignedTo.id.toLowerCase()) ?? (await this.holders.add(device.assignedTo.id));
    return holder ? { device, holder } : { device };
  }

  /**
   * Looks up, all at once, the holders of these serials' devices, for the token() calls to come (a
   * refresh reads every token of a stack, a few at a time: gathered as they come, the first groups
   * would be looked up by filters before the session sees that listing the directory pays). A
   * failure here is not reported: each token() then looks its holder up itself and reports it.
   */
  prefetchHolders(serials: Iterable<string>): void {
    const wanted = [...serials];
    this.holderPrefetch ??= this.inventory()
      .then(async (inventory) => {
        const ids = wanted.flatMap((serial) => inventory.get(serialKey(serial))?.assignedTo?.id ?? []);
        if (ids.length > 0) await this.lookUp(ids);
      })
      .catch(() => undefined);
  }

  /** Converges or removes one token; calls arriving together are planned and applied as one. */
  change(change: TokenChange): Promise<ChangeResult> {
    return this.changes.add(change);
  }

  /** What the front knows is coming, so that a gathering waits for it rather than for a quiet moment. */
  expectChanges(more: Parameters<Coalescer<TokenChange, ChangeResult>["expect"]>[0]): void {
    this.changes.expect(more);
  }

  /** One expected decision is made; `change` says whether a change() call follows from it. */
  changeDecided(change: boolean): void {
    this.changes.decided(change);
  }

  /** Users by UPN or id, each looked up once per session; `null` for those that do not exist. */
  private async lookUp(keys: readonly string[]): Promise<Map<string, LiveUser | null>> {
    const missing = [...new Set(keys.map((k) => k.toLowerCase()))].filter((k) => !this.users.has(k));
    if (missing.length > 0) {
      // resolveUsers already indexes each user found by id and by UPN.
      for (const [key, user] of await this.repository.resolveUsers(missing)) this.users.set(key, user);
    }
    return this.users;
  }

  private async applyChanges(changes: readonly TokenChange[]): Promise<Settled<ChangeResult>[]> {
    const inventory = await this.inventory();
    const results: (Settled<ChangeResult> | undefined)[] = new Array(changes.length);
    const fail = (index: number, message: string): void => {
      results[index] = { ok: false, error: new ChangeRefusedError(message) };
    };

    // Deletions first (a removed token, or a device whose seed changed), as the planner orders them.
    const removals: Step[] = [];
    const gone = new Set<string>();
    const desired: DesiredToken[] = [];
    const seeds = new SeedStore();
    changes.forEach((change, index) => {
      const serial = change.kind === "remove" ? change.serial : change.token.serial;
      const device = inventory.get(serialKey(serial));
      if (change.kind === "converge" && device && change.expectNew && !change.expectNew.adoptExisting) {
        fail(index, `token ${serial} already exists in Entra (device ${device.id}) and adoption is off for this stack; set \`pulumi config set entra-tokens:adoptExisting true\` to take it over, or remove it from tokens.yaml`);
        return;
      }
      if (device && (change.kind === "remove" || change.replaceSeed)) {
        if (device.assignedTo) {
          removals.push({ kind: "unassign", serial: device.serial, deviceId: device.id, from: { id: device.assignedTo.id, upn: device.assignedTo.displayName ?? device.assignedTo.id }, reason: "before-delete" });
        }
        removals.push({ kind: "delete", serial: device.serial, deviceId: device.id, reason: "unmanaged" });
        gone.add(serialKey(serial));
      }
      if (change.kind === "converge") {
        desired.push(change.token);
        if (change.seed) seeds.add({ serial: change.token.serial, secret: change.seed });
      }
    });

    const live = [...inventory.values()].filter((d) => !gone.has(serialKey(d.serial)));
    const liveBySerial = new Map(live.map((d) => [serialKey(d.serial), d]));
    const users = await this.lookUp([
      ...desired.flatMap((t) => (t.upn === undefined ? [] : [t.upn])),
      ...desired.flatMap((t) => {
        const holder = liveBySerial.get(serialKey(t.serial))?.assignedTo;
        return holder ? [holder.id] : [];
      }),
    ]);
    // The CLI's own check: users who get a token here have their methods read (one $batch for the
    // whole gathering), so the shared five-method limit and portal-uploaded serials refuse a change
    // before anything is written.
    const wanted = tokensOnly(desired);
    const userMethods = await readUserMethods(this.repository, wanted, live, users, [...inventory.values()]);
    const planned = plan(wanted, { devices: live, directory: { users }, ...(userMethods ? { userMethods } : {}) }, { seeds: seeds.serials() });
    const refused = new Map<string, PlanProblem[]>();
    const refuse = (problem: PlanProblem) => refused.set(serialKey(problem.serial), [...(refused.get(serialKey(problem.serial)) ?? []), problem]);
    for (const problem of planned.errors) refuse(problem);
    for (const change of changes) {
      if (change.kind !== "converge" || change.mayDelete) continue;
      const deletes = planned.steps.some((s) => s.kind === "delete" && serialKey(s.serial) === serialKey(change.token.serial));
      if (deletes) {
        refuse({
          code: "deletion-guard",
          serial: change.token.serial,
          message: `deleting token ${change.token.serial} is beyond this run's deletion budget (policy.maxDeletes)`,
          fix: "review the change, then run once with `pulumi config set entra-tokens:allowDeletes true`",
        });
      }
    }

    const steps = [...removals, ...planned.steps.filter((s) => !refused.has(serialKey(s.serial)))];
    const toApply: Plan = { steps, errors: [], warnings: [], unmanaged: [], unmanagedPolicy: "ignore" };
    const report = await applyPlan(toApply, this.repository, { seeds });

    const outcomesBySerial = new Map<string, StepOutcome[]>();
    for (const outcome of report.outcomes) {
      const key = serialKey(outcome.step.serial);
      outcomesBySerial.set(key, [...(outcomesBySerial.get(key) ?? []), outcome]);
    }
    // The snapshot follows every step that succeeded, whether or not its token's other steps did.
    for (const [key, outcomes] of outcomesBySerial) {
      const done = outcomes.filter((o) => o.status === "succeeded").map((o) => o.step);
      const after = deviceAfter(inventory.get(key), done, report.createdDeviceIds.get(key));
      if (after) inventory.set(key, after);
      else inventory.delete(key);
    }

    changes.forEach((change, index) => {
      if (results[index]) return;
      const serial = change.kind === "remove" ? change.serial : change.token.serial;
      const key = serialKey(serial);
      const problems = refused.get(key);
      if (problems) return fail(index, problems.map((p) => `${p.message}. Fix: ${p.fix}`).join("; "));
      const outcomes = outcomesBySerial.get(key) ?? [];
      const failed = outcomes.filter((o) => o.status !== "succeeded");
      if (failed.length > 0) return fail(index, failed.map((o) => `${o.step.kind} ${o.step.serial}: ${o.message ?? o.status}`).join("; "));
      const device = inventory.get(key);
      const holderId = device?.assignedTo?.id.toLowerCase();
      const holder = holderId === undefined ? undefined : users.get(holderId) ?? undefined;
      results[index] = {
        ok: true,
        value: {
          ...(device ? { device } : {}),
          ...(holder ? { holder } : {}),
          actions: outcomes.map((o) => describe(o.step)),
          adopted: change.kind === "converge" && change.expectNew !== undefined && !change.replaceSeed && liveBySerial.has(key),
          warnings: planned.warnings.filter((w) => serialKey(w.serial) === key),
        },
      };
    });
    return results.map((r) => r ?? { ok: false, error: new Error("internal error: a change was not settled") });
  }
}

/**
 * Tokens planned on their own: the tenant's other tokens are neither reported nor deleted here (a
 * token's deletion is decided by the caller's deletion budget, not by policy.unmanaged).
 */
export function tokensOnly(tokens: DesiredToken[]): Desired {
  return { file: "pulumi", version: 1, policy: { unmanaged: "ignore", maxDeletes: Number.MAX_SAFE_INTEGER }, seedFiles: [], tokens };
}

function describe(step: Step): string {
  switch (step.kind) {
    case "create":
      return step.assignTo ? `created and assigned to ${step.assignTo.upn}` : "created";
    case "delete":
      return "deleted";
    case "unassign":
      return `unassigned from ${step.from.upn}`;
    case "update":
      return `updated ${step.changes.map((c) => `${c.field} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join(", ")}`;
    case "assign":
      return `assigned to ${step.to.upn}`;
    case "activate":
      return "activated";
  }
}
