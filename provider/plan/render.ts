import { DRIFT_CATEGORIES, STEP_KINDS, type DriftCategory, type DriftItem, type Plan, type PlanProblem, type SourceLocation, type Step, type StepKind } from "../model/index.js";

// Plans and drift reports as text (terminal), Markdown (pull requests, issues) and JSON (machines).
// Steps never hold secrets, so nothing here can print one.

export const PLAN_FORMAT_VERSION = 1;

export interface RenderOptions {
  /** ANSI colours; the CLI turns them on for a TTY unless NO_COLOR is set. */
  color?: boolean;
  /** Turns a tokens.yaml position into a link (Markdown only), e.g. to the file on GitHub. */
  sourceLink?: (location: SourceLocation) => string | undefined;
  /** Where tokens.yaml declares a serial, so plan steps can link to it too (Markdown only). */
  locate?: (serial: string) => SourceLocation | undefined;
}

const ANSI = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, dim: 2, bold: 1 } as const;
type Colour = keyof typeof ANSI;
function painter(enabled: boolean): (colour: Colour, text: string) => string {
  return (colour, text) => (enabled ? `\u001b[${ANSI[colour]}m${text}\u001b[0m` : text);
}

const SYMBOL: Record<StepKind, { mark: string; colour: Colour }> = {
  unassign: { mark: "-", colour: "yellow" },
  delete: { mark: "-", colour: "red" },
  update: { mark: "~", colour: "cyan" },
  create: { mark: "+", colour: "green" },
  assign: { mark: "+", colour: "blue" },
  activate: { mark: "*", colour: "magenta" },
};

export function countSteps(plan: Plan): Record<StepKind, number> {
  const counts = Object.fromEntries(STEP_KINDS.map((k) => [k, 0])) as Record<StepKind, number>;
  for (const step of plan.steps) counts[step.kind]++;
  return counts;
}

export function hasChanges(plan: Plan): boolean {
  return plan.steps.length > 0;
}

function summaryLine(plan: Plan): string {
  const counts = countSteps(plan);
  const order: StepKind[] = ["create", "assign", "activate", "update", "unassign", "delete"];
  return order.map((k) => `${counts[k]} to ${k}`).join(", ");
}

