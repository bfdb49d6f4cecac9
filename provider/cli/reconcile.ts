import { setFlagsFromString } from "node:v8";
import { AssignError } from "../desired/assign.js";
import { ApplyRefusedError, type ApplyReport, type ProgressEvent } from "../apply/apply.js";
import { formatDiagnostic, githubAnnotation, workflowCommand, type Diagnostic } from "../desired/diagnostics.js";
import type { ResponseInfo, RetryInfo } from "../graph/client.js";
import { quiet, responseLine, verbose } from "./loudness.js";
import { credentialFromEnv } from "../graph/credentials.js";
import { GraphFailure } from "../graph/errors.js";
import type { TokenRepository } from "../graph/repository.js";
import type { AuditView, Desired, DriftItem, LiveState, Plan, PlanTarget } from "../model/index.js";
import { TargetError } from "../plan/target.js";
import { attachActors } from "../plan/fleet.js";
import { auditWarning, readAudit } from "./audit.js";
import { contextFromEnv, GitHubError, GitHubReporter, pullRequestNumber, sourceLinker, writeJobSummary } from "../github/github.js";
import { actionableDrift, applyJson, driftJson, hasChanges, planJson, renderDriftMarkdown, renderDriftText, renderPlanMarkdown, renderPlanText, type RenderOptions } from "../plan/render.js";
import { connectTenant, type TenantConnection } from "../reconcile/connection.js";
import { applyTenant, driftTenant, loadTenantDesired, planTenant, type Planned, type TenantContext } from "../reconcile/core.js";
import { eachTenant, layoutTenantOf, overallExit, selectTenants, tenantEnv, TenantLayoutError, type TenantEntry, type TenantRun } from "../reconcile/fleet.js";
import { formatPreflight } from "../reconcile/preflight.js";
import { tenantLabel, TenantMismatchError } from "../reconcile/tenant.js";
import { driftIssueLine } from "../plan/wording.js";
import { leftOddDevices } from "../plan/plan.js";
import { SeedFileError } from "../seeds/errors.js";
import { colorWanted, EXIT, type OutputFormat } from "./formats.js";
import { escapeTerminal, truncate } from "../safety/escape.js";
import { jsonErrorDocument, splitFix, type JsonError } from "./json-error.js";
import { InputFileError } from "../safety/regular-file.js";
import { UnsafeWriteError } from "../safety/replace-file.js";
import { booleanSetting, SettingError } from "../safety/settings.js";
import { ALLOW_SEEDS_OUTSIDE_REPO_ENV } from "../desired/load.js";
import { askOnTerminal, StatusLine, withStatus } from "./terminal.js";

// Commands that read a tenant hold large structures (about 200 MB live at 100,000 tokens) while
// pages and answers make garbage, and V8's default heap growth lets that garbage pile up to several
// times what is live: converge of 100,000 tokens peaked at 693 MB. Favouring size keeps the heap
// near what is live (352 MB, and no slower in the bench). Set as this module loads, before any
// tenant is read; program.ts loads it only for the commands that read one.
setFlagsFromString("--optimize-for-size");

// plan / apply / drift: the command-line front of the reconcile core. Only this front reads argv and
// process.env (credentials, ENTRA_TOKENS_GRAPH_URL, seed secrets) and turns them into a TenantContext.

export interface ConnectionOptions {
  graphUrl?: string;
  concurrency: number;
}

export interface ReconcileOptions extends ConnectionOptions {
  file: string;
  seeds?: string[];
  format: OutputFormat;
  allowDeletes: boolean;
  /** plan: post the plan as the pull request's sticky comment. */
  githubComment?: boolean;
  /** drift: open, update or close the drift issue. */
  githubIssue?: boolean;
  /** drift: read the audit log from this ISO time (default: DEFAULT_AUDIT_DAYS back). */
  since?: string;
  /** drift: the HTML report to link from the drift issue and job summary (its artifact URL in Actions). */
  reportLink?: string;
  /** plan/apply --serial/--upn: these tokens only. */
  target?: PlanTarget;
}

