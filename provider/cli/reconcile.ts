import { AssignError } from "../desired/assign.js";
import { applyPlan, ApplyRefusedError, type ApplyReport, type ProgressEvent } from "../apply/apply.js";
import { formatDiagnostic, githubAnnotation, workflowCommand } from "../desired/diagnostics.js";
import { loadDesired } from "../desired/load.js";
import { GraphClient, type RetryInfo } from "../graph/client.js";
import { credentialFromEnv } from "../graph/credentials.js";
import { GraphFailure } from "../graph/errors.js";
import { TokenRepository } from "../graph/repository.js";
import { readLive } from "../graph/live.js";
import type { Desired, Plan } from "../model/index.js";
import { classifyDrift } from "../plan/drift.js";
import { contextFromEnv, GitHubError, GitHubReporter, pullRequestNumber, sourceLinker, writeJobSummary } from "../github/github.js";
import { plan as makePlan } from "../plan/plan.js";
import { actionableDrift, driftJson, hasChanges, planJson, renderDriftMarkdown, renderDriftText, renderPlanMarkdown, renderPlanText, type RenderOptions } from "../plan/render.js";
import { SeedFileError } from "../seeds/errors.js";
import { SeedStore } from "../seeds/model.js";
import { readSeedFiles } from "../seeds/read.js";
import { seedFacts } from "../seeds/facts.js";
import { colorWanted, EXIT, type OutputFormat } from "./formats.js";
import { formatPreflight, runPreflight } from "./preflight.js";
import { askOnTerminal, StatusLine, withStatus } from "./terminal.js";

// plan / apply / drift: the I/O edge around the pure planner.

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
}

/** A failure already explained to the user; the command exits 1 without more output. */
export class ReportedFailure extends Error {}

const status = new StatusLine();
const err = (text: string) => status.note(text);

export async function loadValidDesired(file: string): Promise<Desired> {
  const loaded = await loadDesired(file);
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) err(formatDiagnostic(d));
    if (process.env["GITHUB_ACTIONS"] === "true") for (const d of loaded.diagnostics) process.stdout.write(`${githubAnnotation(d)}\n`);
    throw new ReportedFailure(`${file} is invalid; nothing was sent to Entra`);
  }
  return loaded.desired;
}

function loadSeeds(options: ReconcileOptions, desired: Desired): Promise<SeedStore> {
  return readSeedFiles(options.seeds ? options.seeds.map((path) => ({ path })) : desired.seedFiles);
}

export function connect(options: ConnectionOptions, signal?: AbortSignal): TokenRepository {
  const { credential } = credentialFromEnv();
  const graphUrl = options.graphUrl ?? process.env["ENTRA_TOKENS_GRAPH_URL"];
  const graphUrlSetting = options.graphUrl ? "--graph-url" : graphUrl ? "ENTRA_TOKENS_GRAPH_URL" : undefined;
  const client = new GraphClient({
    credential,
    ...(graphUrl ? { graphUrl } : {}),
    ...(graphUrlSetting ? { graphUrlSetting } : {}),
    ...(signal ? { signal } : {}),
    onRetry: (info) => err(retryLine(info)),
  });
  return new TokenRepository(client, { concurrency: options.concurrency });
}

/** What Graph really answered, and which retry of how many this is (the budget docs/graph-cost.md states). */
export function retryLine(info: RetryInfo): string {
  const what = info.status === "network" ? `the connection to Graph dropped (${info.reason ?? "no answer"})` : info.items ? `Graph answered ${info.items} inside a $batch` : `Graph answered ${info.status}`;
  return `${what}; retrying in ${(info.delayMs / 1000).toFixed(1)} s (retry ${info.attempt} of ${info.maxRetries})`;
}

/** Reads the tenant, with a status line on a terminal: a slow Graph should not look like a hang. */
function readTenant(repository: TokenRepository, desired: Desired) {
  return withStatus(status, "Reading the tenant from Graph…", () => readLive(repository, desired));
}

