import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, runCli } from "./support/cli.js";
import { workspace } from "./support/workspace.js";

// Editing commands run in checkouts of other people's branches: nothing planted there (a
// `tokens.yaml.tmp` link, a linked tokens.yaml, a FIFO, /dev/zero) may steer a write or hang a read.

const available = () => "state: available";
const PEAK_RSS = join(__dirname, "support", "peak-rss.js");

describe("file safety of the editing commands", function () {
  this.timeout(60_000);

  it("a planted tokens.yaml.tmp symlink is not written through", async () => {
    const { file } = workspace(3, available);
    const dir = join(file, "..");
    const victim = join(mkdtempSync(join(tmpdir(), "victim-")), "victim.txt");
    writeFileSync(victim, "precious\n");
    symlinkSync(victim, `${file}.tmp`);
    const r = await runCli(["retire", "T1", "--file", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(victim, "utf8"), "precious\n", "the link's target is untouched");
    assert.ok(lstatSync(file).isFile() && !lstatSync(file).isSymbolicLink(), "tokens.yaml is still a regular file");
    assert.match(readFileSync(file, "utf8"), /serial: "T1", state: retired/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith(".tmp") || f.endsWith(".lock")), ["tokens.yaml.tmp"], "no temporary file or lock left behind");
  });

  it("a symlinked tokens.yaml is refused, for validate and for edits", async () => {
    const { file } = workspace(2, available);
    const link = join(file, "..", "linked.yaml");
    symlinkSync(file, link);
    const before = readFileSync(file, "utf8");
    for (const args of [["validate", "-f", link], ["retire", "T1", "--file", link]]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(`${r.stdout}${r.stderr}`, /symbolic link/);
    }
    assert.equal(readFileSync(file, "utf8"), before);
  });

  it("FIFOs and /dev/zero as tokens.yaml or a users file are refused at once", async () => {
    const { file } = workspace(2, available);
    const fifo = join(file, "..", "pipe");
    execFileSync("mkfifo", [fifo]);
    const cases = [["retire", "T1", "--file", fifo], ["retire", "T1", "--file", "/dev/zero"], ["assign", "--users", fifo, "--file", file], ["assign", "--users", "/dev/zero", "--file", file]];
    for (const args of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /not a regular file|named pipe|a device/, args.join(" "));
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  });

  it("a FIFO or /dev/zero as AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_CERTIFICATE_PATH is refused at once, naming the variable", async () => {
    const { file } = workspace(1, available);
    const fifo = join(file, "..", "pipe");
    execFileSync("mkfifo", [fifo]);
    // Nothing listens on these: the file is refused before any connection is tried.
    const signIn = { AZURE_TENANT_ID: "contoso.onmicrosoft.com", AZURE_CLIENT_ID: "app", AZURE_AUTHORITY_HOST: "https://127.0.0.1:9", ENTRA_TOKENS_GRAPH_URL: "https://127.0.0.1:9/beta" };
    for (const variable of ["AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_CERTIFICATE_PATH"]) {
      for (const path of [fifo, "/dev/zero"]) {
        const r = await runCli(["plan", "--file", file], { ...signIn, [variable]: path });
        assert.equal(r.code, 1, `${variable}=${path}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`${path.replace(/[/.]/g, "\\$&")} \\(${variable}\\) is (a named pipe \\(FIFO\\)|a device), not a regular file; nothing was read from it`), `${variable}=${path}`);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        assert.doesNotMatch(r.stderr, /Entra did not issue/, "no sign-in was tried: the file is the problem, not Entra");
      }
    }
  });

  it("FIFOs, /dev/zero and a 40 MB users file are refused with the process's peak memory under 200 MB", async () => {
    const { file } = workspace(2, available);
    const dir = join(file, "..");
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const users = join(dir, "users.txt");
    writeFileSync(users, Array.from({ length: 1_000_000 }, (_, i) => `user${String(i).padStart(7, "0")}@contoso.com`.padEnd(39, "x")).join("\n"));
    const signIn = { AZURE_TENANT_ID: "contoso.onmicrosoft.com", AZURE_CLIENT_ID: "app", AZURE_AUTHORITY_HOST: "https://127.0.0.1:9", ENTRA_TOKENS_GRAPH_URL: "https://127.0.0.1:9/beta" };
    const cases: { args: string[]; env?: Record<string, string> }[] = [
      { args: ["validate", "-f", "/dev/zero"] },
      { args: ["plan", "-f", "/dev/zero"] },
      { args: ["retire", "T1", "--file", "/dev/zero"] },
      { args: ["assign", "--users", "/dev/zero", "--file", file] },
      { args: ["assign", "--users", fifo, "--file", file] },
      { args: ["assign", "--users", users, "--file", file] },
      { args: ["plan", "--file", file], env: { ...signIn, AZURE_FEDERATED_TOKEN_FILE: "/dev/zero" } },
      { args: ["plan", "--file", file], env: { ...signIn, AZURE_CLIENT_CERTIFICATE_PATH: fifo } },
    ];
    const figures: string[] = [];
    for (const { args, env } of cases) {
      const peakFile = join(dir, "peak-rss");
      const child = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const run = spawn(process.execPath, ["--require", PEAK_RSS, CLI, ...args], { env: { PATH: process.env["PATH"], NO_COLOR: "1", ENTRA_TOKENS_TEST_PEAK_RSS_FILE: peakFile, ...env }, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        for (const stream of [run.stdout, run.stderr]) stream.on("data", (chunk: Buffer) => (output += chunk.toString()));
        run.on("close", (code) => resolve({ code, output }));
      });
      const label = `${args.join(" ")}${env?.["AZURE_FEDERATED_TOKEN_FILE"] ? " with AZURE_FEDERATED_TOKEN_FILE=/dev/zero" : env ? " with AZURE_CLIENT_CERTIFICATE_PATH=<fifo>" : ""}`;
      assert.equal(child.code, 1, `${label}: ${child.output}`);
      assert.match(child.output, /not a regular file|larger than|above the/, label);
      const peakMiB = Number(readFileSync(peakFile, "utf8"));
      assert.ok(peakMiB > 0 && peakMiB < 200, `${label}: peak RSS ${peakMiB.toFixed(0)} MiB`);
      figures.push(`${peakMiB.toFixed(0)} MiB  ${label.split(dir).join("<dir>")}`);
    }
    // The figures, for the record (a bound, not a benchmark).
    process.stdout.write(`      peak RSS:\n${figures.map((f) => `        ${f}`).join("\n")}\n`);
  });

  it("two concurrent edits both land, or one fails clearly", async () => {
    for (let round = 0; round < 4; round++) {
      const { file } = workspace(4, available);
      const [a, b] = await Promise.all([runCli(["retire", "T1", "--file", file]), runCli(["retire", "T3", "--file", file])]);
      const text = readFileSync(file, "utf8");
      for (const [r, serial] of [[a, "T1"], [b, "T3"]] as const) {
        if (r.code === 0) assert.match(text, new RegExp(`serial: "${serial}", state: retired`), `${serial}: exit 0 but its edit is missing`);
        else assert.match(r.stderr, /another entra-tokens edit|changed while this command ran/);
      }
    }
  });

  it("a serial given twice is retired once", async () => {
    const { file } = workspace(2, available);
    assert.equal((await runCli(["retire", "T1", "T1", "--file", file])).code, 0);
    assert.equal(readFileSync(file, "utf8").match(/# retired/g)?.length, 1);
  });
});

// A branch may plant links and `../` paths; what a tokens file names must stay in its repository
// (the git top-level above it, else its own folder: docs/security.md).
describe("files outside the repository", function () {
  this.timeout(60_000);

  const SEED_CSV = "upn,serial number,secret key,time interval,manufacturer,model\n,T1,JBSWY3DPEHPK3PXP,30,Token2,C202\n";
  const tokensNaming = (seedPath: string) =>
    `version: 1\ndefaults: { manufacturer: Token2, model: C202 }\nseeds: [{ file: "${seedPath}", allowPlaintext: true }]\ntokens:\n  - { serial: "T1", state: available }\n`;

  /** A git repository and a folder beside it (outside it), both fresh. */
  function repositoryAndOutside(): { repo: string; outside: string } {
    const base = mkdtempSync(join(tmpdir(), "entra-repo-"));
    const repo = join(base, "repo");
    const outside = join(base, "outside");
    mkdirSync(outside);
    execFileSync("git", ["init", "-q", repo]);
    return { repo, outside };
  }

  it("a seed path leading out with ../ is refused, and allowed only by the explicit opt-in", async () => {
    const { repo, outside } = repositoryAndOutside();
    mkdirSync(join(repo, "tenants", "contoso"), { recursive: true });
    writeFileSync(join(outside, "seeds.csv"), SEED_CSV);
    const etc = join(repo, "tenants", "contoso", "etc.yaml");
    writeFileSync(etc, tokensNaming("../../../../../../../../../../etc/passwd"));
    const beside = join(repo, "tenants", "contoso", "tokens.yaml");
    writeFileSync(beside, tokensNaming("../../../outside/seeds.csv"));
    for (const args of [["validate", "-f", etc], ["validate", "-f", beside], ["plan", "-f", beside], ["seeds", "export", "-f", beside, "--out", "-"]]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(`${r.stdout}${r.stderr}`, /\[outside-repository\] the seed file \.\.\/.* resolves to .*, outside the repository .*repo; it was not read\n\s+fix: .*ENTRA_TOKENS_ALLOW_SEEDS_OUTSIDE_REPO=true/, args.join(" "));
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /root:|\n\s+at /, "nothing read from /etc/passwd, no stack trace");
    }
    const allowed = await runCli(["validate", "-f", beside], { ENTRA_TOKENS_ALLOW_SEEDS_OUTSIDE_REPO: "true" });
    assert.equal(allowed.code, 0, allowed.stdout);
    const typo = await runCli(["validate", "-f", beside], { ENTRA_TOKENS_ALLOW_SEEDS_OUTSIDE_REPO: "yes" });
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /ENTRA_TOKENS_ALLOW_SEEDS_OUTSIDE_REPO is "yes", which is neither true nor false/);
  });

  it("a tokens folder linked out of the repository is refused for reading and editing; a link inside it is fine", async () => {
    const { repo } = repositoryAndOutside();
    const { file: elsewhere } = workspace(2, available);
    mkdirSync(join(repo, "tenants"));
    symlinkSync(join(elsewhere, ".."), join(repo, "tenants", "contoso"), "dir");
    const linked = join(repo, "tenants", "contoso", "tokens.yaml");
    const before = readFileSync(elsewhere, "utf8");
    for (const args of [["validate", "-f", linked], ["retire", "T1", "--file", linked], ["plan", "-f", linked]]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(`${r.stdout}${r.stderr}`, /resolves to .*entra-reconcile-.*tokens\.yaml, outside the repository .*repo/, args.join(" "));
    }
    assert.equal(readFileSync(elsewhere, "utf8"), before, "the file outside is untouched");
    // The same files copied into the repository, reached through a link that stays inside it.
    mkdirSync(join(repo, "real"));
    for (const name of ["tokens.yaml", "seeds.csv"]) writeFileSync(join(repo, "real", name), readFileSync(join(elsewhere, "..", name)));
    symlinkSync(join(repo, "real"), join(repo, "tenants", "fabrikam"), "dir");
    const inside = await runCli(["validate", "-f", join(repo, "tenants", "fabrikam", "tokens.yaml")]);
    assert.equal(inside.code, 0, inside.stdout);
  });
});
