import {
  MAX_TOKENS_PER_USER,
  STEP_KINDS,
  type Desired,
  type DesiredToken,
  type LiveState,
  type LiveToken,
  type Plan,
  type PlanProblem,
  type SeedFacts,
  type Step,
  type TokenAttributes,
  type UserRef,
} from "../model/index.js";
import { assigneeLabel, attributeChanges, indexBySerial, lookupUser, serialKey, targetUser } from "./compare.js";
import { seedMismatchProblem } from "./seed-facts.js";
import { STALE_FIX, staleDays, staleMessage } from "./stale.js";

// The heart: desired state + live state + policy → ordered steps. Pure: no I/O, no clock.

export interface PlanOptions {
  /** Serials (any case) whose seed is at hand: needed to create and to activate. */
  seeds: ReadonlySet<string>;
  /**
   * Seed files that could not be read without their secret (a plan holds none): a serial missing
   * from `seeds` may be in one of them, so its step is planned with a warning instead of an error.
   */
  unreadSeedFiles?: readonly string[];
  /** Lift the policy's deletion limit for this run. */
  allowDeletes?: boolean;
  /** What the seed files state about each token (by serialKey): tokens.yaml must agree on interval and hash. */
  seedFacts?: ReadonlyMap<string, SeedFacts>;
  /** The time (ms) the stale notices of policy.staleAfterDays are judged at; absent: none (the planner reads no clock). */
  now?: number;
}

interface TokenPlan {
  token: DesiredToken;
  steps: Step[];
  /** The user this plan gives the token to, when it is a new assignment. */
  newHolder?: UserRef;
}

