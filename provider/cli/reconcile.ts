import { createInterface } from "node:readline/promises";
import { AssignError } from "../desired/assign.js";
import { applyPlan, ApplyRefusedError, type ApplyReport, type ProgressEvent } from "../apply/apply.js";
import { formatDiagnostic, githubAnnotation, workflowCommand } from "../desired/diagnostics.js";
import { loadDesired } from "../desired/load.js";
import { GraphClient } from "../graph/client.js";
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
import type { SeedStore } from "../seeds/model.js";
import { readSeedFiles } from "../seeds/read.js";

// plan / apply / drift: the I/O edge around the pure planner.

export const OUTPUT_FORMATS = ["text", "markdown", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

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

const err = (text: string) => process.stderr.write(`${text}\n`);
const colorWanted = (stream: NodeJS.WriteStream) => stream.isTTY === true && process.env["NO_COLOR"] === undefined;

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

function connect(options: ConnectionOptions): TokenRepository {
  const { credential } = credentialFromEnv();
  const graphUrl = options.graphUrl ?? process.env["ENTRA_TOKENS_GRAPH_URL"];
  const client = new GraphClient({
    credential,
    ...(graphUrl ? { graphUrl } : {}),
    onRetry: ({ status, delayMs, attempt }) =>
      err(`Graph ${status === "network" ? "connection dropped" : `answered ${status}`}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`),
  });
  return new TokenRepository(client, { concurrency: options.concurrency });
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

async function computePlan(options: ReconcileOptions): Promise<{ plan: Plan; desired: Desired; repository: TokenRepository; seeds: SeedStore }> {
  const desired = await loadValidDesired(options.file);
  const seeds = await loadSeeds(options, desired);
  const repository = connect(options);
  const live = await readLive(repository, desired);
  return { plan: makePlan(desired, live, { seeds: seeds.serials(), allowDeletes: options.allowDeletes }), desired, repository, seeds };
}

/** Exit 0: no changes; 2: changes; 1: errors (like terraform plan -detailed-exitcode). */
export async function planCommand(options: ReconcileOptions): Promise<number> {
  return guard(async () => {
    const { plan, desired } = await computePlan(options);
    const markdown = renderPlanMarkdown(plan, markdownOptions(desired));
    process.stdout.write(options.format === "markdown" ? markdown : renderPlan(plan, options.format, desired));
    const code = plan.errors.length > 0 ? 1 : hasChanges(plan) ? 2 : 0;
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
    const { plan, desired, repository, seeds } = await computePlan(options);
    process.stdout.write(renderPlan(plan, options.format === "json" ? "text" : options.format, desired));
    if (plan.errors.length > 0 || plan.deletionGuard) {
      err("Nothing was applied.");
      return 1;
    }
    if (!hasChanges(plan)) return 0;
    if (!options.yes && !(await confirm(plan))) return 1;
    const report = await applyPlan(plan, repository, { seeds, onProgress: progressPrinter() });
    process.stdout.write(renderReport(report));
    return report.failed + report.skipped > 0 ? 1 : 0;
  });
}

/** Exit 0: no drift; 2: drift; 1: errors. */
export async function driftCommand(options: ReconcileOptions): Promise<number> {
  return guard(async () => {
    const desired = await loadValidDesired(options.file);
    const live = await readLive(connect(options), desired);
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
    return drifted ? 2 : 0;
  });
}

async function confirm(plan: Plan): Promise<boolean> {
  if (process.env["CI"] === "true" || !process.stdin.isTTY) {
    err("Refusing to apply without --yes in a non-interactive run (CI). Review the plan, then pass --yes.");
    return false;
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`Apply these ${plan.steps.length} changes to Entra? Type "yes" to go on: `);
  prompt.close();
  if (answer.trim().toLowerCase() === "yes") return true;
  err("Not applied.");
  return false;
}

function progressPrinter(): (event: ProgressEvent) => void {
  const tty = process.stderr.isTTY === true;
  let lastShown = -1;
  return ({ phase, done, total }) => {
    if (tty) {
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

function renderReport(report: ApplyReport): string {
  // "Already so": found done when checked (an earlier or concurrent run, or a hand edit), not counted as this run's work.
  const lines = [`Applied: ${report.succeeded - report.alreadySo} done by this run, ${report.alreadySo} already so, ${report.failed} failed, ${report.skipped} skipped.`];
  for (const o of report.outcomes) {
    if (o.status !== "succeeded") lines.push(`  ${o.status}: ${o.step.kind} ${o.step.serial}: ${o.message ?? ""}`);
  }
  if (report.failed + report.skipped > 0) lines.push("Run `entra-tokens apply` again after fixing the cause: it picks up where this run stopped.");
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
