import type { Desired, LiveState, Plan, PlanTarget } from "../model/index.js";
import { assigneeLabel, serialKey } from "./compare.js";
import { closest } from "./wording.js";

// `--serial` / `--upn` (like `terraform -target`): the plan of some tokens only, so one typo'd UPN
// elsewhere in tokens.yaml does not block every other change. The whole file is still planned (the
// five-per-user rule and the deletion guard need it), then narrowed to the chosen tokens.

/** A --serial or --upn that neither tokens.yaml nor the tenant knows: nothing is planned. */
export class TargetError extends Error {}

/**
 * The serials (upper case) a target chooses: each --serial as given, each --upn's tokens in
 * tokens.yaml and the tenant. Unknown ones throw, with the nearest known name when it looks like a typo.
 */
export function targetSerials(target: PlanTarget, desired: Desired, live: LiveState): Set<string> {
  const chosen = new Set<string>();
  const knownSerials = new Map<string, string>();
  for (const t of desired.tokens) knownSerials.set(serialKey(t.serial), t.serial);
  for (const d of live.devices) knownSerials.set(serialKey(d.serial), d.serial);
  const unknown: string[] = [];
  for (const serial of target.serials) {
    if (knownSerials.has(serialKey(serial))) chosen.add(serialKey(serial));
    else unknown.push(`serial ${serial} is in neither tokens.yaml nor the tenant${didYouMean(serial, knownSerials.values())}`);
  }
  const upnsOf = (upn: string | undefined) => upn?.toLowerCase();
  const knownUpns = new Set<string>();
  for (const t of desired.tokens) if (t.upn) knownUpns.add(t.upn);
  const holders = live.devices.map((d) => ({ serial: d.serial, upn: assigneeLabel(d, live.directory) }));
  for (const h of holders) if (h.upn) knownUpns.add(h.upn);
  for (const upn of target.upns) {
    const wanted = upn.toLowerCase();
    const before = chosen.size;
    for (const t of desired.tokens) if (upnsOf(t.upn) === wanted || upnsOf(t.returnedBy) === wanted) chosen.add(serialKey(t.serial));
    for (const h of holders) if (upnsOf(h.upn) === wanted) chosen.add(serialKey(h.serial));
    const named = [...knownUpns].some((known) => known.toLowerCase() === wanted);
    if (!named && chosen.size === before) unknown.push(`no token in tokens.yaml or the tenant is held by or declared for ${upn}${didYouMean(upn, knownUpns)}`);
  }
  if (unknown.length > 0) {
    throw new TargetError(`${unknown.join("; ")}; nothing was planned. Fix: correct the --serial/--upn, or run \`entra-tokens list\` to see every serial and holder`);
  }
  return chosen;
}

function didYouMean(wanted: string, known: Iterable<string>): string {
  const near = closest(wanted, known);
  return near === undefined ? "" : ` (did you mean ${near}?)`;
}

/**
 * The plan of the chosen tokens only: their steps, errors and warnings (and problems that name no
 * token), the unmanaged tokens among them. The deletion guard is judged again on what is left, so
 * a partial apply can never delete more than policy.maxDeletes without --allow-deletes.
 */
export function narrowPlan(plan: Plan, target: PlanTarget, chosen: ReadonlySet<string>, deletion: { maxDeletes: number; allowDeletes: boolean }): Plan {
  const kept = (serial: string) => chosen.has(serialKey(serial));
  const steps = plan.steps.filter((s) => kept(s.serial));
  const deletes = steps.filter((s) => s.kind === "delete").length;
  const { deletionGuard: _wholePlan, ...rest } = plan;
  return {
    ...rest,
    steps,
    errors: plan.errors.filter((p) => p.serial === "" || kept(p.serial)),
    warnings: plan.warnings.filter((p) => p.serial === "" || kept(p.serial)),
    unmanaged: plan.unmanaged.filter((u) => kept(u.serial)),
    target: { serials: [...target.serials], upns: [...target.upns], tokens: chosen.size },
    ...(deletes > deletion.maxDeletes && !deletion.allowDeletes ? { deletionGuard: { deletes, limit: deletion.maxDeletes } } : {}),
  };
}