export function plan(desired: Desired, live: LiveState, options: PlanOptions): Plan {
  const seeds = new Set([...options.seeds].map(serialKey));
  const liveBySerial = indexBySerial(live.devices);
  const errors: PlanProblem[] = [];
  const warnings: PlanProblem[] = [];
  const problem = (token: DesiredToken, code: PlanProblem["code"], message: string, fix: string): PlanProblem => ({
    code,
    serial: token.serial,
    ...(token.upn === undefined ? {} : { upn: token.upn }),
    message,
    fix,
    location: token.location,
  });
  const unread = options.unreadSeedFiles ?? [];
  /** Whether the step that needs the token's seed may be planned; why not (or what was not checked) is recorded. */
  const seedAtHand = (token: DesiredToken, action: string): boolean => {
    if (seeds.has(serialKey(token.serial))) return true;
    if (unread.length > 0) {
      warnings.push(
        problem(
          token,
          "seed-unchecked",
          `the seed for serial ${token.serial}, needed to ${action}, was not checked: it is in none of the seed files plan could read, and ${unread.join(", ")} cannot be read without its secret`,
          "import the vendor's delivery into the encrypted store (`entra-tokens seeds import`), whose facts plans read without any secret; apply opens the delivery and checks it",
        ),
      );
      return true;
    }
    errors.push(problem(token, "missing-seed", `no seed for serial ${token.serial}, needed to ${action}`, "add the vendor's seed file for this token to `seeds` in tokens.yaml (or --seeds)"));
    return false;
  };

  const portalTokens = portalTokensBySerial(live);
  const selfService = desired.policy.selfService ?? "keep";
  const odd = new Map((live.oddDevices ?? []).map((d) => [serialKey(d.serial), d]));
  for (const device of odd.values()) {
    warnings.push({
      code: "odd-device",
      serial: device.serial,
      message: `Graph reports token ${device.serial} (id ${device.id}) with ${device.why}, which entra-tokens cannot model; it is left alone and the run exits 1`,
      fix: "check the token in the Entra admin center (Protection → Authentication methods → Hardware OATH tokens); correct or delete it there",
    });
  }
  const tokenPlans: TokenPlan[] = [];
  for (const token of desired.tokens) {
    // Never create a second device for a serial Graph has, however odd its device.
    if (odd.has(serialKey(token.serial))) continue;
    const device = liveBySerial.get(serialKey(token.serial));
    if (token.state === "retired") {
      if (device) tokenPlans.push({ token, steps: retireSteps(device, live) });
      continue;
    }
    const stale = device ? staleDays(device, desired, options.now) : undefined;
    if (stale !== undefined && device?.lastUsedDateTime !== undefined && desired.policy.staleAfterDays !== undefined) {
      warnings.push(problem(token, "stale", staleMessage(stale, device.lastUsedDateTime, desired.policy.staleAfterDays), STALE_FIX));
    }
    const mismatch = seedMismatchProblem(token, options.seedFacts);
    if (mismatch) {
      errors.push(problem(token, "seed-mismatch", mismatch.message, mismatch.fix));
      continue;
    }
    let target: UserRef | undefined;
    if (token.upn !== undefined) {
      const resolved = targetUser({ ...token, upn: token.upn }, live.directory);
      if (!resolved.ok) {
        errors.push(problem(token, resolved.code, resolved.message, resolved.fix));
        continue;
      }
      target = resolved.user;
    }
    const wantsActivation = token.state === "activated";
    const portal = portalTokens.get(serialKey(token.serial));
    if (!device && portal) {
      // Creating it would give the docs' known duplicate (how-to-mfa-manage-oath-tokens.md,
      // "User has two tokens with the same serial number").
      errors.push(
        problem(
          token,
          "portal-token",
          `${portal.upn} holds a token with serial ${token.serial} uploaded through the admin portal (method id ${portal.id}); it is in no inventory, so creating it here would register the serial twice`,
          `migrate it: \`entra-tokens migrate\` shows the steps and \`--yes\` runs them (DELETE /users/${portal.userId}/authentication/hardwareOathMethods/${portal.id}, then DELETE /directory/authenticationMethodDevices/hardwareOathDevices/${portal.id}, then it is created in the inventory as tokens.yaml says); see docs/entra-rules.md`,
        ),
      );
      continue;
    }
    if (!device) {
      if (!seedAtHand(token, "create it")) continue;
      const steps: Step[] = [
        {
          kind: "create",
          serial: token.serial,
          attributes: { manufacturer: token.manufacturer, model: token.model, timeIntervalInSeconds: token.timeIntervalInSeconds, hashFunction: token.hashFunction },
          ...(token.displayName === undefined ? {} : { displayName: token.displayName }),
          ...(target === undefined ? {} : { assignTo: target }),
        },
      ];
      if (wantsActivation && target) steps.push({ kind: "activate", serial: token.serial, user: target, totp: totpOf(token) });
      tokenPlans.push({ token, steps, ...(target === undefined ? {} : { newHolder: target }) });
      continue;
    }

    const steps: Step[] = [];
    const changes = attributeChanges(token, device);
    const holderId = device.assignedTo?.id;
    const holder: UserRef | undefined = holderId === undefined ? undefined : { id: holderId, upn: assigneeLabel(device, live.directory) ?? holderId };
    const keepsHolder = target !== undefined && holderId === target.id;
    let newHolder: UserRef | undefined;

    if (keepsHolder && target) {
      const needsActivation = wantsActivation && device.status !== "activated";
      // Graph changes attributes only on unassigned tokens; displayName can ride on activation.
      const locked = changes.filter((c) => !(needsActivation && c.field === "displayName"));
      if (locked.length > 0) {
        warnings.push(
          problem(
            token,
            "attribute-locked",
            `${locked.map((c) => `${c.field} is ${JSON.stringify(c.from)}, tokens.yaml says ${JSON.stringify(c.to)}`).join("; ")}; Graph only changes these on unassigned tokens`,
            "leave it, or set `state: available` for one run to unassign, update and reassign it (the user must then activate again)",
          ),
        );
      }
      if (needsActivation) {
        if (!seedAtHand(token, "activate it")) continue;
        const displayName = changes.some((c) => c.field === "displayName") ? token.displayName : undefined;
        steps.push({ kind: "activate", serial: token.serial, deviceId: device.id, user: target, totp: totpOf(device), ...(displayName === undefined ? {} : { displayName }) });
      }
    } else {
      const returnedByHolder = token.returnedBy !== undefined && lookupUser(live.directory, token.returnedBy)?.id === holderId;
      if (holder && !target && selfService === "keep" && !returnedByHolder) {
        // policy.selfService: keep. The claim is the user's sign-in method: never take it away on an unrelated run.
        warnings.push(
          problem(
            token,
            "self-service-claim",
            `${holder.upn} claimed this pool token by self-service (${device.status}); kept, as policy.selfService is keep`,
            `record it in tokens.yaml with \`entra-tokens import --self-service\`; to take it back, add \`returnedBy: ${holder.upn}\` to this token (as \`entra-tokens leaver\` does) or set \`policy.selfService: revoke\``,
          ),
        );
        continue;
      }
      if (holder) {
        steps.push({ kind: "unassign", serial: token.serial, deviceId: device.id, from: holder, reason: target ? "reassign" : "return-to-pool" });
        if (!target && !returnedByHolder) {
          warnings.push(
            problem(
              token,
              "self-service",
              `${holder.upn} holds this token (perhaps taken from the self-service pool); applying unassigns it and they lose it as a sign-in method`,
              `to keep it, record it in tokens.yaml: \`state: ${device.status === "activated" ? "activated" : "assigned"}\` and \`upn: ${holder.upn}\``,
            ),
          );
        }
      }
      if (changes.length > 0) steps.push({ kind: "update", serial: token.serial, deviceId: device.id, changes });
      if (target) {
        if (wantsActivation && !seedAtHand(token, "activate it")) continue;
        steps.push({ kind: "assign", serial: token.serial, deviceId: device.id, to: target });
        // After the update above the device has the desired attributes; otherwise the live ones.
        if (wantsActivation) steps.push({ kind: "activate", serial: token.serial, deviceId: device.id, user: target, totp: totpOf(changes.length > 0 ? token : device) });
        newHolder = target;
      }
    }
    tokenPlans.push({ token, steps, ...(newHolder === undefined ? {} : { newHolder }) });
  }

  const accepted = enforceUserLimit(tokenPlans, live, errors, warnings, problem);
  const steps = accepted.flatMap((t) => t.steps);

  const desiredSerials = new Set(desired.tokens.map((t) => serialKey(t.serial)));
  const unmanagedDevices = live.devices.filter((d) => !desiredSerials.has(serialKey(d.serial)));
  const unmanaged =
    desired.policy.unmanaged === "ignore"
      ? []
      : unmanagedDevices.map((d) => {
          const assignee = assigneeLabel(d, live.directory);
          return { serial: d.serial, deviceId: d.id, status: d.status, ...(assignee === undefined ? {} : { assignee }) };
        });
  if (desired.policy.unmanaged === "delete") {
    for (const device of unmanagedDevices) {
      if (device.assignedTo) {
        steps.push({ kind: "unassign", serial: device.serial, deviceId: device.id, from: { id: device.assignedTo.id, upn: assigneeLabel(device, live.directory) ?? device.assignedTo.id }, reason: "before-delete" });
      }
      steps.push({ kind: "delete", serial: device.serial, deviceId: device.id, reason: "unmanaged" });
    }
  }

  const order = (s: Step) => STEP_KINDS.indexOf(s.kind);
  const sorted = steps.map((step, index) => ({ step, index })).sort((a, b) => order(a.step) - order(b.step) || a.index - b.index).map((x) => x.step);
  const deletes = sorted.filter((s) => s.kind === "delete").length;
  const guarded = deletes > desired.policy.maxDeletes && options.allowDeletes !== true;
  return {
    steps: sorted,
    errors,
    warnings,
    unmanaged,
    unmanagedPolicy: desired.policy.unmanaged,
    ...(guarded ? { deletionGuard: { deletes, limit: desired.policy.maxDeletes } } : {}),
  };
}

