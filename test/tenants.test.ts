import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { overallExit, tenantEnv } from "../provider/reconcile/fleet.js";
import { tokenTenantId } from "../provider/reconcile/tenant.js";
import { runCli } from "./support/cli.js";
import { ADMIN_APP, clientEnv, startHttpsEmulator, TENANT, tokenFor } from "./support/emulator.js";

// Two tenants in one repository, each its own emulator process-alike (its own tenant id, port and
// token endpoint), as two Entra directories are.
const OTHER_TENANT = "22222222-3333-4444-8555-666666666666";
/** The CLI runs in the repository's folder: the CA file is named absolutely. */
const CA = { NODE_EXTRA_CA_CERTS: resolve(process.env["NODE_EXTRA_CA_CERTS"] ?? "") };

function tenantsRepo(tenants: Record<string, { id: string; tokens: string[] }>): string {
  const root = mkdtempSync(join(tmpdir(), "entra-tenants-"));
  for (const [name, { id, tokens }] of Object.entries(tenants)) {
    mkdirSync(join(root, "tenants", name), { recursive: true });
    const lines = ["version: 1", `tenant: { id: ${id}, name: ${name} }`, "defaults: { manufacturer: Token2, model: C202 }", "seeds: [{ file: seeds.csv, allowPlaintext: true }]", "tokens:", ...tokens.map((serial) => `  - { serial: "${serial}", state: available }`)];
    writeFileSync(join(root, "tenants", name, "tokens.yaml"), `${lines.join("\n")}\n`);
    const csv = ["upn,serial number,secret key,time interval,manufacturer,model", ...tokens.map((serial) => `,${serial},JBSWY3DPEHPK3PXP,30,Token2,C202`)];
    writeFileSync(join(root, "tenants", name, "seeds.csv"), `${csv.join("\n")}\n`);
  }
  return root;
}

/** One tenant's settings under its TENANT_<NAME>_ prefix. */
function prefixed(name: string, env: Record<string, string>): Record<string, string> {
  const prefix = `TENANT_${name.toUpperCase()}_`;
  return Object.fromEntries(Object.entries(env).filter(([key]) => key !== "NODE_EXTRA_CA_CERTS").map(([key, value]) => [`${prefix}${key}`, value]));
}