/** A failure already explained to the user; the command exits 1 without more output. */
export class ReportedFailure extends Error {
  constructor(
    message: string,
    /** For the JSON error document: the failure kind, how to fix it, the file problems behind it. */
    readonly details: { code?: string; fix?: string; diagnostics?: readonly Diagnostic[] } = {},
  ) {
    super(message);
  }
}

const status = new StatusLine();
const err = (text: string) => status.note(text);

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where one tenant's run reads its settings and writes: this process's environment and streams,
 * or (one tenant of many) that tenant's own variables and buffers printed when it is done.
 */
export interface TenantIo {
  env: Env;
  out: (text: string) => void;
  note: (text: string) => void;
  /** A terminal may be asked, progress drawn, Ctrl-C handled, GitHub written: one tenant alone. */
  alone: boolean;
}

export const processIo: TenantIo = { env: process.env, out: (text) => process.stdout.write(text), note: err, alone: true };

/** `stdoutFormat`: what the command prints on stdout; annotations go beside text only, as a JSON document must stay parseable. */
export async function loadValidDesired(file: string, io: TenantIo = processIo, stdoutFormat = "text"): Promise<Desired> {
  const loaded = await loadTenantDesired({ file, allowSeedsOutsideRepository: booleanSetting(ALLOW_SEEDS_OUTSIDE_REPO_ENV, io.env[ALLOW_SEEDS_OUTSIDE_REPO_ENV], false) });
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) io.note(formatDiagnostic(d));
    if (stdoutFormat === "text" && process.env["GITHUB_ACTIONS"] === "true") for (const d of loaded.diagnostics) io.out(`${githubAnnotation(d)}\n`);
    throw new ReportedFailure(`${file} is invalid; nothing was sent to Entra`, {
      code: "invalid-desired-state",
      fix: `correct the problems listed, then check with \`entra-tokens validate -f ${file}\``,
      diagnostics: loaded.diagnostics,
    });
  }
  return loaded.desired;
}

/** The connection this process's environment and flags describe: AZURE_* credentials, --graph-url or ENTRA_TOKENS_GRAPH_URL. */
function connectionFromEnv(options: ConnectionOptions, signal?: AbortSignal, io: TenantIo = processIo): TenantConnection {
  const { credential } = credentialFromEnv(io.env);
  const graphUrl = options.graphUrl ?? io.env["ENTRA_TOKENS_GRAPH_URL"];
  const graphUrlSetting = options.graphUrl ? "--graph-url" : graphUrl ? "ENTRA_TOKENS_GRAPH_URL" : undefined;
  return {
    credential,
    ...(graphUrl ? { graphUrl } : {}),
    ...(graphUrlSetting ? { graphUrlSetting } : {}),
    ...(signal ? { signal } : {}),
    concurrency: options.concurrency,
    onRetry: (info) => {
      if (!quiet()) io.note(retryLine(info));
    },
    ...(verbose() ? { onResponse: (info: ResponseInfo) => io.note(responseLine(info)) } : {}),
  };
}

export function connect(options: ConnectionOptions, signal?: AbortSignal): TokenRepository {
  return connectTenant(connectionFromEnv(options, signal));
}

export function contextFromOptions(options: ReconcileOptions, io: TenantIo, signal?: AbortSignal): TenantContext {
  return {
    ...connectionFromEnv(options, signal, io),
    file: options.file,
    ...(options.seeds ? { seeds: options.seeds } : {}),
    secrets: io.env,
    policy: { allowDeletes: options.allowDeletes },
    secretsRequired: false,
    now: Date.now(),
    ...(options.target ? { target: options.target } : {}),
    // A slow Graph should not look like a hang.
    ...(io.alone && !quiet() ? { whileReading: <T>(run: () => Promise<T>) => withStatus(status, "Reading the tenant from Graph…", run) } : {}),
  };
}

/** What Graph really answered, and which retry of how many this is (the budget docs/graph-cost.md states). */
export function retryLine(info: RetryInfo): string {
  const what = info.status === "network" ? `the connection to Graph dropped (${info.reason ?? "no answer"})` : info.items ? `Graph answered ${info.items} inside a $batch` : `Graph answered ${info.status}`;
  return `${what}; retrying in ${(info.delayMs / 1000).toFixed(1)} s (retry ${info.attempt} of ${info.maxRetries})`;
}