/** Markdown links each token to its tokens.yaml line on GitHub (in Actions; plain serials elsewhere). */
function markdownOptions(desired: Desired): RenderOptions {
  const bySerial = new Map(desired.tokens.map((t) => [t.serial, t.location]));
  return { sourceLink: sourceLinker(), locate: (serial) => bySerial.get(serial) };
}

function renderPlan(plan: Plan, format: OutputFormat, desired: Desired): string {
  if (format === "json") return `${JSON.stringify(planJson(plan), null, 2)}\n`;
  if (format === "markdown") return renderPlanMarkdown(plan, markdownOptions(desired));
  return renderPlanText(plan, { color: colorWanted(process.stdout) });
}

/**
 * Steps that need the seed files: creating and activating need the seed; changing the interval or
 * hash needs what the seed file states about the token (its truth). Only these open (and decrypt) them.
 */
const needsSeed = (plan: Plan) =>
  plan.steps.some((s) => s.kind === "create" || s.kind === "activate" || (s.kind === "update" && s.changes.some((c) => c.field === "timeIntervalInSeconds" || c.field === "hashFunction")));

async function computePlan(options: ReconcileOptions, signal?: AbortSignal): Promise<{ plan: Plan; desired: Desired; repository: TokenRepository; seeds: SeedStore }> {
  const desired = await loadValidDesired(options.file);
  const repository = connect(options, signal);
  const live = await readTenant(repository, desired);
  const preflightText = formatPreflight(await runPreflight(repository, desired, live, options.concurrency));
  if (preflightText !== "") process.stderr.write(preflightText);
  // Plan first as if every seed were at hand: every seed check of the planner guards a create or
  // an activate, so a plan without those needs no seed, and the passphrase is not asked for.
  const everySerial = new Set(desired.tokens.map((t) => t.serial));
  const optimistic = makePlan(desired, live, { seeds: everySerial, allowDeletes: options.allowDeletes });
  if (!needsSeed(optimistic)) return { plan: optimistic, desired, repository, seeds: new SeedStore() };
  const seeds = await loadSeeds(options, desired);
  return { plan: makePlan(desired, live, { seeds: seeds.serials(), seedFacts: seedFacts(seeds), allowDeletes: options.allowDeletes }), desired, repository, seeds };
}

/** Exit 0: no changes; 2: changes; 1: errors (like terraform plan -detailed-exitcode). */
export async function planCommand(options: ReconcileOptions): Promise<number> {
  return guard(async () => {
    const { plan, desired } = await computePlan(options);
    const markdown = renderPlanMarkdown(plan, markdownOptions(desired));
    process.stdout.write(options.format === "markdown" ? markdown : renderPlan(plan, options.format, desired));
    const code = plan.errors.length > 0 ? EXIT.failure : hasChanges(plan) ? EXIT.changes : EXIT.ok;
    await reportGitHubFailure("the job summary", () => writeJobSummary(markdown));
    if (options.githubComment) {
      await reportGitHubFailure("the plan", async () => {
        const result = await new GitHubReporter(contextFromEnv()).upsertPullRequestComment(await pullRequestNumber(), markdown);
        err(`Plan comment ${result.action}: ${result.url}`);
      });
    }
    return code;
  });
}

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

export async function applyCommand(options: ReconcileOptions & { yes: boolean }): Promise<number> {
  return guard(async () => {
    const stop = new AbortController();
    const { plan, desired, repository, seeds } = await computePlan(options, stop.signal);
    const shown = renderPlan(plan, options.format === "json" ? "text" : options.format, desired);
    process.stdout.write(shown);
    if (plan.errors.length > 0 || plan.deletionGuard) {
      err("Nothing was applied.");
      return EXIT.failure;
    }
    if (!hasChanges(plan)) return EXIT.ok;
    if (!options.yes && !(await confirm(plan, shown))) return EXIT.failure;
    // Ctrl-C: no new request goes out, those in flight finish, and the report says what was done.
    // A second Ctrl-C leaves at once (the next apply still finishes the job).
    const onInterrupt = () => {
      if (stop.signal.aborted) process.exit(EXIT.interrupted);
      stop.abort();
      err("Interrupted: finishing the requests in flight (Ctrl-C again to leave now)…");
    };
    process.on("SIGINT", onInterrupt);
    try {
      const report = await applyPlan(plan, repository, { seeds, onProgress: progressPrinter(stop.signal), signal: stop.signal });
      process.stdout.write(renderReport(report, stop.signal.aborted));
      if (stop.signal.aborted) return EXIT.interrupted;
      return report.failed + report.skipped > 0 ? EXIT.failure : EXIT.ok;
    } finally {
      process.off("SIGINT", onInterrupt);
    }
  });
}