/** A lost or broken token leaves Entra: unassigned first (Graph deletes only unassigned devices), then deleted. */
function retireSteps(device: LiveToken, live: LiveState): Step[] {
  const steps: Step[] = [];
  if (device.assignedTo) {
    steps.push({ kind: "unassign", serial: device.serial, deviceId: device.id, from: { id: device.assignedTo.id, upn: assigneeLabel(device, live.directory) ?? device.assignedTo.id }, reason: "retire" });
  }
  steps.push({ kind: "delete", serial: device.serial, deviceId: device.id, reason: "retired" });
  return steps;
}

/** A device the client could not model was left alone: the run is incomplete, and its exit code says so. */
export function leftOddDevices(plan: Plan): boolean {
  return plan.warnings.some((w) => w.code === "odd-device");
}

/** Portal-uploaded tokens of the users whose methods were read, by serialKey. */
function portalTokensBySerial(live: LiveState): Map<string, { id: string; userId: string; upn: string }> {
  const found = new Map<string, { id: string; userId: string; upn: string }>();
  for (const [userId, methods] of live.userMethods ?? []) {
    const upn = live.directory.users.get(userId)?.userPrincipalName ?? userId;
    for (const token of methods.portalTokens) found.set(serialKey(token.serial), { id: token.id, userId, upn });
  }
  return found;
}