/** Markdown links each token to its tokens.yaml line on GitHub (in Actions; plain serials elsewhere). */
function markdownOptions(desired: Desired): RenderOptions {
  const bySerial = new Map(desired.tokens.map((t) => [t.serial, t.location]));
  return { ...tenantOption(desired), sourceLink: sourceLinker(), locate: (serial) => bySerial.get(serial) };
}

/** Every header and prompt names the tenant the file declares. */
const tenantOption = (desired: Desired): { tenant?: string } => (desired.tenant ? { tenant: tenantLabel(desired.tenant) } : {});
/** Text on stdout: coloured on a terminal; in Actions, the log, where no value may start a workflow command. */
const textOptions = (desired: Desired): RenderOptions => ({ ...tenantOption(desired), color: colorWanted(process.stdout), actionsLog: process.env["GITHUB_ACTIONS"] === "true" });
const withTenant = (desired: Desired, json: object): object => (desired.tenant ? { tenant: desired.tenant, ...json } : json);

function renderPlan(plan: Plan, format: OutputFormat, desired: Desired): string {
  if (format === "json") return `${JSON.stringify(withTenant(desired, planJson(plan)), null, 2)}\n`;
  if (format === "markdown") return renderPlanMarkdown(plan, markdownOptions(desired));
  return renderPlanText(plan, textOptions(desired));
}

async function computePlan(options: ReconcileOptions, io: TenantIo, secretsRequired: boolean, signal?: AbortSignal): Promise<Planned> {
  const desired = await loadValidDesired(options.file, io, options.format);
  return planTenant(
    {
      ...contextFromOptions(options, io, signal),
      secretsRequired,
      onPreflight: (warnings) => {
        const preflightText = formatPreflight(warnings);
        if (preflightText === "" || quiet()) return;
        if (io.alone) process.stderr.write(preflightText);
        else io.note(preflightText.trimEnd());
      },
    },
    desired,
  );
}

/** Exit 0: no changes; 2: changes; 1: errors (like terraform plan -detailed-exitcode). */
export async function planCommand(options: ReconcileOptions, io: TenantIo = processIo): Promise<number> {
  return guard(async () => {
    const { plan, desired } = await computePlan(options, io, false);
    // Rendered only where it is wanted (the format, the job summary, the comment): a second copy of a large plan is memory.
    let rendered: string | undefined;
    const markdown = () => (rendered ??= renderPlanMarkdown(plan, markdownOptions(desired)));
    io.out(options.format === "markdown" ? markdown() : renderPlan(plan, options.format, desired));
    const code = plan.errors.length > 0 || leftOddDevices(plan) ? EXIT.failure : hasChanges(plan) ? EXIT.changes : EXIT.ok;
    if (!io.alone) return code;
    await reportGitHubFailure("the job summary", () => writeJobSummary(markdown));
    if (options.githubComment) {
      await reportGitHubFailure("the plan", async () => {
        const result = await new GitHubReporter(contextFromEnv()).upsertPullRequestComment(await pullRequestNumber(), markdown(), layoutTenantOf(options.file));
        err(`Plan comment ${result.action}: ${result.url}`);
      });
    }
    return code;
  }, io.note, jsonOut(options, io));
}

/** Where guard prints the JSON error document: stdout, when the result would have been JSON. */
const jsonOut = (options: { format: OutputFormat }, io: TenantIo) => (options.format === "json" ? io.out : undefined);

/** A GitHub failure is reported, but never replaces the command's own exit code: the plan's verdict is what CI needs. */
async function reportGitHubFailure(what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error: unknown) {
    if (!(error instanceof GitHubError)) throw error;
    err(`GitHub: ${error.message}`);
    if (process.env["GITHUB_ACTIONS"] === "true") process.stdout.write(`${workflowCommand("warning", { title: "entra-tokens" }, `could not publish ${what} to GitHub: ${error.message}`)}\n`);
  }
}