describe("many tenants in one repository", function () {
  this.timeout(60_000);
  let contoso: GraphEmulator;
  let fabrikam: GraphEmulator;
  beforeEach(async () => {
    contoso = await startHttpsEmulator();
    fabrikam = await startHttpsEmulator({ tenantId: OTHER_TENANT });
  });
  afterEach(async () => {
    await contoso.stop();
    await fabrikam.stop();
  });

  const fabrikamEnv = () => ({ ...clientEnv(fabrikam), AZURE_TENANT_ID: OTHER_TENANT, ...CA });
  const bothEnv = () => ({ ...CA, ...prefixed("contoso", clientEnv(contoso)), ...prefixed("fabrikam", fabrikamEnv()) });
  /** `<command> --all-tenants` over contoso (C1) and fabrikam (F1) while fabrikam's Graph is down. */
  const withFabrikamDown = async (command: string) => {
    const root = tenantsRepo({ contoso: { id: TENANT, tokens: ["C1"] }, fabrikam: { id: OTHER_TENANT, tokens: ["F1"] } });
    const env = bothEnv();
    await fabrikam.stop();
    const run = await runCli([command, "--all-tenants"], env, undefined, root);
    fabrikam = await startHttpsEmulator({ tenantId: OTHER_TENANT }); // afterEach stops it
    return run;
  };

  it("plan --all-tenants shows both tenants by name, each with its own credentials and Graph", async () => {
    const root = tenantsRepo({ contoso: { id: TENANT, tokens: ["C1", "C2"] }, fabrikam: { id: OTHER_TENANT, tokens: ["F1"] } });
    const run = await runCli(["plan", "--all-tenants"], { ...bothEnv() }, undefined, root);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stdout, /== tenant contoso \(tenants\/contoso\/tokens\.yaml\): changes, exit 2 ==\nTenant: contoso \(11111111-2222-4333-8444-555555555555\)\nPlan: 2 to create/);
    assert.match(run.stdout, /== tenant fabrikam .*: changes, exit 2 ==\nTenant: fabrikam \(22222222-3333-4444-8555-666666666666\)\nPlan: 1 to create/);
    assert.match(run.stdout, /plan over 2 tenants \(exit 2\):\n {2}contoso {3}changes {5}exit 2\n {2}fabrikam {2}changes {5}exit 2/);
    assert.equal(contoso.requests.filter((r) => r.route === "token").length, 1);
    assert.equal(fabrikam.requests.filter((r) => r.route === "token").length, 1);
    for (const secret of [ADMIN_APP.clientSecret]) assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret));
  });

  it("one tenant's Graph down leaves the other's plan intact, and the exit code says an error happened", async () => {
    const run = await withFabrikamDown("plan");
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /== tenant contoso .*: changes, exit 2 ==\nTenant: contoso .*\nPlan: 1 to create/);
    assert.match(run.stdout, /== tenant fabrikam .*: error, exit 1 ==/);
    assert.match(run.stdout, / {2}contoso {3}changes {5}exit 2\n {2}fabrikam {2}error {7}exit 1/);
    assert.match(run.stderr, /\[fabrikam\] error: /);
  });

  it("a tokens.yaml declaring one tenant refuses the credentials of another, before any Graph read", async () => {
    const root = tenantsRepo({ contoso: { id: TENANT, tokens: ["C1"] } });
    // The contoso file, fabrikam's credentials and Graph.
    const run = await runCli(["plan", "--tenant", "contoso"], fabrikamEnv(), undefined, root);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /tenants\/contoso\/tokens\.yaml is for tenant contoso \(11111111-2222-4333-8444-555555555555\), but the credentials sign in to tenant 22222222-3333-4444-8555-666666666666; nothing was sent to Entra\. Fix: use that tenant's credentials/);
    // Only the sign-in (discovery, token): no Graph request.
    assert.deepEqual(fabrikam.requests.filter((r) => r.route !== "token" && r.route !== "identity").map((r) => r.route), []);
    for (const command of ["apply", "drift"]) {
      const other = await runCli([command, "--tenant", "contoso", "--yes"].slice(0, command === "apply" ? 4 : 3), fabrikamEnv(), undefined, root);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /but the credentials sign in to tenant 22222222/);
    }
    assert.equal(fabrikam.tenant.allDevices().length, 0);
  });

  it("list, show and report over all tenants: one table with a tenant column, each tenant where it knows the token, one report each", async () => {
    const root = tenantsRepo({ contoso: { id: TENANT, tokens: ["C1", "C2"] }, fabrikam: { id: OTHER_TENANT, tokens: ["F1"] } });
    const env = bothEnv();
    assert.equal((await runCli(["apply", "--all-tenants", "--yes"], env, undefined, root)).code, 0);
    const csv = await runCli(["list", "--all-tenants", "--format", "csv"], env, undefined, root);
    assert.equal(csv.code, 0, csv.stderr);
    assert.deepEqual(csv.stdout.split("\r\n").filter(Boolean).map((line) => line.split(",").slice(0, 3).join(",")), ["tenant,serial,state", "contoso,C1,available", "contoso,C2,available", "fabrikam,F1,available"]);
    assert.match(csv.stderr, /list over 2 tenants \(exit 0\):\n {2}contoso {3}2 tokens {4}exit 0\n {2}fabrikam {2}1 token {5}exit 0/);
    const json = JSON.parse((await runCli(["list", "--all-tenants", "--format", "json"], env, undefined, root)).stdout);
    assert.deepEqual(json.tenants, [{ tenant: "contoso", file: "tenants/contoso/tokens.yaml", exitCode: 0, count: 2 }, { tenant: "fabrikam", file: "tenants/fabrikam/tokens.yaml", exitCode: 0, count: 1 }]);
    assert.deepEqual(json.tokens.map((t: { tenant: string; serial: string }) => `${t.tenant}/${t.serial}`), ["contoso/C1", "contoso/C2", "fabrikam/F1"]);
    const one = await runCli(["list", "--tenant", "fabrikam"], env, undefined, root);
    assert.match(one.stdout, /^SERIAL +STATE[^\n]*\nF1 +available[^\n]*\n\n1 token\n$/);

    const show = await runCli(["show", "F1", "--all-tenants"], env, undefined, root);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^\n== tenant fabrikam \(tenants\/fabrikam\/tokens\.yaml\) ==\n\nToken F1\n {2}state +available/);
    assert.doesNotMatch(show.stdout, /contoso/);
    assert.match(show.stderr, /F1 is not in: contoso/);
    const nowhere = await runCli(["show", "NOPE-1", "--all-tenants"], env, undefined, root);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /error: no tenant knows NOPE-1 \(looked in contoso, fabrikam\)/);

    const report = await runCli(["report", "--all-tenants", "--out", "reports"], env, undefined, root);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stderr, /\[contoso\] Wrote reports\/contoso\.html \(2 tokens/);
    assert.match(readFileSync(join(root, "reports", "fabrikam.html"), "utf8"), /tokens\.yaml of tenant fabrikam \(22222222-3333-4444-8555-666666666666\)/);
    assert.doesNotMatch(readFileSync(join(root, "reports", "fabrikam.html"), "utf8"), /C1|contoso/);
    assert.equal((await runCli(["report", "--all-tenants", "--out", "reports/contoso.html"], env, undefined, root)).code, 1);
  });

  it("list --all-tenants with one tenant's Graph down lists the other and exits 1", async () => {
    const run = await withFabrikamDown("list");
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /^TENANT +SERIAL[^\n]*\ncontoso +C1 +not in tenant[^\n]*\n\n1 token\n$/);
    assert.match(run.stderr, /\[fabrikam\] error: [^\n]+\n[^]* {2}fabrikam {2}error {7}exit 1/);
  });

  it("a wrong tenant id or name in tokens.yaml is a schema error with its line", async () => {
    const root = tenantsRepo({ contoso: { id: "not-a-guid", tokens: ["C1"] } });
    const run = await runCli(["validate", "-f", join("tenants", "contoso", "tokens.yaml")], {}, undefined, root);
    assert.equal(run.code, 1);
    assert.match(run.stderr + run.stdout, /tokens\.yaml:2:\d+[^\n]*tenant\.id is not a tenant id \(a GUID\)/);
  });

  it("the access token's tid names the tenant; each tenant sees only its own variables", async () => {
    assert.equal(tokenTenantId(await tokenFor(contoso, ADMIN_APP)), TENANT);
    assert.equal(tokenTenantId("opaque"), undefined);
    const env = { PATH: "/bin", AZURE_CLIENT_ID: "plain", TENANT_CONTOSO_AZURE_CLIENT_ID: "c", TENANT_FABRIKAM_EU_AZURE_CLIENT_SECRET: "f" };
    assert.deepEqual(tenantEnv(env, "contoso"), { PATH: "/bin", AZURE_CLIENT_ID: "c" });
    assert.deepEqual(tenantEnv(env, "fabrikam-eu"), { PATH: "/bin", AZURE_CLIENT_SECRET: "f" });
    assert.equal(tenantEnv(env, "other"), env);
    assert.deepEqual([overallExit([0, 2]), overallExit([2, 1, 0]), overallExit([0, 0])], [2, 1, 0]);
  });
});

