import assert from "node:assert/strict";
import { join } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { runCli } from "./support/cli.js";
import { clientEnv, READER_APP, startHttpsEmulator } from "./support/emulator.js";

// A pull request's plan job holds no secret (pr.yml): plan must still show every step.
const DEMO_TOKENS = join(__dirname, "..", "..", "tokens.yaml");
const DEMO_SEED_PASSPHRASE = "entra-tokens demo passphrase (public, demo only)";

describe("plan without the seed passphrase (as in a pull request)", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  before(async () => {
    emulator = await startHttpsEmulator();
  });
  after(() => emulator.stop());

  it("exits 2 with the same creates and activations as with it, read-only credentials", async () => {
    const env = clientEnv(emulator, READER_APP);
    const steps = (stdout: string) => stdout.split("\n").filter((line) => /^\s+[+*~-] (create|activate|assign|update)/.test(line));
    const without = await runCli(["plan", "--file", DEMO_TOKENS], env);
    assert.equal(without.code, 2, without.stderr);
    // Nothing was skipped: the store's facts are in clear, so the passphrase is not even mentioned.
    assert.doesNotMatch(without.stderr, /ENTRA_TOKENS_SEED_PASSPHRASE|not opened|skip/);
    const withSecret = await runCli(["plan", "--file", DEMO_TOKENS], { ...env, ENTRA_TOKENS_SEED_PASSPHRASE: DEMO_SEED_PASSPHRASE });
    assert.equal(withSecret.code, 2, withSecret.stderr);
    assert.ok(steps(without.stdout).some((line) => line.includes("create")) && steps(without.stdout).some((line) => line.includes("activate")));
    assert.deepEqual(steps(without.stdout), steps(withSecret.stdout));
  });

  it("apply still refuses to run without it", async () => {
    const applied = await runCli(["apply", "--yes", "--file", DEMO_TOKENS], clientEnv(emulator));
    assert.equal(applied.code, 1);
    assert.match(applied.stderr, /ENTRA_TOKENS_SEED_PASSPHRASE.*not set/);
    assert.equal(emulator.tenant.allDevices().length, 0);
  });
});
