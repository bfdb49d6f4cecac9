import { constants, promises as fs } from "node:fs";
import { relative } from "node:path";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import type { SourceLocation } from "../model/index.js";
import { escapeTerminal } from "../safety/escape.js";
import { readInputText } from "../safety/regular-file.js";

// Reports on GitHub: one sticky plan comment per pull request, one drift issue per repository,
// and the Actions job summary. The hidden markers let us find our own comment and issue again,
// but only among those the job's own identity wrote: anyone can type a marker.

export const PLAN_MARKER = "<!-- entra-tokens:plan -->";
export const DRIFT_MARKER = "<!-- entra-tokens:drift -->";
export const DRIFT_LABEL = "entra-tokens-drift";

/** One tenant's marker among many (tenants/contoso/tokens.yaml): each tenant keeps its own plan comment and drift issue. */
const scoped = (marker: string, tenant: string | undefined) => (tenant === undefined ? marker : marker.replace(" -->", `:${tenant} -->`));

export class GitHubError extends Error {}

/** One property of parsed outside data (an event payload, an Octokit error), unchecked until the caller checks it. */
const field = (value: unknown, key: string): unknown => (typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined);

export interface GitHubContext {
  owner: string;
  repo: string;
  token: string;
  apiUrl: string;
  /** Who the token writes as, when set (ENTRA_TOKENS_GITHUB_LOGIN, e.g. `my-app[bot]`); found out otherwise. */
  login?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The standard GitHub Actions environment; outside Actions, set the same variables by hand. */
export function contextFromEnv(env: Env = process.env): GitHubContext {
  const repository = env["GITHUB_REPOSITORY"];
  const token = env["GITHUB_TOKEN"];
  if (!repository || !/^[^/\s]+\/[^/\s]+$/.test(repository)) {
    throw new GitHubError("GITHUB_REPOSITORY is not set (owner/name); it is set in GitHub Actions, or set it by hand");
  }
  if (!token) throw new GitHubError("GITHUB_TOKEN is not set; in a workflow pass `env: GITHUB_TOKEN: ${{ github.token }}`");
  const [owner = "", repo = ""] = repository.split("/");
  const login = env["ENTRA_TOKENS_GITHUB_LOGIN"];
  if (login !== undefined && !/^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$/.test(login)) {
    throw new GitHubError("ENTRA_TOKENS_GITHUB_LOGIN is not a GitHub login: give the user's login, or `<app-slug>[bot]` for a GitHub App's token");
  }
  return {
    owner,
    repo,
    token,
    apiUrl: env["GITHUB_API_URL"] ?? "https://api.github.com",
    ...(login ? { login } : {}),
  };
}

/** The pull request number from the Actions event payload (or GITHUB_REF refs/pull/N/merge). */
export async function pullRequestNumber(env: Env = process.env): Promise<number> {
  const eventPath = env["GITHUB_EVENT_PATH"];
  if (eventPath) {
    try {
      // GitHub's event payloads are at most a few MB; a FIFO or device here is refused, not read.
      const event: unknown = JSON.parse(await readInputText(eventPath, "GITHUB_EVENT_PATH", 32 * 1024 * 1024));
      const number = field(field(event, "pull_request"), "number");
      if (typeof number === "number") return number;
    } catch {
      // fall back to GITHUB_REF below
    }
  }
  const match = /^refs\/pull\/(\d+)\//.exec(env["GITHUB_REF"] ?? "");
  if (match?.[1]) return Number(match[1]);
  throw new GitHubError("no pull request here: --github-comment runs on pull_request events (GITHUB_EVENT_PATH or GITHUB_REF refs/pull/N/merge)");
}

/** Links a tokens.yaml position to the file on GitHub at this commit (no links outside Actions). */
export function sourceLinker(env: Env = process.env): (location: SourceLocation) => string | undefined {
  const repository = env["GITHUB_REPOSITORY"];
  const sha = env["GITHUB_SHA"];
  const server = env["GITHUB_SERVER_URL"] ?? "https://github.com";
  return (location) => {
    if (!repository || !sha) return undefined;
    const path = relative(env["GITHUB_WORKSPACE"] ?? process.cwd(), location.file).split("\\").join("/");
    return `${server}/${repository}/blob/${sha}/${path}#L${location.line}`;
  };
}

// GitHub refuses comment and issue bodies over 65,536 characters, and job summaries over 1 MiB.
const BODY_LIMIT = 65_536;
const SUMMARY_LIMIT = 1_000_000;

/** Cuts a long report at a line, saying so, rather than letting GitHub reject the whole of it. */
export function fitToLimit(markdown: string, limit: number): string {
  if (markdown.length <= limit) return markdown;
  const note = "\n\n> :scissors: Report cut to fit GitHub's size limit; the full report is in the job log (`--format markdown` or `--format json`).\n";
  const cut = markdown.lastIndexOf("\n", limit - note.length);
  return `${markdown.slice(0, Math.max(cut, 0))}${note}`;
}

const RetryingOctokit = Octokit.plugin(throttling, retry);

const FIXES: Record<number, string> = {
  401: "GITHUB_TOKEN is invalid or expired; pass the job's token (`GITHUB_TOKEN: ${{ github.token }}`)",
  403: "the token may not do this: give the job `permissions: pull-requests: write` (plan comment) or `issues: write` (drift issue)",
  404: "the repository, pull request or issue was not found, or the token cannot see it: check GITHUB_REPOSITORY",
  422: "GitHub rejected the content; report this as a bug in entra-tokens",
};

/** Octokit's error, as a sentence saying what failed and what to do; never the token. */
function describe(error: unknown, what: string): GitHubError {
  const status = field(error, "status");
  const headers = field(field(error, "response"), "headers");
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  const reset = Number(field(headers, "x-ratelimit-reset"));
  let fix: string;
  if (field(headers, "x-ratelimit-remaining") === "0" && (status === 403 || status === 429)) {
    fix = `GitHub's API rate limit is used up${Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : ""}; run the job again later`;
  } else if (typeof status === "number") {
    fix = FIXES[status] ?? "GitHub is failing; run the job again later";
  } else {
    fix = "GitHub could not be reached: check GITHUB_API_URL and the network";
  }
  return new GitHubError(`could not ${what} (${typeof status === "number" ? `HTTP ${status}: ` : ""}${message}): ${fix}`);
}

export class GitHubReporter {
  private readonly octokit: InstanceType<typeof RetryingOctokit>;
  private login: Promise<string> | undefined;