describe("the CI matrix (entra-tokens tenants)", function () {
  this.timeout(60_000);
  const git = (cwd: string, ...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8" }).trim();
  const matrix = async (cwd: string, ...args: string[]) => {
    const run = await runCli(["tenants", "--format", "json", ...args], {}, undefined, cwd);
    assert.equal(run.code, 0, run.stderr);
    return (JSON.parse(run.stdout) as { include: { tenant: string }[] }).include;
  };

  it("has one job per changed tenant, all tenants for a shared change, each with its own environments and stack", async () => {
    const root = tenantsRepo({ contoso: { id: TENANT, tokens: ["C1"] }, fabrikam: { id: OTHER_TENANT, tokens: ["F1"] } });
    git(root, "init", "-q");
    git(root, "add", ".");
    git(root, "commit", "-qm", "two tenants");
    const base = git(root, "rev-parse", "HEAD");
    assert.deepEqual(await matrix(root), [
      { tenant: "contoso", file: "tenants/contoso/tokens.yaml", readEnvironment: "entra-read-contoso", writeEnvironment: "entra-write-contoso", stack: "contoso" },
      { tenant: "fabrikam", file: "tenants/fabrikam/tokens.yaml", readEnvironment: "entra-read-fabrikam", writeEnvironment: "entra-write-fabrikam", stack: "fabrikam" },
    ]);
    writeFileSync(join(root, "tenants", "fabrikam", "tokens.yaml"), readFileSync(join(root, "tenants", "fabrikam", "tokens.yaml"), "utf8").replace("F1", "F2"));
    git(root, "commit", "-qam", "fabrikam only");
    assert.deepEqual((await matrix(root, "--changed-since", base)).map((e) => e.tenant), ["fabrikam"]);
    assert.deepEqual((await matrix(root, "--changed-since", git(root, "rev-parse", "HEAD"))).map((e) => e.tenant), [], "nothing changed: no job");
    writeFileSync(join(root, "package.json"), "{}\n");
    git(root, "add", ".");
    git(root, "commit", "-qm", "shared code");
    assert.deepEqual((await matrix(root, "--changed-since", base)).map((e) => e.tenant), ["contoso", "fabrikam"], "a shared change plans every tenant");
    assert.deepEqual((await matrix(root, "--changed-since", "0".repeat(40))).length, 2, "a new branch: every tenant");
    assert.deepEqual((await matrix(root, "--tenant", "contoso", "--changed-since", "")).map((e) => e.tenant), ["contoso"], "a run by hand for one tenant");
    // In Actions the matrix is a step output.
    const output = join(root, "github-output");
    writeFileSync(output, "");
    assert.equal((await runCli(["tenants", "--github-output", "matrix"], { GITHUB_OUTPUT: output }, undefined, root)).code, 0);
    assert.match(readFileSync(output, "utf8"), /^matrix=\{"include":\[\{"tenant":"contoso",[^\n]*"stack":"fabrikam"\}\]\}\n$/);
    const bad = await runCli(["tenants", "--changed-since", "main; rm -rf /"], {}, undefined, root);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--changed-since takes a full commit SHA/);
  });

  it("keeps the one-tenant layout's names: tokens.yaml, entra-read, entra-write, the production stack", async () => {
    const root = mkdtempSync(join(tmpdir(), "entra-one-"));
    writeFileSync(join(root, "tokens.yaml"), "version: 1\ntokens: []\n");
    assert.deepEqual(await matrix(root), [{ tenant: "default", file: "tokens.yaml", readEnvironment: "entra-read", writeEnvironment: "entra-write", stack: "production" }]);
  });
});
