import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { ADMIN_APP, clientEnv, startHttpsEmulator } from "./support/emulator.js";
import { workspace } from "./support/workspace.js";

// Issue 24's daily-use conventions: a JSON error document when --format json fails early.

const dir = mkdtempSync(join(tmpdir(), "entra-daily-"));
const missing = join(dir, "missing.yaml");

/** stdout as the one JSON document it must be. */
function jsonOf(stdout: string): { formatVersion: number; error: { code: string; message: string; fix?: string; diagnostics?: { code: string }[] } } {
  return JSON.parse(stdout);
}

describe("--format json when the command fails before it has a result", function () {
  this.timeout(60_000);

  it("plan, apply, drift, list and seeds list print a JSON error document for a missing tokens.yaml, exit 1", async () => {
    for (const args of [["plan"], ["apply", "--yes"], ["drift"], ["list"], ["seeds", "list"]]) {
      const r = await runCli([...args, "-f", missing, "--format", "json"]);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      const body = jsonOf(r.stdout);
      assert.equal(body.formatVersion, 1);
      assert.equal(body.error.code, "invalid-desired-state", args.join(" "));
      assert.match(body.error.message, /missing\.yaml is invalid/);
      assert.match(body.error.fix ?? "", /entra-tokens validate/);
      assert.equal(body.error.diagnostics?.[0]?.code, "file-unreadable");
      assert.match(r.stderr, /cannot read/, "the human lines stay on stderr");
    }
  });

  it("a usage error and a refused sign-in are JSON too, and the secret is not in it", async () => {
    const usage = await runCli(["plan", "--format", "json", "--bogus"]);
    assert.equal(usage.code, 1);
    assert.equal(jsonOf(usage.stdout).error.code, "usage");
    assert.match(jsonOf(usage.stdout).error.message, /unknown option '--bogus'/);

    const emulator: GraphEmulator = await startHttpsEmulator();
    try {
      const { file } = workspace(1, () => "state: available");
      const wrongSecret = "wrong-secret-value-000";
      const r = await runCli(["plan", "-f", file, "--format", "json"], { ...clientEnv(emulator), AZURE_CLIENT_SECRET: wrongSecret });
      assert.equal(r.code, 1, r.stderr);
      const body = jsonOf(r.stdout);
      assert.equal(body.error.code, "authentication");
      assert.ok(!r.stdout.includes(wrongSecret) && !r.stderr.includes(wrongSecret), "no secret in the output");
      assert.ok(!r.stdout.includes(ADMIN_APP.clientSecret));
    } finally {
      await emulator.stop();
    }
  });
});