export async function applyCommand(options: ReconcileOptions & { yes: boolean }, io: TenantIo = processIo): Promise<number> {
  return guard(async () => {
    const stop = new AbortController();
    // Only what the apply needs is kept: the tenant as read is not (see applyTenant).
    const { plan, desired, repository, seeds } = await computePlan(options, io, true, stop.signal);
    const planned = { plan, repository, seeds };
    const json = options.format === "json";
    // With --format json stdout holds one JSON document (plan and outcome); the prompt shows the plan as text.
    // Kept only until the confirmation: at 100,000 tokens the text is tens of MB the apply does not need.
    let shown: string | undefined = renderPlan(plan, json ? "text" : options.format, desired);
    if (!json) io.out(shown);
    const notApplied = (code: number) => {
      if (json) io.out(`${JSON.stringify(applyJson(plan, undefined, false), null, 2)}\n`);
      return code;
    };
    if (plan.errors.length > 0 || plan.deletionGuard) {
      io.note("Nothing was applied.");
      return notApplied(EXIT.failure);
    }
    if (!hasChanges(plan)) return notApplied(leftOddDevices(plan) ? EXIT.failure : EXIT.ok);
    if (!io.alone) {
      // Many tenants at once: --yes was required up front; no prompt, no progress bar, no Ctrl-C dance.
      const report = await applyTenant(planned);
      io.out(json ? `${JSON.stringify(applyJson(plan, report, false), null, 2)}\n` : renderReport(report, false));
      return report.failed + report.skipped > 0 || leftOddDevices(plan) ? EXIT.failure : EXIT.ok;
    }
    if (!options.yes && !(await confirm(plan, shown, desired))) return notApplied(EXIT.failure);
    shown = undefined;
    // Ctrl-C: no new request goes out, those in flight finish, and the report says what was done.
    // A second Ctrl-C leaves at once (the next apply still finishes the job).
    const onInterrupt = () => {
      if (stop.signal.aborted) process.exit(EXIT.interrupted);
      stop.abort();
      err("Interrupted: finishing the requests in flight (Ctrl-C again to leave now)…");
    };
    process.on("SIGINT", onInterrupt);
    try {
      const report = await applyTenant(planned, { onProgress: progressPrinter(stop.signal), signal: stop.signal });
      if (json) process.stdout.write(`${JSON.stringify(applyJson(plan, report, stop.signal.aborted), null, 2)}\n`);
      else process.stdout.write(renderReport(report, stop.signal.aborted));
      if (stop.signal.aborted) return EXIT.interrupted;
      return report.failed + report.skipped > 0 || leftOddDevices(plan) ? EXIT.failure : EXIT.ok;
    } finally {
      process.off("SIGINT", onInterrupt);
    }
  }, io.note, jsonOut(options, io));
}

/** Exit 0: no drift; 2: drift; 1: errors. */
export async function driftCommand(options: ReconcileOptions, io: TenantIo = processIo): Promise<number> {
  return guard(async () => {
    const { desired, items, audit } = await readDrift(options, io);
    const markdown = renderDriftMarkdown(items, { ...markdownOptions(desired), audit, ...(options.reportLink ? { reportLink: options.reportLink } : {}) });
    const text =
      options.format === "json" ? `${JSON.stringify(withTenant(desired, driftJson(items, audit)), null, 2)}\n` : options.format === "markdown" ? markdown : renderDriftText(items, { ...textOptions(desired), audit });
    io.out(text);
    const drifted = actionableDrift(items).length > 0;
    if (!io.alone) return drifted ? EXIT.changes : EXIT.ok;
    await reportGitHubFailure("the job summary", () => writeJobSummary(markdown));
    if (options.githubIssue) {
      await reportGitHubFailure("the drift report", async () => {
        const result = await new GitHubReporter(contextFromEnv()).syncDriftIssue(markdown, drifted, layoutTenantOf(options.file));
        err(driftIssueLine(result, items.length - actionableDrift(items).length));
      });
    }
    return drifted ? EXIT.changes : EXIT.ok;
  }, io.note, jsonOut(options, io));
}

/**
 * What drift, list, show and report share: tokens.yaml, the tenant (through the reconcile core), the
 * findings (stale notices judged now) and what the audit log says of them. One read path, so every
 * view agrees with drift.
 */
