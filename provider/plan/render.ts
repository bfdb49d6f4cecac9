import { actorLabel } from "./fleet.js";
import { DRIFT_CATEGORIES, STEP_KINDS, type AuditView, type DriftCategory, type DriftItem, type Plan, type PlanProblem, type SourceLocation, type Step, type StepKind } from "../model/index.js";
import { escapeActionsLog, escapeMarkdown, escapeMarkdownCode, escapeTerminal } from "../safety/escape.js";
import { count } from "./wording.js";

// Plans and drift reports as text (terminal), Markdown (pull requests, issues) and JSON (machines).
// Steps never hold secrets, so nothing here can print one. Every value from tokens.yaml or the
// tenant goes through the escaper of the output kind (safety/escape.ts); JSON needs none.

export const PLAN_FORMAT_VERSION = 1;

export interface RenderOptions {
  /** ANSI colours; the CLI turns them on for a TTY unless NO_COLOR is set. */
  color?: boolean;
  /** Turns a tokens.yaml position into a link (Markdown only), e.g. to the file on GitHub. */
  sourceLink?: (location: SourceLocation) => string | undefined;
  /** Where tokens.yaml declares a serial, so plan steps can link to it too (Markdown only). */
  locate?: (serial: string) => SourceLocation | undefined;
  /** Text goes to a GitHub Actions log (GITHUB_ACTIONS=true): values also cannot start a `::command::`. */
  actionsLog?: boolean;
  /** The tenant the plan or report is for (`tenant:` in tokens.yaml), named in its header. */
  tenant?: string;
  /** Drift: the audit log as read, so the report says who changed each token, or that it cannot tell. */
  audit?: AuditView;
  /** Drift (Markdown): where the HTML fleet report of this run is, e.g. the workflow run's artifacts. */
  reportLink?: string;
}

/** "by app X (id) at T (activity)", or why it is unknown; undefined when no audit log was read. */
function changedByText(item: DriftItem, audit: AuditView | undefined): string | undefined {
  if (!audit) return undefined;
  if (!audit.known) return "unknown (the audit log could not be read)";
  if (!item.changedBy) return `nothing in the audit log since ${audit.since.slice(0, 16).replace("T", " ")} UTC`;
  return `${actorLabel(item.changedBy.actor)} at ${item.changedBy.at.slice(0, 19).replace("T", " ")} UTC (${item.changedBy.activity})`;
}

type Escape = (text: string, limit?: number) => string;
/** Messages and fixes are our sentences quoting outside values: longer than one value, still capped. */
const MESSAGE_LIMIT = 1_000;

function textEscaper(options: RenderOptions): Escape {
  return options.actionsLog === true ? escapeActionsLog : escapeTerminal;
}

/** The header line naming the tenant, when the file names one (its name and id are schema-checked: no escaping needed). */
const tenantLine = (options: RenderOptions): string[] => (options.tenant === undefined ? [] : [`Tenant: ${options.tenant}`]);

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

