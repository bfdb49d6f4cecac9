import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GitHubError, writeStepOutput } from "../github/github.js";
import { tenantMatrix } from "../reconcile/matrix.js";
import { EXIT } from "./formats.js";
import { guard, ReportedFailure } from "./reconcile.js";

/** The list of changed paths (git diff --name-only) is small: a few MiB covers any pull request. */
const CHANGED_LIST_LIMIT = 4 * 1024 * 1024;
const NO_COMMIT = /^0{40}$/;

/**
 * The paths changed from `commit` to HEAD, or undefined (every tenant) when there is no such commit
 * here (a force push, a shallow clone): more plans, never fewer.
 */
async function changedSince(commit: string): Promise<string[] | undefined> {
  if (!/^[0-9a-f]{40}$/i.test(commit)) throw new ReportedFailure("--changed-since takes a full commit SHA (40 hex digits), e.g. github.event.pull_request.base.sha");
  if (NO_COMMIT.test(commit)) return undefined;
  try {
    const { stdout } = await promisify(execFile)("git", ["diff", "--name-only", "-z", commit, "HEAD"], { maxBuffer: CHANGED_LIST_LIMIT, encoding: "utf8" });
    return stdout.split("\0").filter(Boolean);
  } catch (error: unknown) {
    process.stderr.write(`note: git cannot compare ${commit} with HEAD (${error instanceof Error ? error.message.split("\n")[0] : "failed"}); every tenant is listed\n`);
    return undefined;
  }
}

/**
 * `tenants`: the tenants of this repository as a GitHub Actions matrix (`--format json`, one line;
 * `--github-output <name>` also sets it as a step output), all of them, those changed since a
 * commit (`--changed-since`), or one (`--tenant`). Empty values are unset, as an unset workflow input is.
 */
export async function tenantsListCommand(options: { format: "text" | "json"; changedSince?: string; tenant?: string; githubOutput?: string }): Promise<number> {
  return guard(async () => {
    const changed = options.changedSince ? await changedSince(options.changedSince) : undefined;
    const entries = tenantMatrix(changed, options.tenant || undefined);
    const json = JSON.stringify({ include: entries });
    if (options.format === "json") process.stdout.write(`${json}\n`);
    else process.stdout.write(entries.length === 0 ? "No tenant is touched.\n" : `${entries.map((e) => `${e.tenant}  ${e.file}  read: ${e.readEnvironment}  write: ${e.writeEnvironment}  stack: ${e.stack}`).join("\n")}\n`);
    if (options.githubOutput) {
      try {
        if (!(await writeStepOutput(options.githubOutput, json))) throw new ReportedFailure("--github-output needs GITHUB_OUTPUT (set by GitHub Actions in every step)");
      } catch (error: unknown) {
        throw error instanceof GitHubError ? new ReportedFailure(error.message) : error;
      }
    }
    return EXIT.ok;
  });
}