export async function readDrift(
  options: ConnectionOptions & { file: string; since?: string; format?: string },
  io: TenantIo = processIo,
): Promise<{ desired: Desired; live: LiveState; items: DriftItem[]; audit: AuditView; now: number }> {
  const desired = await loadValidDesired(options.file, io, options.format);
  const now = Date.now();
  const drifted = await driftTenant({ ...contextFromOptions({ ...options, format: "text", allowDeletes: false }, io), now }, desired);
  const readingAudit = () => readAudit(drifted.repository, desired, drifted.live, options.since);
  const audit = await (quiet() ? readingAudit() : withStatus(status, "Reading the directory audit log…", readingAudit));
  const warning = formatPreflight(auditWarning(audit));
  if (warning !== "" && !quiet()) io.note(warning.trimEnd());
  return { desired, live: drifted.live, items: attachActors(drifted.items, audit, drifted.live), audit, now };
}

async function confirm(plan: Plan, shown: string, desired: Desired): Promise<boolean> {
  const refuse = "Refusing to apply without --yes in a non-interactive run (CI). Review the plan, then pass --yes.";
  if (process.env["CI"] === "true") {
    err(refuse);
    return false;
  }
  const where = desired.tenant ? `Entra tenant ${tenantLabel(desired.tenant)}` : "Entra";
  const answer = await askOnTerminal(`Apply ${plan.steps.length === 1 ? "this change" : `these ${plan.steps.length} changes`} to ${where}? Type "yes" to go on: `, shown);
  if (answer === undefined) {
    err(refuse);
    return false;
  }
  if (answer.trim().toLowerCase() === "yes") return true;
  err("Not applied.");
  return false;
}