  constructor(
    private readonly context: GitHubContext,
    options: { retries?: number } = {},
  ) {
    const retries = options.retries ?? 2;
    this.octokit = new RetryingOctokit({
      auth: context.token,
      baseUrl: context.apiUrl,
      userAgent: "entra-tokens",
      // Failures become one GitHubError with a fix; Octokit's own request log would only repeat it.
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      throttle: {
        // Wait out GitHub's limits a couple of times, then give up with a clear error.
        onRateLimit: (_after: number, _options: object, _octokit: object, retryCount: number) => retryCount < retries,
        onSecondaryRateLimit: (_after: number, _options: object, _octokit: object, retryCount: number) => retryCount < retries,
      },
      retry: { retries },
    });
  }

  /**
   * The login our comments and issues carry, from documented sources only, never guessed:
   * ENTRA_TOKENS_GITHUB_LOGIN when set; else GET /user, which names a user's token. GITHUB_TOKEN is
   * a GitHub App installation token (docs.github.com "Automatic token authentication"), and GET /user
   * is not among the endpoints installation tokens may call (docs.github.com "Endpoints available
   * for GitHub App installation access tokens": users lists /users/{username}, not /user; GitHub
   * answers 403 "Resource not accessible by integration"). The bot login such a token writes as
   * (`github-actions[bot]` for GITHUB_TOKEN) is not documented, so we do not assume it: we read it
   * from what GitHub returns for our own write, a reaction on `probeIssue` (REST "Create reaction
   * for an issue": the reaction's `user`; 200 when it was there already), removed again at once.
   */
  private ownLogin(probeIssue: number): Promise<string> {
    this.login ??= this.context.login !== undefined
      ? Promise.resolve(this.context.login)
      : this.octokit.rest.users.getAuthenticated().then(
          (response) => response.data.login,
          (error: unknown) => {
            if (field(error, "status") === 403) return this.loginFromReaction(probeIssue);
            throw error;
          },
        );
    return this.login;
  }

  private async loginFromReaction(issueNumber: number): Promise<string> {
    const { owner, repo } = this.context;
    const reaction = await this.octokit.rest.reactions.createForIssue({ owner, repo, issue_number: issueNumber, content: "eyes" });
    await this.octokit.rest.reactions.deleteForIssue({ owner, repo, issue_number: issueNumber, reaction_id: reaction.data.id });
    const login = reaction.data.user?.login;
    if (!login) throw new GitHubError("GitHub did not say which account this token writes as; set ENTRA_TOKENS_GITHUB_LOGIN to it (`<app-slug>[bot]` for a GitHub App's token)");
    return login;
  }

  /**
   * The first of `items` we wrote: carrying the marker and by our login (asked only when a marker is
   * there, with `probeIssue` the pull request or issue a reaction may be put on to find it out).
   */
  private async findOurs<T extends { body?: string | null; user?: { login?: string } | null }>(items: readonly T[], marker: string, probeIssue: (marked: T) => number): Promise<T | undefined> {
    const marked = items.filter((item) => item.body?.includes(marker) === true);
    const first = marked[0];
    if (first === undefined) return undefined;
    const login = await this.ownLogin(probeIssue(first));
    return marked.find((item) => item.user?.login === login);
  }