/** What the step does, in words, without the kind; `esc` shows each outside value, `code` each identifier. */
function describe(step: Step, esc: Escape, code: Escape = esc): string {
  switch (step.kind) {
    case "create": {
      const a = step.attributes;
      const to = step.assignTo ? ` → ${code(step.assignTo.upn)}` : " (to the pool)";
      return `${esc(a.manufacturer)} ${esc(a.model)}, ${a.timeIntervalInSeconds} s, ${esc(a.hashFunction)}${step.displayName ? `, "${esc(step.displayName)}"` : ""}${to}`;
    }
    case "assign":
      return `→ ${code(step.to.upn)}`;
    case "activate":
      return `for ${code(step.user.upn)}${step.displayName ? `, name "${esc(step.displayName)}"` : ""}`;
    case "unassign":
      return `from ${code(step.from.upn)} (${UNASSIGN_REASONS[step.reason]})`;
    case "update":
      return step.changes.map((c) => `${esc(c.field)} ${esc(JSON.stringify(c.from) ?? "")} → ${esc(JSON.stringify(c.to) ?? "")}`).join(", ");
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

function where(p: PlanProblem, esc: Escape): string {
  return esc(p.location ? `${p.location.file}:${p.location.line}:${p.location.column}` : p.serial);
}

export function renderPlanText(plan: Plan, options: RenderOptions = {}): string {
  const paint = painter(options.color === true);
  const esc = textEscaper(options);
  const lines: string[] = tenantLine(options);
  if (plan.target) lines.push(paint("yellow", partialLine(plan.target, (text) => esc(text))), "");
  if (hasChanges(plan)) {
    lines.push(paint("bold", `Plan: ${summaryLine(plan)}`), "");
    const serials = plan.steps.map((s) => esc(s.serial));
    // A loop, not Math.max(...steps): spreading 100k+ arguments overflows the call stack.
    const width = serials.reduce((widest, s) => Math.max(widest, s.length), 0);
    plan.steps.forEach((step, index) => {
      const { mark, colour } = SYMBOL[step.kind];
      lines.push(`  ${paint(colour, `${mark} ${step.kind.padEnd(8)}`)}  ${(serials[index] ?? "").padEnd(width)}  ${describe(step, esc)}`);
    });
  } else if (plan.errors.length > 0) {
    // Tokens with errors have no steps: "no changes" would claim the tenant matches when it may not.
    lines.push(paint("red", "Plan: nothing can be applied until the errors below are fixed."));
  } else {
    lines.push(paint("green", plan.target ? "No changes: these tokens match tokens.yaml." : "No changes: the tenant matches tokens.yaml."));
  }
  if (plan.errors.length > 0) {
    lines.push("", paint("red", `Errors (${plan.errors.length}): nothing is applied until they are fixed`));
    for (const e of plan.errors) lines.push(`  ${where(e, esc)}  ${esc(e.serial)}  [${e.code}] ${esc(e.message, MESSAGE_LIMIT)}`, `      fix: ${esc(e.fix, MESSAGE_LIMIT)}`);
  }
  if (plan.warnings.length > 0) {
    lines.push("", paint("yellow", `Warnings (${plan.warnings.length}):`));
    for (const w of plan.warnings) lines.push(`  ${where(w, esc)}  ${esc(w.serial)}  [${w.code}] ${esc(w.message, MESSAGE_LIMIT)}`, `      fix: ${esc(w.fix, MESSAGE_LIMIT)}`);
  }
  if (plan.unmanaged.length > 0) {
    lines.push("", paint("yellow", `Unmanaged tokens (${plan.unmanaged.length}, policy.unmanaged: ${plan.unmanagedPolicy}): in Entra, not in tokens.yaml`));
    for (const u of plan.unmanaged) lines.push(`  ${esc(u.serial)}  ${esc(u.status)}${u.assignee ? `, held by ${esc(u.assignee)}` : ""}`);
  }
  if (plan.deletionGuard) {
    lines.push("", paint("red", deletionGuardText(plan.deletionGuard)));
  }
  return `${lines.join("\n")}\n`;
}

/** A plan of some tokens only says so first, naming what chose them. */
function partialLine(target: NonNullable<Plan["target"]>, esc: (text: string) => string): string {
  const chosen = [...target.serials.map((s) => `--serial ${esc(s)}`), ...target.upns.map((u) => `--upn ${esc(u)}`)].join(", ");
  return `Partial plan (${chosen}): ${target.tokens} token${target.tokens === 1 ? "" : "s"}; the rest of tokens.yaml is neither planned nor applied.`;
}

export function deletionGuardText(guard: { deletes: number; limit: number }): string {
  return `Deletion guard: this plan deletes ${guard.deletes} tokens, more than policy.maxDeletes (${guard.limit}). Review the list, then run again with --allow-deletes, or raise policy.maxDeletes.`;
}

function linked(p: { serial: string; location?: SourceLocation | undefined }, options: RenderOptions): string {
  const url = p.location ? options.sourceLink?.(p.location) : undefined;
  // The URL is ours (repository, commit, line); only the path part can come from outside, so it is encoded.
  return url ? `[${escapeMarkdownCode(p.serial)}](${encodeURI(url).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)})` : escapeMarkdownCode(p.serial);
}

/**
 * Counts, deletion guard, errors and warnings come before the steps and the unmanaged list: when
 * GitHub's size limit cuts a report, what is cut is detail, never what decides a review.
 */
export function renderPlanMarkdown(plan: Plan, options: RenderOptions = {}): string {
  const lines: string[] = ["### entra-tokens plan", "", ...tenantLine(options).flatMap((line) => [line, "", ""])];
  if (plan.target) lines.push(`> **${partialLine(plan.target, (text) => escapeMarkdownCode(text))}**`, "");
  if (hasChanges(plan)) {
    // Counts first, so a reviewer sees the size of the change before the detail.
    const counts = countSteps(plan);
    lines.push("| step | tokens |", "|---|---|");
    for (const kind of STEP_KINDS) if (counts[kind] > 0) lines.push(`| ${SYMBOL[kind].mark} ${kind} | ${counts[kind]} |`);
  } else if (plan.errors.length > 0) {
    lines.push("**Nothing can be applied** until the errors below are fixed.");
  } else {
    lines.push(plan.target ? "**No changes**: these tokens match tokens.yaml." : "**No changes**: the tenant matches tokens.yaml.");
  }
  if (plan.deletionGuard) lines.push("", `> :stop_sign: ${deletionGuardText(plan.deletionGuard)}`);
  const problems = (title: string, list: PlanProblem[]) => {
    if (list.length === 0) return;
    lines.push("", `#### ${title} (${list.length})`, "", "| serial | problem | fix |", "|---|---|---|");
    for (const p of list) lines.push(`| ${linked(p, options)} | ${escapeMarkdown(`[${p.code}] ${p.message}`, MESSAGE_LIMIT)} | ${escapeMarkdown(p.fix, MESSAGE_LIMIT)} |`);
  };
  problems(":x: Errors: nothing is applied until they are fixed", plan.errors);
  problems(":warning: Warnings", plan.warnings);
  for (const kind of STEP_KINDS) {
    const group = plan.steps.filter((s) => s.kind === kind);
    if (group.length === 0) continue;
    lines.push("", `#### ${SYMBOL[kind].mark} ${kind} (${group.length})`, "", "| serial | details |", "|---|---|");
    for (const step of group) lines.push(`| ${linked({ serial: step.serial, location: options.locate?.(step.serial) }, options)} | ${describe(step, escapeMarkdown, escapeMarkdownCode)} |`);
  }
  if (plan.unmanaged.length > 0) {
    lines.push("", `#### Unmanaged tokens (${plan.unmanaged.length}, policy: ${plan.unmanagedPolicy})`, "", "| serial | status | held by |", "|---|---|---|");
    for (const u of plan.unmanaged) lines.push(`| ${escapeMarkdownCode(u.serial)} | ${escapeMarkdown(u.status)} | ${u.assignee ? escapeMarkdownCode(u.assignee) : ""} |`);
  }
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
    ...(plan.target ? { target: plan.target } : {}),
  };
}

/** `apply --format json`: the plan, and what was done (null when nothing was sent). */
export function applyJson(plan: Plan, report: { outcomes: readonly { step: Step; status: string; message?: string; interrupted?: boolean; alreadySo?: true }[]; succeeded: number; alreadySo: number; failed: number; skipped: number } | undefined, interrupted: boolean): object {
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    plan: planJson(plan),
    applied: report === undefined
      ? null
      : {
          interrupted,
          done: report.succeeded - report.alreadySo,
          alreadySo: report.alreadySo,
          failed: report.failed,
          skipped: report.skipped,
          outcomes: report.outcomes.map((o) => ({ kind: o.step.kind, serial: o.step.serial, status: o.status, ...(o.alreadySo ? { alreadySo: true } : {}), ...(o.interrupted ? { interrupted: true } : {}), ...(o.message === undefined ? {} : { message: o.message }) })),
        },
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
  stale: "Stale (not used within policy.staleAfterDays)",
};

/** Categories worth acting on; `neverUsed`, `stale` and kept self-service claims are notices, reported but not counted as drift. */
export function actionableDrift(items: readonly DriftItem[]): DriftItem[] {
  return items.filter((i) => i.category !== "neverUsed" && i.category !== "selfServiceClaim" && i.category !== "stale");
}

export function driftCounts(items: readonly DriftItem[]): Record<DriftCategory, number> {
  const counts = Object.fromEntries(DRIFT_CATEGORIES.map((c) => [c, 0])) as Record<DriftCategory, number>;
  for (const item of items) counts[item.category]++;
  return counts;
}

/** Findings are drift; notices (see actionableDrift) are not, and the headline never calls them drift. */
function driftHeadline(items: readonly DriftItem[], drifted: (text: string) => string, clean: (text: string) => string): string {
  const findings = actionableDrift(items).length;
  const notices = count(items.length - findings, "notice", "notices");
  if (findings === 0) return clean(`No drift: the tenant matches tokens.yaml (${notices}, not drift).`);
  return drifted(`Drift: ${count(findings, "finding", "findings")}${findings < items.length ? `, and ${notices}` : ""}`);
}

export function renderDriftText(items: readonly DriftItem[], options: RenderOptions = {}): string {
  const paint = painter(options.color === true);
  const esc = textEscaper(options);
  const header = tenantLine(options);
  if (items.length === 0) return `${[...header, paint("green", "No drift: the tenant matches tokens.yaml.")].join("\n")}\n`;
  const counts = driftCounts(items);
  const lines = [...header, driftHeadline(items, (text) => paint("bold", text), (text) => paint("green", text))];
  for (const c of DRIFT_CATEGORIES) if (counts[c] > 0) lines.push(`  ${String(counts[c]).padStart(5)}  ${DRIFT_TITLES[c]}`);
  for (const c of DRIFT_CATEGORIES) {
    const group = items.filter((i) => i.category === c);
    if (group.length === 0) continue;
    lines.push("", paint("yellow", `${DRIFT_TITLES[c]} (${group.length})`));
    for (const i of group) {
      const at = i.location ? `${esc(`${i.location.file}:${i.location.line}`)}  ` : "";
      lines.push(`  ${at}${esc(i.serial)}${i.user ? `  ${esc(i.user)}` : ""}`, `      desired: ${esc(i.desired, MESSAGE_LIMIT)}; live: ${esc(i.live, MESSAGE_LIMIT)}`, `      fix: ${esc(i.fix, MESSAGE_LIMIT)}`);
      const who = changedByText(i, options.audit);
      if (who !== undefined) lines.push(`      changed by: ${esc(who, MESSAGE_LIMIT)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function renderDriftMarkdown(items: readonly DriftItem[], options: RenderOptions = {}): string {
  const lines = ["### entra-tokens drift report", "", ...tenantLine(options).flatMap((line) => [line, "", ""])];
  if (items.length === 0) return `${lines.join("\n")}**No drift**: the tenant matches tokens.yaml.\n`;
  const counts = driftCounts(items);
  lines.push(driftHeadline(items, (text) => `**${text}**`, (text) => text.replace(/^No drift/, "**No drift**")), "", "| category | tokens |", "|---|---|");
  for (const c of DRIFT_CATEGORIES) if (counts[c] > 0) lines.push(`| ${DRIFT_TITLES[c]} | ${counts[c]} |`);
  for (const c of DRIFT_CATEGORIES) {
    const group = items.filter((i) => i.category === c);
    if (group.length === 0) continue;
    const who = options.audit === undefined ? "" : " changed by |";
    lines.push("", `#### ${DRIFT_TITLES[c]} (${group.length})`, "", `| serial | user | desired | live |${who} suggested fix |`, `|---|---|---|---|${who === "" ? "" : "---|"}---|`);
    for (const i of group) {
      const changedBy = changedByText(i, options.audit);
      lines.push(`| ${linked(i, options)} | ${i.user ? escapeMarkdownCode(i.user) : ""} | ${escapeMarkdown(i.desired, MESSAGE_LIMIT)} | ${escapeMarkdown(i.live, MESSAGE_LIMIT)} |${changedBy === undefined ? "" : ` ${escapeMarkdown(changedBy, MESSAGE_LIMIT)} |`} ${escapeMarkdown(i.fix, MESSAGE_LIMIT)} |`);
    }
  }
  if (options.audit && !options.audit.known) lines.push("", "Who made these changes is unknown: grant the app `AuditLog.Read.All` to read the directory audit log.");
  if (options.reportLink) lines.push("", `The fleet report (HTML, charts, every token) is attached to [this run](${options.reportLink}) as the \`fleet-report\` artifact.`);
  return `${lines.join("\n")}\n`;
}

export function driftJson(items: readonly DriftItem[], audit?: AuditView): object {
  const auditState = audit === undefined ? {} : { audit: audit.known ? { known: true, since: audit.since } : { known: false, reason: audit.reason } };
  return { formatVersion: PLAN_FORMAT_VERSION, drift: actionableDrift(items).length > 0, counts: driftCounts(items), ...auditState, items };
}