function progressPrinter(signal: AbortSignal): (event: ProgressEvent) => void {
  if (quiet()) return () => undefined;
  const tty = process.stderr.isTTY === true;
  let lastShown = -1;
  return ({ phase, done, total }) => {
    if (tty) {
      // After Ctrl-C the bar stays cleared: the report follows, not a half-drawn bar.
      if (signal.aborted) return;
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r${phase.padEnd(8)} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}${done === total ? "\n" : ""}`);
      return;
    }
    // CI logs: a line at the start, every 10%, and at the end.
    const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
    if (done === 0 || done === total || tenth !== lastShown) {
      err(`${phase}: ${done}/${total}`);
      lastShown = tenth;
    }
  };
}

export function renderReport(report: ApplyReport, interrupted: boolean): string {
  const notSent = report.outcomes.filter((o) => o.status === "skipped" && o.interrupted).length;
  // "Already so": found done when checked (an earlier or concurrent run, or a hand edit), not counted as this run's work.
  const done = `${report.succeeded - report.alreadySo} done by this run, ${report.alreadySo} already so, ${report.failed} failed`;
  const lines = interrupted ? [`Interrupted: ${done}, ${notSent} not done, ${report.skipped - notSent} skipped.`] : [`Applied: ${done}, ${report.skipped} skipped.`];
  for (const o of report.outcomes) {
    if (o.status !== "succeeded" && !o.interrupted) lines.push(`  ${o.status}: ${o.step.kind} ${escapeTerminal(o.step.serial)}: ${escapeTerminal(o.message ?? "", 1_000)}`);
  }
  if (interrupted) lines.push("Run `entra-tokens apply` again to finish: it picks up where this run stopped.");
  else if (report.failed + report.skipped > 0) lines.push("Run `entra-tokens apply` again after fixing the cause: it picks up where this run stopped.");
  return `${lines.join("\n")}\n`;
}

/**
 * Typed failures (and files that cannot be read) become one clear line and exit 1, never a stack trace;
 * with `jsonOut` (--format json) also a JSON error document there, so stdout is never empty.
 */
export async function guard(run: () => Promise<number>, note: (text: string) => void = err, jsonOut?: (text: string) => void): Promise<number> {
  return (await attempt(run, note, jsonOut)) ?? EXIT.failure;
}

/** What guard does for a run that returns a value: a typed failure is noted and gives undefined. */
async function attempt<T>(run: () => Promise<T>, note: (text: string) => void, jsonOut?: (text: string) => void): Promise<T | undefined> {
  try {
    return await run();
  } catch (error: unknown) {
    const known =
      error instanceof ReportedFailure ||
      error instanceof GraphFailure ||
      error instanceof SeedFileError ||
      error instanceof ApplyRefusedError ||
      error instanceof AssignError ||
      error instanceof TenantMismatchError ||
      error instanceof TenantLayoutError ||
      error instanceof UnsafeWriteError ||
      error instanceof InputFileError ||
      error instanceof SettingError ||
      error instanceof TargetError;
    const fileError = error instanceof Error && "code" in error && typeof error.code === "string" && "path" in error;
    if (known || fileError) {
      // Messages quote outside text (paths, serials, Graph's answers): shown escaped, never replayed.
      note(`error: ${escapeTerminal(error.message, 2_000)}`);
      jsonOut?.(jsonErrorDocument(describeFailure(error)));
      return undefined;
    }
    throw error;
  }
}

/** What the JSON error document says of a failure guard knows: its kind as a stable code. */
function describeFailure(error: Error): JsonError {
  const { message, fix } = splitFix(truncate(error.message, 2_000));
  const base = { message, ...(fix ? { fix } : {}) };
  if (error instanceof ReportedFailure) {
    const { code, fix: detailFix, diagnostics } = error.details;
    return { code: code ?? "failed", ...base, ...(detailFix ? { fix: detailFix } : {}), ...(diagnostics ? { diagnostics } : {}) };
  }
  if (error instanceof GraphFailure) return { code: error.kind, ...base, ...(error.requestId ? { requestId: error.requestId } : {}) };
  if (error instanceof SeedFileError) return { code: error.code, ...base };
  const kinds: [new (...args: never[]) => Error, string][] = [
    [ApplyRefusedError, "apply-refused"],
    [AssignError, "edit-refused"],
    [TenantMismatchError, "tenant-mismatch"],
    [TenantLayoutError, "tenant-layout"],
    [UnsafeWriteError, "unsafe-write"],
    [InputFileError, "input-file"],
    [SettingError, "invalid-setting"],
    [TargetError, "unknown-target"],
  ];
  const kind = kinds.find(([type]) => error instanceof type)?.[1];
  const fileCode = "code" in error && typeof error.code === "string" ? `file-${error.code.toLowerCase()}` : "failed";
  return { code: kind ?? fileCode, ...base };
}

/** `--tenant <name>` / `--all-tenants`: the many-tenants layout (docs/many-tenants.md). */
export interface TenantSelection {
  tenant?: string;
  allTenants: boolean;
}

/** Tenants run at once by --all-tenants: each holds its own Graph session and request budget. */
const TENANTS_AT_ONCE = 4;

type TenantCommand = (options: ReconcileOptions & { yes: boolean }, io: TenantIo) => Promise<number>;
const TENANT_COMMANDS: Record<"plan" | "apply" | "drift", TenantCommand> = { plan: planCommand, apply: applyCommand, drift: driftCommand };
const VERDICTS: Record<"plan" | "apply" | "drift", Record<number, string>> = {
  plan: { 0: "no changes", 2: "changes" },
  apply: { 0: "applied" },
  drift: { 0: "no drift", 2: "drift" },
};

/** `--tenant <name>`: that tenant's file, run as if alone, with that tenant's own variables. */
export function singleTenant(name: string): { file: string; io: TenantIo } {
  const [only] = selectTenants({ tenant: name, all: false });
  if (!only) throw new TenantLayoutError(`there is no tenant "${name}"`);
  return { file: only.file, io: { ...processIo, env: tenantEnv(process.env, only.name) } };
}

/** One tenant's run among many: its value (undefined after a failure), its output and notes, held until it is done. */
export interface BufferedRun<T> {
  value: T | undefined;
  out: string;
  notes: string[];
}

/**
 * Runs every tenant of tenants/ (at most TENANTS_AT_ONCE at once), each with its own variables and
 * buffers; a failure, typed or not, is that tenant's and never stops or hides the others.
 */
export async function runAllTenants<T>(run: (tenant: TenantEntry, io: TenantIo) => Promise<T>): Promise<TenantRun<BufferedRun<T>>[]> {
  return eachTenant(selectTenants({ all: true }), TENANTS_AT_ONCE, async (tenant) => {
    let out = "";
    const notes: string[] = [];
    const io: TenantIo = { env: tenantEnv(process.env, tenant.name), out: (text) => (out += text), note: (text) => notes.push(text), alone: false };
    let value: T | undefined;
    try {
      value = await attempt(() => run(tenant, io), io.note);
    } catch (error: unknown) {
      // One tenant's surprise is that tenant's error; the others' results still stand.
      notes.push(`error: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { value, out, notes };
  });
}