  /** Creates the plan comment, or updates the one already there: never a second one. */
  async upsertPullRequestComment(pullNumber: number, markdown: string, tenant?: string): Promise<{ action: "created" | "updated"; url: string }> {
    const marker = scoped(PLAN_MARKER, tenant);
    const body = fitToLimit(`${marker}\n${markdown}`, BODY_LIMIT);
    const { owner, repo } = this.context;
    try {
      const comments = await this.octokit.paginate(this.octokit.rest.issues.listComments, { owner, repo, issue_number: pullNumber, per_page: 100 });
      const ours = await this.findOurs(comments, marker, () => pullNumber);
      if (ours) {
        const updated = await this.octokit.rest.issues.updateComment({ owner, repo, comment_id: ours.id, body });
        return { action: "updated", url: updated.data.html_url };
      }
      const created = await this.octokit.rest.issues.createComment({ owner, repo, issue_number: pullNumber, body });
      return { action: "created", url: created.data.html_url };
    } catch (error: unknown) {
      throw describe(error, `post the plan on pull request #${pullNumber}`);
    }
  }

  /**
   * Our open drift issue: by label first; then by marker alone, because GitHub silently drops labels
   * set by a token without push access, and a second issue every morning is what we must avoid.
   */
  private async findDriftIssue(marker: string): Promise<{ number: number } | undefined> {
    const { owner, repo } = this.context;
    const issuesOnly = <T extends { pull_request?: unknown }>(list: T[]) => list.filter((issue) => issue.pull_request === undefined);
    const labelled = await this.octokit.paginate(this.octokit.rest.issues.listForRepo, { owner, repo, labels: DRIFT_LABEL, state: "open", per_page: 100 });
    const onIssue = (issue: { number: number }) => issue.number;
    return (await this.findOurs(issuesOnly(labelled), marker, onIssue)) ?? (await this.findOurs(issuesOnly(await this.octokit.paginate(this.octokit.rest.issues.listForRepo, { owner, repo, state: "open", per_page: 100 })), marker, onIssue));
  }

  /** Opens or updates the one drift issue while there is drift; closes it when drift is gone. */
  async syncDriftIssue(markdown: string, drift: boolean, tenant?: string): Promise<{ action: "opened" | "updated" | "closed" | "none"; url?: string }> {
    const { owner, repo } = this.context;
    const marker = scoped(DRIFT_MARKER, tenant);
    const body = fitToLimit(`${marker}\n${markdown}`, BODY_LIMIT);
    try {
      const ours = await this.findDriftIssue(marker);
      if (drift && ours) {
        const updated = await this.octokit.rest.issues.update({ owner, repo, issue_number: ours.number, body, labels: [DRIFT_LABEL] });
        return { action: "updated", url: updated.data.html_url };
      }
      if (drift) {
        const created = await this.octokit.rest.issues.create({ owner, repo, title: tenant === undefined ? "Entra hardware tokens drifted from tokens.yaml" : `Entra hardware tokens of tenant ${tenant} drifted from tenants/${tenant}/tokens.yaml`, body, labels: [DRIFT_LABEL] });
        return { action: "opened", url: created.data.html_url };
      }
      if (ours) {
        await this.octokit.rest.issues.createComment({ owner, repo, issue_number: ours.number, body: "The tenant matches tokens.yaml again; closing." });
        const closed = await this.octokit.rest.issues.update({ owner, repo, issue_number: ours.number, body, state: "closed", state_reason: "completed" });
        return { action: "closed", url: closed.data.html_url };
      }
      return { action: "none" };
    } catch (error: unknown) {
      throw describe(error, "update the drift issue");
    }
  }
}

/** Appends to the Actions job summary when running in Actions; a function is rendered only then. */
export async function writeJobSummary(markdown: string | (() => string), env: Env = process.env): Promise<boolean> {
  const path = env["GITHUB_STEP_SUMMARY"];
  if (!path) return false;
  await appendToRunnerFile(path, `${fitToLimit(typeof markdown === "string" ? markdown : markdown(), SUMMARY_LIMIT)}\n`, "the job summary", "GITHUB_STEP_SUMMARY");
  return true;
}

/** Sets a step output (`name=value` appended to GITHUB_OUTPUT); the value is one line. */
export async function writeStepOutput(name: string, value: string, env: Env = process.env): Promise<boolean> {
  const path = env["GITHUB_OUTPUT"];
  if (!path) return false;
  if (/[\r\n]/.test(value) || !/^[A-Za-z_][\w-]*$/.test(name)) throw new GitHubError(`the step output ${escapeTerminal(name)} must be a name and a one-line value`);
  await appendToRunnerFile(path, `${name}=${value}\n`, `the step output ${name}`, "GITHUB_OUTPUT");
  return true;
}

/** Appends to a file the runner gave (summary, outputs). */
async function appendToRunnerFile(path: string, text: string, what: string, setting: string): Promise<void> {
  try {
    // Appended only to a regular file: no link is followed, and a FIFO (O_NONBLOCK) is refused, not waited on.
    const handle = await fs.open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644);
    try {
      if (!(await handle.stat()).isFile()) throw new Error("not a regular file");
      await handle.appendFile(text);
    } finally {
      await handle.close();
    }
  } catch (error: unknown) {
    throw new GitHubError(`could not write ${what} to ${escapeTerminal(path)} (${escapeTerminal(error instanceof Error ? error.message : String(error))}): check ${setting}`);
  }
}
