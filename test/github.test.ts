import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { parse } from "yaml";
import { buildProgram } from "../provider/cli/program.js";
import { DRIFT_LABEL, DRIFT_MARKER, fitToLimit, GitHubError, GitHubReporter, PLAN_MARKER, type GitHubContext } from "../provider/github/github.js";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { ADMIN_APP, clientEnv, startHttpsEmulator, TENANT } from "./support/emulator.js";
import { ACTIONS_BOT, ATTACKER, FakeActionsOidc, FakeGitHub } from "./support/fake-github.js";
import { workspace } from "./support/workspace.js";

const ROOT = join(__dirname, "..", "..");
const REPOSITORY = "contoso/tokens";

function contextFor(github: FakeGitHub, token = github.token): GitHubContext {
  return { owner: "contoso", repo: "tokens", token, apiUrl: github.url };
}

/** The message of the GitHubError `run` throws (and the test fails if it throws anything else). */
async function gitHubFailure(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error: unknown) {
    assert.ok(error instanceof GitHubError, `expected a GitHubError, got ${String(error)}`);
    return error.message;
  }
  assert.fail("expected a GitHub failure");
}

describe("GitHub reporter against a fake GitHub REST API (real HTTP)", function () {
  this.timeout(30_000);
  let github: FakeGitHub;
  beforeEach(async () => {
    github = await new FakeGitHub().start();
  });
  afterEach(() => github.stop());

  it("creates the plan comment once, then updates that same comment", async () => {
    github.comments.push({ id: 1, issue: 7, body: "LGTM from a human", user: ATTACKER });
    const reporter = new GitHubReporter(contextFor(github));
    const first = await reporter.upsertPullRequestComment(7, "**1 to create**");
    assert.equal(first.action, "created");
    const second = await reporter.upsertPullRequestComment(7, "**2 to create**");
    assert.equal(second.action, "updated");
    assert.equal(second.url, first.url, "the same comment");
    const ours = github.comments.filter((c) => c.body.includes(PLAN_MARKER));
    assert.equal(ours.length, 1, "never a second plan comment");
    assert.match(ours[0]!.body, /\*\*2 to create\*\*/);
    assert.equal(github.comments.find((c) => c.id === 1)?.body, "LGTM from a human", "other comments untouched");
  });

  it("opens one labelled drift issue, updates it while drift lasts, closes it when drift is gone", async () => {
    const reporter = new GitHubReporter(contextFor(github));
    assert.equal((await reporter.syncDriftIssue("no drift", false)).action, "none", "no issue for a clean tenant");
    assert.equal((await reporter.syncDriftIssue("| Missing from the tenant | 3 |", true)).action, "opened");
    assert.equal((await reporter.syncDriftIssue("| Missing from the tenant | 1 |", true)).action, "updated");
    assert.equal(github.issues.length, 1, "one issue, not one per run");
    const [issue] = github.issues;
    assert.deepEqual(issue?.labels, [DRIFT_LABEL]);
    assert.ok(issue?.body.startsWith(DRIFT_MARKER) && issue.body.includes("| 1 |"));
    assert.equal((await reporter.syncDriftIssue("clean", false)).action, "closed");
    assert.equal(issue?.state, "closed");
    assert.ok(github.comments.some((c) => c.issue === issue?.number && /matches tokens\.yaml again/.test(c.body)), "says why it closed");
    assert.equal((await reporter.syncDriftIssue("drift again", true)).action, "opened", "new drift, new issue");
    assert.equal(github.issues.filter((i) => i.state === "open").length, 1);
  });

  it("gives each tenant (--tenant) its own plan comment and drift issue", async () => {
    const reporter = new GitHubReporter(contextFor(github));
    for (const tenant of ["contoso", "fabrikam", "contoso"]) await reporter.upsertPullRequestComment(7, `plan of ${tenant}`, tenant);
    assert.deepEqual(github.comments.map((c) => c.body.split("\n")), [["<!-- entra-tokens:plan:contoso -->", "plan of contoso"], ["<!-- entra-tokens:plan:fabrikam -->", "plan of fabrikam"]]);
    assert.equal((await reporter.syncDriftIssue("drift", true, "contoso")).action, "opened");
    assert.equal((await reporter.syncDriftIssue("drift", true, "fabrikam")).action, "opened");
    assert.equal((await reporter.syncDriftIssue("drift", true)).action, "opened", "the one-tenant issue is a third");
    assert.equal((await reporter.syncDriftIssue("clean", false, "contoso")).action, "closed");
    assert.deepEqual(github.issues.map((i) => [i.title, i.state]), [
      ["Entra hardware tokens of tenant contoso drifted from tenants/contoso/tokens.yaml", "closed"],
      ["Entra hardware tokens of tenant fabrikam drifted from tenants/fabrikam/tokens.yaml", "open"],
      ["Entra hardware tokens drifted from tokens.yaml", "open"],
    ]);
  });

  it("never adopts a comment or issue someone else wrote with our marker", async () => {
    github.comments.push({ id: 1, issue: 7, body: `looks good ${PLAN_MARKER}`, user: ATTACKER });
    github.issues.push({ number: 1, user: ATTACKER, title: "fake drift", body: `${DRIFT_MARKER}\nall fine`, labels: [DRIFT_LABEL], state: "open" });
    const reporter = new GitHubReporter(contextFor(github));
    assert.equal((await reporter.upsertPullRequestComment(7, "**1 to create**")).action, "created");
    assert.equal(github.comments.find((c) => c.id === 1)?.body, `looks good ${PLAN_MARKER}`, "the attacker's comment is not edited");
    assert.equal((await reporter.syncDriftIssue("| Missing from the tenant | 1 |", true)).action, "opened");
    assert.equal(github.issues[0]?.body, `${DRIFT_MARKER}\nall fine`, "the attacker's issue is not edited");
    assert.ok(github.requests.includes("GET /user"), "asked GitHub who the token is");
  });

  it("with an installation token, learns its own login from GitHub (a reaction it removes again), never from a guess", async () => {
    await github.stop();
    // A GitHub App's installation token: GET /user is refused, and its bot is not github-actions[bot].
    github = await new FakeGitHub("ghs_app_installation_token", { login: "entra-bot[bot]", id: 99, type: "Bot" }).start();
    github.comments.push({ id: 1, issue: 7, body: `looks good ${PLAN_MARKER}`, user: ATTACKER });
    github.issues.push({ number: 3, user: ACTIONS_BOT, title: "someone else's bot", body: `${DRIFT_MARKER}\nold`, labels: [DRIFT_LABEL], state: "open" });
    assert.equal((await new GitHubReporter(contextFor(github)).upsertPullRequestComment(7, "first")).action, "created");
    assert.equal((await new GitHubReporter(contextFor(github)).upsertPullRequestComment(7, "second")).action, "updated", "its own comment found again");
    assert.equal(github.comments.filter((c) => c.user.login === "entra-bot[bot]").length, 1);
    assert.equal(github.comments.find((c) => c.id === 1)?.body, `looks good ${PLAN_MARKER}`, "the attacker's comment is not edited");
    const reporter = new GitHubReporter(contextFor(github));
    assert.equal((await reporter.syncDriftIssue("drift", true)).action, "opened", "an issue by another bot is not ours");
    assert.equal((await reporter.syncDriftIssue("still drift", true)).action, "updated");
    assert.equal(github.issues[0]?.body, `${DRIFT_MARKER}\nold`);
    assert.ok(github.requests.includes("POST /repos/contoso/tokens/issues/7/reactions") && github.requests.some((r) => /^DELETE \/repos\/contoso\/tokens\/issues\/7\/reactions\/\d+$/.test(r)), "asked GitHub through a reaction");
    assert.deepEqual(github.reactions, [], "no reaction left behind");
  });

  it("with a user's token, adopts only what that user wrote (GET /user)", async () => {
    await github.stop();
    github = await new FakeGitHub("ghp_user_token", { login: "ops-bot", id: 7, type: "User" }, "user").start();
    github.comments.push({ id: 1, issue: 7, body: `${PLAN_MARKER}\nold`, user: ACTIONS_BOT });
    const reporter = new GitHubReporter(contextFor(github));
    assert.equal((await reporter.upsertPullRequestComment(7, "new")).action, "created");
    assert.equal((await reporter.upsertPullRequestComment(7, "newer")).action, "updated");
    assert.equal(github.comments.filter((c) => c.user.login === "ops-bot").length, 1);
  });

  it("finds its drift issue even when GitHub dropped the label, and puts the label back", async () => {
    github.issues.push({ number: 1, user: ACTIONS_BOT, title: "ours, unlabelled", body: `${DRIFT_MARKER}\nold`, labels: [], state: "open" });
    github.issues.push({ number: 2, user: ATTACKER, title: "a human's issue", body: "tokens are late", labels: [DRIFT_LABEL], state: "open" });
    const reporter = new GitHubReporter(contextFor(github));
    assert.equal((await reporter.syncDriftIssue("| Missing from the tenant | 1 |", true)).action, "updated");
    assert.equal(github.issues.length, 2, "no duplicate");
    assert.deepEqual(github.issues[0]?.labels, [DRIFT_LABEL]);
    assert.equal(github.issues[1]?.body, "tokens are late", "an issue without our marker is not ours");
  });

  it("explains 401, 403, 404 and rate limits, without the token", async () => {
    const bad = await gitHubFailure(() => new GitHubReporter(contextFor(github, "ghs_wrong_token")).upsertPullRequestComment(7, "plan"));
    assert.match(bad, /HTTP 401.*GITHUB_TOKEN is invalid or expired/);
    const reporter = new GitHubReporter(contextFor(github), { retries: 1 });
    github.fail({ status: 403, count: 1 });
    assert.match(await gitHubFailure(() => reporter.upsertPullRequestComment(7, "plan")), /could not post the plan on pull request #7 \(HTTP 403.*permissions: pull-requests: write/);
    github.fail({ status: 404, count: 1 });
    assert.match(await gitHubFailure(() => reporter.syncDriftIssue("drift", true)), /could not update the drift issue \(HTTP 404.*check GITHUB_REPOSITORY/);
    const before = github.requests.length;
    github.fail({ status: 403, count: 10, rateLimit: true });
    assert.match(await gitHubFailure(() => reporter.upsertPullRequestComment(7, "plan")), /rate limit is used up until \d{4}-.*run the job again later/);
    assert.equal(github.requests.length - before, 2, "waited out the limit once (retries: 1), then gave up");
    github.fail({ status: 403, count: 1, rateLimit: true });
    assert.equal((await reporter.upsertPullRequestComment(7, "plan")).action, "created", "a limit that resets is waited out");
    for (const message of [bad]) assert.ok(!message.includes(github.token) && !message.includes("ghs_wrong_token"));
  });

  it("cuts a report too long for GitHub at a line, and says so", () => {
    const long = Array.from({ length: 5000 }, (_, i) => `| \`S${i}\` | row ${i} |`).join("\n");
    const cut = fitToLimit(long, 65_536);
    assert.ok(cut.length <= 65_536);
    assert.match(cut, /\| row \d+ \|\n\n> :scissors: Report cut to fit GitHub's size limit/);
    assert.equal(fitToLimit("short", 65_536), "short");
  });
});

describe("CLI on GitHub Actions: plan --github-comment, drift --github-issue, job summary", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  let github: FakeGitHub;
  let actionsEnv: Record<string, string>;
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
    github = await new FakeGitHub().start();
    const runner = mkdtempSync(join(tmpdir(), "gha-"));
    writeFileSync(join(runner, "event.json"), JSON.stringify({ pull_request: { number: 42 } }));
    actionsEnv = {
      GITHUB_ACTIONS: "true",
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_TOKEN: github.token,
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: "https://github.example",
      GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
      GITHUB_EVENT_PATH: join(runner, "event.json"),
      GITHUB_STEP_SUMMARY: join(runner, "summary.md"),
      ...clientEnv(emulator),
    };
  });
  afterEach(async () => {
    await github.stop();
    await emulator.stop();
  });

  it("posts the plan as one sticky comment linking tokens.yaml lines, and fills the job summary", async () => {
    const { file, secrets } = workspace(3, (i) => (i === 0 ? "state: available" : "state: activated, upn: adele.vance@contoso.com"));
    const env: Record<string, string> = { ...actionsEnv, GITHUB_WORKSPACE: join(file, "..") };
    const first = await runCli(["plan", "--github-comment", "--file", file], env);
    assert.equal(first.code, 2, first.stderr);
    assert.match(first.stderr, /Plan comment created: https:\/\/github\.example\/comment\/\d+/);
    const second = await runCli(["plan", "--github-comment", "--file", file], env);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /Plan comment updated/);
    assert.equal(github.comments.length, 1);
    const comment = github.comments[0]!.body;
    assert.match(comment, /\| \+ create \| 3 \|/);
    assert.match(comment, /\[`T1`\]\(https:\/\/github\.example\/contoso\/tokens\/blob\/0123456789abcdef0123456789abcdef01234567\/tokens\.yaml#L7\)/);
    const summary = readFileSync(env["GITHUB_STEP_SUMMARY"] ?? "", "utf8");
    assert.match(summary, /### entra-tokens plan/);
    const everything = [first.stdout, first.stderr, second.stdout, second.stderr, comment, summary].join("\n");
    for (const secret of [...secrets, ADMIN_APP.clientSecret, github.token]) assert.ok(!everything.includes(secret), "a secret reached GitHub or the log");
  });

  it("a GitHub failure is reported clearly and keeps the plan's exit code", async () => {
    const { file } = workspace(2, () => "state: available");
    github.fail({ status: 403, count: 1 });
    const failed = await runCli(["plan", "--github-comment", "--file", file], actionsEnv);
    assert.equal(failed.code, 2, "changes are still exit 2, not hidden by GitHub's 403");
    assert.match(failed.stdout, /^Plan: 2 to create/);
    assert.match(failed.stderr, /GitHub: could not post the plan on pull request #42 \(HTTP 403.*pull-requests: write/);
    assert.match(failed.stdout, /::warning title=entra-tokens::could not publish the plan to GitHub/);
    assert.doesNotMatch(failed.stderr, /\n\s+at /, "no stack trace");
    const noToken = await runCli(["plan", "--github-comment", "--file", file], { ...actionsEnv, GITHUB_TOKEN: "" });
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /GITHUB_TOKEN is not set/);
    const noPullRequest = await runCli(["plan", "--github-comment", "--file", file], { ...actionsEnv, GITHUB_EVENT_PATH: "" });
    assert.equal(noPullRequest.code, 2);
    assert.match(noPullRequest.stderr, /no pull request here/);
    const summaryUnwritable = await runCli(["plan", "--file", file], { ...actionsEnv, GITHUB_STEP_SUMMARY: join(tmpdir(), "no-such-dir", "summary.md") });
    assert.equal(summaryUnwritable.code, 2);
    assert.match(summaryUnwritable.stderr, /could not write the job summary/);
    assert.equal(github.comments.length, 0);
  });

  it("opens the drift issue when the tenant drifts and closes it once converged", async () => {
    const { file } = workspace(2, () => "state: activated, upn: megan.bowen@contoso.com");
    const drifted = await runCli(["drift", "--github-issue", "--file", file], actionsEnv);
    assert.equal(drifted.code, 2, drifted.stderr);
    assert.match(drifted.stderr, /Drift issue: opened https:\/\/github\.example\/issues\/1/);
    assert.match(github.issues[0]?.body ?? "", /\| Missing from the tenant \| 2 \|/);
    assert.match(readFileSync(actionsEnv["GITHUB_STEP_SUMMARY"] ?? "", "utf8"), /### entra-tokens drift report/);
    assert.equal((await runCli(["apply", "--yes", "--file", file], clientEnv(emulator))).code, 0);
    const clean = await runCli(["drift", "--github-issue", "--file", file], actionsEnv);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stderr, /Drift issue: closed/);
    assert.equal(github.issues[0]?.state, "closed");
  });
});

describe("GitHub Actions OIDC → Entra workload identity federation (the workflows' sign-in)", function () {
  this.timeout(60_000);
  // Read-only rights are enough for the plan and drift jobs (the entra-read environment).
  // The read-only app docs/github.md describes: AuditLog.Read.All lets drift name who changed what.
  const FEDERATED_APP = { clientId: "gitops-reader", roles: ["Policy.Read.All", "UserAuthenticationMethod.Read.All", "User.Read.All", "AuditLog.Read.All"] };
  let emulator: GraphEmulator;
  let oidc: FakeActionsOidc;
  afterEach(async () => {
    await oidc.stop();
    await emulator.stop();
  });

  async function start(subject: string): Promise<Record<string, string>> {
    oidc = await new FakeActionsOidc(subject).start();
    emulator = await startHttpsEmulator({
      apps: [ADMIN_APP, { ...FEDERATED_APP, federatedCredentials: [{ issuer: oidc.url, subject: "repo:contoso/tokens:environment:entra-read" }] }],
    });
    const { AZURE_CLIENT_SECRET: _secret, ...withoutSecret } = clientEnv(emulator);
    return { ...withoutSecret, AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: FEDERATED_APP.clientId, ...oidc.env() };
  }

  it("signs in with the job's OIDC token, no client secret, and plans and reports drift with read-only rights", async () => {
    const env = await start("repo:contoso/tokens:environment:entra-read");
    const { file } = workspace(1, () => "state: available");
    const planned = await runCli(["plan", "--file", file], env);
    assert.equal(planned.code, 2, planned.stderr);
    const drifted = await runCli(["drift", "--file", file], env);
    assert.equal(drifted.code, 2, drifted.stderr);
    assert.ok(emulator.requests.some((r) => r.route === "token" && r.status === 200));
    assert.ok(emulator.requests.every((r) => r.status !== 403), "read-only rights were enough");
  });

  it("signs in with AZURE_FEDERATED_TOKEN_FILE, a link to the token as Kubernetes projects it, read through our file guards", async () => {
    const env = await start("repo:contoso/tokens:environment:entra-read");
    const response = await fetch(`${oidc.url}/token?audience=api://AzureADTokenExchange`, { headers: { authorization: `Bearer ${oidc.requestToken}` } });
    const dir = mkdtempSync(join(tmpdir(), "entra-federated-"));
    mkdirSync(join(dir, "..data"));
    writeFileSync(join(dir, "..data", "azure-identity-token"), `${String(((await response.json()) as { value: unknown }).value)}\n`);
    symlinkSync(join("..data", "azure-identity-token"), join(dir, "azure-identity-token"));
    const { ACTIONS_ID_TOKEN_REQUEST_URL: _url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: _token, ...withoutActions } = env;
    const { file } = workspace(1, () => "state: available");
    const planned = await runCli(["plan", "--file", file], { ...withoutActions, AZURE_FEDERATED_TOKEN_FILE: join(dir, "azure-identity-token") });
    assert.equal(planned.code, 2, planned.stderr);
  });

  it("refuses a job whose subject the app does not trust, saying which subject", async () => {
    const env = await start("repo:someone-else/fork:pull_request");
    const { file } = workspace(1, () => "state: available");
    const refused = await runCli(["plan", "--file", file], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /AADSTS700213: No matching federated identity record found for presented assertion subject 'repo:someone-else\/fork:pull_request'.*Fix: the app has no federated credential for this subject/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, "no stack trace");
  });

  it("the emulator refuses assertions from another issuer, for another audience, tampered, or a secret for a federated-only app", async () => {
    await start("repo:contoso/tokens:environment:entra-read");
    const stranger = await new FakeActionsOidc("repo:contoso/tokens:environment:entra-read").start();
    const assertion = async (issuer: FakeActionsOidc, audience = "api://AzureADTokenExchange") => {
      const response = await fetch(`${issuer.url}/token?audience=${encodeURIComponent(audience)}`, { headers: { authorization: `Bearer ${issuer.requestToken}` } });
      return String(((await response.json()) as { value: unknown }).value);
    };
    const exchange = async (form: Record<string, string>) => {
      const response = await fetch(`${emulator.url}/${TENANT}/oauth2/v2.0/token`, {
        method: "POST",
        body: new URLSearchParams({ grant_type: "client_credentials", client_id: FEDERATED_APP.clientId, scope: "https://graph.microsoft.com/.default", ...form }),
      });
      return { status: response.status, text: await response.text() };
    };
    const jwtBearer = (value: string) => ({ client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: value });
    try {
      assert.equal((await exchange(jwtBearer(await assertion(oidc)))).status, 200, "the trusted job gets a token");
      assert.match((await exchange(jwtBearer(await assertion(stranger)))).text, /AADSTS700211/);
      assert.match((await exchange(jwtBearer(await assertion(oidc, "api://SomethingElse")))).text, /AADSTS700212/);
      const [header, payload] = (await assertion(oidc)).split(".");
      const forged = await assertion(stranger);
      assert.match((await exchange(jwtBearer(`${header}.${payload}.${forged.split(".")[2]}`))).text, /AADSTS700027/);
      assert.match((await exchange({ client_secret: "" })).text, /AADSTS7000215/, "no secret configured: an empty one must not match");
    } finally {
      await stranger.stop();
    }
  });
});

describe("workflow files", () => {
  const workflowsDir = join(ROOT, ".github", "workflows");
  const packageJson: unknown = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const scripts = Object.keys((packageJson as { scripts: Record<string, string> }).scripts);
  const program = buildProgram();

  interface Step {
    run?: string;
    uses?: string;
    with?: Record<string, unknown>;
  }
  interface Job {
    if?: string;
    permissions?: Record<string, string>;
    steps: Step[];
  }
  interface Workflow {
    permissions?: Record<string, string>;
    jobs: Record<string, Job>;
  }
  const workflows = readdirSync(workflowsDir).map((name) => ({ name, workflow: parse(readFileSync(join(workflowsDir, name), "utf8")) as Workflow }));

  /** Throws unless `args` name an existing entra-tokens command with options it has. */
  function checkCliCall(args: string[], where: string): void {
    let command: Command = program;
    while (args[0] && !args[0].startsWith("-")) {
      const sub = command.commands.find((c) => c.name() === args[0]);
      if (!sub) break;
      command = sub;
      args = args.slice(1);
    }
    assert.notEqual(command, program, `${where}: no such entra-tokens command`);
    for (const flag of args.filter((a) => a.startsWith("-"))) {
      assert.ok(command.options.some((o) => o.long === flag.split("=")[0] || o.short === flag), `${where}: entra-tokens ${command.name()} has no option ${flag}`);
    }
  }

  it("are the three documented workflows and parse as YAML", () => {
    assert.deepEqual(workflows.map((w) => w.name).sort(), ["deploy.yml", "drift.yml", "pr.yml"]);
    for (const { name, workflow } of workflows) assert.ok(Object.keys(workflow.jobs).length > 0, name);
  });

  it("run only npm scripts that exist and entra-tokens commands and options that exist", () => {
    let cliCalls = 0;
    for (const { name, workflow } of workflows) {
      for (const [jobName, job] of Object.entries(workflow.jobs)) {
        for (const step of job.steps) {
          for (const segment of (step.run ?? "").split(/&&|\|\||;|\n/).map((s) => s.trim()).filter(Boolean)) {
            const where = `${name} job ${jobName}: ${segment}`;
            if (/^\[ \$\? -eq 2 \]$/.test(segment) || segment === "npm ci") continue;
            // A redirection of the output (`> validate.sarif`) is the shell's, not the command's.
            const words = segment.replace(/\s+>\s*\S+$/, "").split(/\s+/);
            assert.equal(`${words[0]} ${words[1]}`, "npm run", `${where}: use an npm script from package.json`);
            const script = words.slice(2).find((w) => !w.startsWith("-"));
            assert.ok(script && scripts.includes(script), `${where}: package.json has no script ${script}`);
            if (script === "entra-tokens") {
              checkCliCall(words.slice(words.indexOf("--") + 1), where);
              cliCalls++;
            }
          }
        }
      }
    }
    assert.equal(cliCalls, 8, "the tenants matrix (pr, deploy, drift), validate (text, then SARIF for code scanning), plan, report and drift");
  });

  it("pr.yml uploads validate's SARIF to code scanning, pinned by commit, with security-events: write", () => {
    const pr = workflows.find((w) => w.name === "pr.yml")!.workflow;
    const validate = pr.jobs["validate"]!;
    const upload = validate.steps.find((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"));
    assert.ok(upload, "an upload-sarif step");
    assert.match(upload.uses ?? "", /@[0-9a-f]{40}$/, "pinned by full commit SHA");
    assert.ok(validate.steps.some((s) => /validate -f "\$FILE" --format sarif > validate\.sarif/.test(s.run ?? "")));
    assert.equal((validate.permissions ?? {})["security-events"], "write");
  });

  it("accept exit 2 only from plan and drift, where it means changes or drift (usage errors exit 1)", () => {
    let accepting = 0;
    for (const { name, workflow } of workflows) {
      for (const [jobName, job] of Object.entries(workflow.jobs)) {
        for (const step of job.steps) {
          const run = step.run ?? "";
          const command = /entra-tokens -- (\S+)/.exec(run)?.[1];
          const acceptsTwo = /\$\? -eq 2|\$\? == 2|-ne 2/.test(run);
          if (acceptsTwo) {
            accepting++;
            assert.ok(command === "plan" || command === "drift", `${name} job ${jobName}: only plan and drift exit 2 (changes/drift); "${run}" would pass on anything else`);
            assert.match(run, /^npm run --silent entra-tokens -- (plan|drift)\b[^|;&]*\|\| \[ \$\? -eq 2 \]$/, `${name} job ${jobName}: exit 2, and only 2, of that one command`);
          } else if (command === "plan" || command === "drift") {
            assert.fail(`${name} job ${jobName}: ${command} exits 2 for changes/drift, a normal outcome: add || [ $? -eq 2 ]`);
          }
        }
      }
    }
    assert.equal(accepting, 2, "the plan and drift steps");
  });

  it("give secrets and write access only where needed; forks get validation only", () => {
    const byName = Object.fromEntries(workflows.map((w) => [w.name, w.workflow]));
    const pr = byName["pr.yml"]!;
    const validate = JSON.stringify(pr.jobs["validate"]);
    assert.doesNotMatch(validate, /secrets\.|vars\.AZURE/, "validation runs for forks: no secrets");
    assert.match(pr.jobs["plan"]?.if ?? "", /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/, "no plan (and no secrets) for forks");
    const can = (workflow: Workflow, job: Job, scope: string) => (job.permissions ?? workflow.permissions ?? {})[scope] === "write";
    for (const { name, workflow } of workflows) {
      for (const job of Object.values(workflow.jobs)) {
        const runs = job.steps.map((s) => s.run ?? "").join("\n");
        if (runs.includes("--github-comment")) assert.ok(can(workflow, job, "pull-requests"), `${name}: the plan comment needs pull-requests: write`);
        if (runs.includes("--github-issue")) assert.ok(can(workflow, job, "issues"), `${name}: the drift issue needs issues: write`);
        if (/vars\.AZURE_CLIENT_ID/.test(JSON.stringify(job))) assert.ok(can(workflow, job, "id-token"), `${name}: OIDC to Entra needs id-token: write`);
        for (const step of job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"))) {
          // One stack per tenant from the matrix; a new tenant's stack is created (upsert), the one-tenant layout's is "production".
          const stack = String(step.with?.["stack-name"]).replace(/^\$\{\{ matrix\.stack \}\}$/, "production");
          if (stack !== step.with?.["stack-name"]) assert.equal(step.with?.["upsert"], true, `${name}: a tenant's first deploy creates its stack`);
          const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { stackConfigDir?: string };
          const config = join(project.stackConfigDir ?? ".", `Pulumi.${stack}.yaml`);
          assert.ok(existsSync(join(ROOT, config)), `${name}: stack ${stack} has no ${config}`);
        }
      }
    }
  });
});