/** Each tenant's notes on stderr, every line prefixed with the tenant's name. */
export function printTenantNotes(runs: readonly TenantRun<BufferedRun<unknown>>[]): void {
  for (const { tenant, result } of runs) for (const note of result.notes) for (const line of note.split("\n")) err(`[${tenant.name}] ${line}`);
}

/** The summary closing a run over many tenants: one line per tenant with its verdict and exit code. */
export function tenantSummary(title: string, lines: readonly { name: string; verdict: string; code: number }[]): string {
  const width = lines.reduce((widest, l) => Math.max(widest, l.name.length), 0);
  const code = overallExit(lines.map((l) => l.code));
  return `\n${title} over ${lines.length} tenants (exit ${code}):\n${lines.map((l) => `  ${l.name.padEnd(width)}  ${l.verdict.padEnd(10)}  exit ${l.code}`).join("\n")}`;
}

/**
 * plan, apply or drift: of the one tokens file without a selection; else over the tenants of
 * tenants/: one tenant runs as if alone (with its own variables); many run side by side, each
 * printed as a block when done, then a summary, and the overall exit code by the rules of one run
 * (any error 1, else any change or drift 2, else 0).
 */
export async function reconcileCommand(kind: "plan" | "apply" | "drift", options: ReconcileOptions & { yes?: boolean }, selection: TenantSelection | undefined): Promise<number> {
  if (!selection) return TENANT_COMMANDS[kind]({ ...options, yes: options.yes === true }, processIo);
  return guard(async () => {
    const run = TENANT_COMMANDS[kind];
    const withFile = (file: string) => ({ ...options, yes: options.yes === true, file });
    if (!selection.allTenants) {
      const { file, io } = singleTenant(selection.tenant ?? "");
      return run(withFile(file), io);
    }
    if (options.githubComment || options.githubIssue) {
      throw new ReportedFailure("--github-comment and --github-issue post one tenant's report: run one job per tenant with --tenant <name> (see docs/many-tenants.md)");
    }
    if (kind === "apply" && options.yes !== true) {
      throw new ReportedFailure("apply --all-tenants asks no questions: review `entra-tokens plan --all-tenants`, then run `entra-tokens apply --all-tenants --yes`");
    }
    const runs = (await runAllTenants((tenant, io) => run(withFile(tenant.file), io))).map(({ tenant, result }) => ({ tenant, result: { ...result, code: result.value ?? EXIT.failure } }));
    const verdict = (code: number) => VERDICTS[kind][code] ?? "error";
    if (options.format === "json") {
      const entries = runs.map(({ tenant, result }) => ({ tenant: tenant.name, file: tenant.file, exitCode: result.code, result: parsedOrNull(result.out) }));
      process.stdout.write(`${JSON.stringify({ tenants: entries }, null, 2)}\n`);
    } else {
      for (const { tenant, result } of runs) process.stdout.write(`\n== tenant ${tenant.name} (${tenant.file}): ${verdict(result.code)}, exit ${result.code} ==\n${result.out}`);
    }
    printTenantNotes(runs);
    const summary = tenantSummary(kind, runs.map(({ tenant, result }) => ({ name: tenant.name, verdict: verdict(result.code), code: result.code })));
    (options.format === "json" ? err : (text: string) => process.stdout.write(`${text}\n`))(summary);
    return overallExit(runs.map((r) => r.result.code));
  }, err, jsonOut(options, processIo));
}

function parsedOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
