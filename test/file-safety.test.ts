import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./support/cli.js";
import { workspace } from "./support/workspace.js";

// Editing commands run in checkouts of other people's branches: nothing planted there (a
// `tokens.yaml.tmp` link, a linked tokens.yaml, a FIFO, /dev/zero) may steer a write or hang a read.

const available = () => "state: available";

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