/** What the step does, in words, without the kind. */
function describe(step: Step): string {
  switch (step.kind) {
    case "create": {
      const a = step.attributes;
      const to = step.assignTo ? ` → ${step.assignTo.upn}` : " (to the pool)";
      return `${a.manufacturer} ${a.model}, ${a.timeIntervalInSeconds} s, ${a.hashFunction}${step.displayName ? `, "${step.displayName}"` : ""}${to}`;
    }
    case "assign":
      return `→ ${step.to.upn}`;
    case "activate":
      return `for ${step.user.upn}${step.displayName ? `, name "${step.displayName}"` : ""}`;
    case "unassign":
      return `from ${step.from.upn} (${UNASSIGN_REASONS[step.reason]})`;
    case "update":
      return step.changes.map((c) => `${c.field} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join(", ");
    case "delete":
      return step.reason === "retired" ? "retired in tokens.yaml" : "not in tokens.yaml (policy.unmanaged: delete)";
  }
}

const UNASSIGN_REASONS: Record<Extract<Step, { kind: "unassign" }>["reason"], string> = {
  reassign: "reassigned",
  "return-to-pool": "back to the pool",
  "before-delete": "before deleting",
  retire: "retired",
};

function where(p: PlanProblem): string {
  return p.location ? `${p.location.file}:${p.location.line}:${p.location.column}` : p.serial;
}

export function renderPlanText(plan: Plan, options: RenderOptions = {}): string {
  const paint = painter(options.color === true);
  const lines: string[] = [];
  if (hasChanges(plan)) {
    lines.push(paint("bold", `Plan: ${summaryLine(plan)}`), "");
    // A loop, not Math.max(...steps): spreading 100k+ arguments overflows the call stack.
    const width = plan.steps.reduce((widest, s) => Math.max(widest, s.serial.length), 0);
    for (const step of plan.steps) {
      const { mark, colour } = SYMBOL[step.kind];
      lines.push(`  ${paint(colour, `${mark} ${step.kind.padEnd(8)}`)}  ${step.serial.padEnd(width)}  ${describe(step)}`);
    }
  } else if (plan.errors.length > 0) {
    // Tokens with errors have no steps: "no changes" would claim the tenant matches when it may not.
    lines.push(paint("red", "Plan: nothing can be applied until the errors below are fixed."));
  } else {
    lines.push(paint("green", "No changes: the tenant matches tokens.yaml."));
  }
  if (plan.errors.length > 0) {
    lines.push("", paint("red", `Errors (${plan.errors.length}): nothing is applied until they are fixed`));
    for (const e of plan.errors) lines.push(`  ${where(e)}  ${e.serial}  [${e.code}] ${e.message}`, `      fix: ${e.fix}`);
  }
  if (plan.warnings.length > 0) {
    lines.push("", paint("yellow", `Warnings (${plan.warnings.length}):`));
    for (const w of plan.warnings) lines.push(`  ${where(w)}  ${w.serial}  [${w.code}] ${w.message}`, `      fix: ${w.fix}`);
  }
  if (plan.unmanaged.length > 0) {
    lines.push("", paint("yellow", `Unmanaged tokens (${plan.unmanaged.length}, policy.unmanaged: ${plan.unmanagedPolicy}): in Entra, not in tokens.yaml`));
    for (const u of plan.unmanaged) lines.push(`  ${u.serial}  ${u.status}${u.assignee ? `, held by ${u.assignee}` : ""}`);
  }
  if (plan.deletionGuard) {
    lines.push("", paint("red", deletionGuardText(plan.deletionGuard)));
  }
  return `${lines.join("\n")}\n`;
}

export function deletionGuardText(guard: { deletes: number; limit: number }): string {
  return `Deletion guard: this plan deletes ${guard.deletes} tokens, more than policy.maxDeletes (${guard.limit}). Review the list, then run again with --allow-deletes, or raise policy.maxDeletes.`;
}

const escapeCell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

function linked(p: { serial: string; location?: SourceLocation | undefined }, options: RenderOptions): string {
  const url = p.location ? options.sourceLink?.(p.location) : undefined;
  return url ? `[\`${escapeCell(p.serial)}\`](${url})` : `\`${escapeCell(p.serial)}\``;
}

export function renderPlanMarkdown(plan: Plan, options: RenderOptions = {}): string {
  const lines: string[] = ["### entra-tokens plan", ""];
  if (hasChanges(plan)) {
    // Counts first, so a reviewer sees the size of the change before the detail.
    const counts = countSteps(plan);
    lines.push("| step | tokens |", "|---|---|");
    for (const kind of STEP_KINDS) if (counts[kind] > 0) lines.push(`| ${SYMBOL[kind].mark} ${kind} | ${counts[kind]} |`);
    for (const kind of STEP_KINDS) {
      const group = plan.steps.filter((s) => s.kind === kind);
      if (group.length === 0) continue;
      lines.push("", `#### ${SYMBOL[kind].mark} ${kind} (${group.length})`, "", "| serial | details |", "|---|---|");
      for (const step of group) lines.push(`| ${linked({ serial: step.serial, location: options.locate?.(step.serial) }, options)} | ${escapeCell(describe(step))} |`);
    }
  } else if (plan.errors.length > 0) {
    lines.push("**Nothing can be applied** until the errors below are fixed.");
  } else {
    lines.push("**No changes**: the tenant matches tokens.yaml.");
  }
  const problems = (title: string, list: PlanProblem[]) => {
    if (list.length === 0) return;
    lines.push("", `#### ${title} (${list.length})`, "", "| serial | problem | fix |", "|---|---|---|");
    for (const p of list) lines.push(`| ${linked(p, options)} | ${escapeCell(`[${p.code}] ${p.message}`)} | ${escapeCell(p.fix)} |`);
  };
  problems(":x: Errors: nothing is applied until they are fixed", plan.errors);
  problems(":warning: Warnings", plan.warnings);
  if (plan.unmanaged.length > 0) {
    lines.push("", `#### Unmanaged tokens (${plan.unmanaged.length}, policy: ${plan.unmanagedPolicy})`, "", "| serial | status | held by |", "|---|---|---|");
    for (const u of plan.unmanaged) lines.push(`| \`${escapeCell(u.serial)}\` | ${u.status} | ${escapeCell(u.assignee ?? "")} |`);
  }
  if (plan.deletionGuard) lines.push("", `> :stop_sign: ${deletionGuardText(plan.deletionGuard)}`);
  return `${lines.join("\n")}\n`;
}

/** The JSON shape is documented in docs/cli.md ("Plan JSON") and versioned by formatVersion. */
export function planJson(plan: Plan): object {
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    changes: hasChanges(plan),
    summary: { ...countSteps(plan), errors: plan.errors.length, warnings: plan.warnings.length, unmanaged: plan.unmanaged.length },
    steps: plan.steps,
    errors: plan.errors,
    warnings: plan.warnings,
    unmanaged: plan.unmanaged,
    unmanagedPolicy: plan.unmanagedPolicy,
    ...(plan.deletionGuard ? { deletionGuard: plan.deletionGuard } : {}),
  };
}

// ---- drift ---------------------------------------------------------------------------------------

const DRIFT_TITLES: Record<DriftCategory, string> = {
  missing: "Missing from the tenant",
  unexpectedAssignee: "Unexpected assignee",
  notActivated: "Not activated",
  failedActivation: "Failed activation",
  orphaned: "Orphaned (user deleted or disabled)",
  attributeMismatch: "Attribute mismatch",
  unmanaged: "Unmanaged (not in tokens.yaml)",
  notRetired: "Retired but still in Entra",
  selfServiceClaim: "Claimed by self-service (kept)",
  neverUsed: "Activated but never used",
};

/** Categories worth acting on; `neverUsed` and kept self-service claims are notices, reported but not counted as drift. */
export function actionableDrift(items: readonly DriftItem[]): DriftItem[] {
  return items.filter((i) => i.category !== "neverUsed" && i.category !== "selfServiceClaim");
}

export function driftCounts(items: readonly DriftItem[]): Record<DriftCategory, number> {
  const counts = Object.fromEntries(DRIFT_CATEGORIES.map((c) => [c, 0])) as Record<DriftCategory, number>;
  for (const item of items) counts[item.category]++;
  return counts;
}

export function renderDriftText(items: readonly DriftItem[], options: RenderOptions = {}): string {
  const paint = painter(options.color === true);
  if (items.length === 0) return `${paint("green", "No drift: the tenant matches tokens.yaml.")}\n`;
  const counts = driftCounts(items);
  const lines = [paint("bold", `Drift: ${items.length} findings`)];
  for (const c of DRIFT_CATEGORIES) if (counts[c] > 0) lines.push(`  ${String(counts[c]).padStart(5)}  ${DRIFT_TITLES[c]}`);
  for (const c of DRIFT_CATEGORIES) {
    const group = items.filter((i) => i.category === c);
    if (group.length === 0) continue;
    lines.push("", paint("yellow", `${DRIFT_TITLES[c]} (${group.length})`));
    for (const i of group) {
      const at = i.location ? `${i.location.file}:${i.location.line}  ` : "";
      lines.push(`  ${at}${i.serial}${i.user ? `  ${i.user}` : ""}`, `      desired: ${i.desired}; live: ${i.live}`, `      fix: ${i.fix}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function renderDriftMarkdown(items: readonly DriftItem[], options: RenderOptions = {}): string {
  const lines = ["### entra-tokens drift report", ""];
  if (items.length === 0) return `${lines.join("\n")}**No drift**: the tenant matches tokens.yaml.\n`;
  const counts = driftCounts(items);
  lines.push("| category | tokens |", "|---|---|");
  for (const c of DRIFT_CATEGORIES) if (counts[c] > 0) lines.push(`| ${DRIFT_TITLES[c]} | ${counts[c]} |`);
  for (const c of DRIFT_CATEGORIES) {
    const group = items.filter((i) => i.category === c);
    if (group.length === 0) continue;
    lines.push("", `#### ${DRIFT_TITLES[c]} (${group.length})`, "", "| serial | user | desired | live | suggested fix |", "|---|---|---|---|---|");
    for (const i of group) lines.push(`| ${linked(i, options)} | ${escapeCell(i.user ?? "")} | ${escapeCell(i.desired)} | ${escapeCell(i.live)} | ${escapeCell(i.fix)} |`);
  }
  return `${lines.join("\n")}\n`;
}

export function driftJson(items: readonly DriftItem[]): object {
  return { formatVersion: PLAN_FORMAT_VERSION, drift: actionableDrift(items).length > 0, counts: driftCounts(items), items };
}