/** Graph checks the code with the device's own step and hash. */
function totpOf(attributes: TokenAttributes): Pick<TokenAttributes, "timeIntervalInSeconds" | "hashFunction"> {
  return { timeIntervalInSeconds: attributes.timeIntervalInSeconds, hashFunction: attributes.hashFunction };
}

/** Drops new assignments that would give someone a sixth token (counting tokens tokens.yaml does not manage). */
function enforceUserLimit(
  tokenPlans: TokenPlan[],
  live: LiveState,
  errors: PlanProblem[],
  warnings: PlanProblem[],
  problem: (token: DesiredToken, code: PlanProblem["code"], message: string, fix: string) => PlanProblem,
): TokenPlan[] {
  const held = new Map<string, number>();
  for (const device of live.devices) {
    if (device.assignedTo) held.set(device.assignedTo.id, (held.get(device.assignedTo.id) ?? 0) + 1);
  }
  // The limit is shared with authenticator apps and portal tokens (concept-authentication-oath-tokens.md).
  const others = (userId: string) => live.userMethods?.get(userId.toLowerCase());
  const describeOthers = (userId: string) => {
    const methods = others(userId);
    const found = [...(methods?.apps ?? []), ...(methods?.portalTokens ?? []).map((t) => `portal token ${t.serial}`)];
    return found.length === 0 ? "" : ` and ${found.length} other methods (${found.join(", ")})`;
  };
  for (const step of tokenPlans.flatMap((t) => t.steps)) {
    if (step.kind === "unassign") held.set(step.from.id, (held.get(step.from.id) ?? 0) - 1);
  }
  return tokenPlans.filter((t) => {
    if (!t.newHolder) return true;
    const methods = others(t.newHolder.id);
    const tokens = held.get(t.newHolder.id) ?? 0;
    const count = tokens + (methods?.apps.length ?? 0) + (methods?.portalTokens.length ?? 0) + 1;
    if (methods?.appsUncounted !== undefined && count <= MAX_TOKENS_PER_USER) {
      warnings.push(
        problem(
          t.token,
          "apps-not-counted",
          `${t.newHolder.upn}'s authenticator apps were not counted towards Entra's limit of ${MAX_TOKENS_PER_USER} (the app lacks ${methods.appsUncounted}); with ${count - 1} hardware tokens held, Entra may still refuse this one`,
          `grant the app ${methods.appsUncounted} to have plan count them, or check the user's methods in the Entra admin center`,
        ),
      );
    }
    if (count > MAX_TOKENS_PER_USER) {
      errors.push(
        problem(
          t.token,
          "too-many-tokens",
          `${t.newHolder.upn} already holds ${count - 1} methods that count towards Entra's limit: ${tokens} inventory tokens (including tokens tokens.yaml does not manage)${describeOthers(t.newHolder.id)}; Entra allows ${MAX_TOKENS_PER_USER} hardware tokens or authenticator apps together`,
          "remove one of their other tokens or authenticator apps first, or give this one to someone else",
        ),
      );
      return false;
    }
    held.set(t.newHolder.id, tokens + 1);
    return true;
  });
}