/** Exit 0: no drift; 2: drift; 1: errors. */
export async function driftCommand(options: ReconcileOptions): Promise<number> {
  return guard(async () => {
    const desired = await loadValidDesired(options.file);
    const live = await readTenant(connect(options), desired);
    const items = classifyDrift(desired, live);
    const markdown = renderDriftMarkdown(items, markdownOptions(desired));
    const text = options.format === "json" ? `${JSON.stringify(driftJson(items), null, 2)}\n` : options.format === "markdown" ? markdown : renderDriftText(items, { color: colorWanted(process.stdout) });
    process.stdout.write(text);
    const drifted = actionableDrift(items).length > 0;
    await reportGitHubFailure("the job summary", () => writeJobSummary(markdown));
    if (options.githubIssue) {
      await reportGitHubFailure("the drift report", async () => {
        const result = await new GitHubReporter(contextFromEnv()).syncDriftIssue(markdown, drifted);
        err(`Drift issue: ${result.action}${result.url ? ` ${result.url}` : ""}`);
      });
    }
    return drifted ? EXIT.changes : EXIT.ok;
  });
}

async function confirm(plan: Plan, shown: string): Promise<boolean> {
  const refuse = "Refusing to apply without --yes in a non-interactive run (CI). Review the plan, then pass --yes.";
  if (process.env["CI"] === "true") {
    err(refuse);
    return false;
  }
  const answer = await askOnTerminal(`Apply these ${plan.steps.length} changes to Entra? Type "yes" to go on: `, shown);
  if (answer === undefined) {
    err(refuse);
    return false;
  }
  if (answer.trim().toLowerCase() === "yes") return true;
  err("Not applied.");
  return false;
}

function progressPrinter(signal: AbortSignal): (event: ProgressEvent) => void {
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

function renderReport(report: ApplyReport, interrupted: boolean): string {
  const notSent = report.outcomes.filter((o) => o.status === "skipped" && o.interrupted).length;
  // "Already so": found done when checked (an earlier or concurrent run, or a hand edit), not counted as this run's work.
  const done = `${report.succeeded - report.alreadySo} done by this run, ${report.alreadySo} already so, ${report.failed} failed`;
  const lines = interrupted ? [`Interrupted: ${done}, ${notSent} not done, ${report.skipped - notSent} skipped.`] : [`Applied: ${done}, ${report.skipped} skipped.`];
  for (const o of report.outcomes) {
    if (o.status !== "succeeded" && !o.interrupted) lines.push(`  ${o.status}: ${o.step.kind} ${o.step.serial}: ${o.message ?? ""}`);
  }
  if (interrupted) lines.push("Run `entra-tokens apply` again to finish: it picks up where this run stopped.");
  else if (report.failed + report.skipped > 0) lines.push("Run `entra-tokens apply` again after fixing the cause: it picks up where this run stopped.");
  return `${lines.join("\n")}\n`;
}

/** Typed failures (and files that cannot be read) become one clear line and exit 1, never a stack trace. */
export async function guard(run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error: unknown) {
    const known = error instanceof ReportedFailure || error instanceof GraphFailure || error instanceof SeedFileError || error instanceof ApplyRefusedError || error instanceof AssignError;
    const fileError = error instanceof Error && "code" in error && typeof error.code === "string" && "path" in error;
    if (known || fileError) {
      err(`error: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
