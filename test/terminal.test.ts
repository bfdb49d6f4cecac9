import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { CLI } from "./support/cli.js";
import { clientEnv, startHttpsEmulator } from "./support/emulator.js";
import { haveTmux, TmuxSession } from "./support/tmux.js";
import { workspace } from "./support/workspace.js";

const ROOT = join(__dirname, "..", "..");

describe("at a real terminal (tmux)", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  let session: TmuxSession | undefined;
  before(() => assert.ok(haveTmux(), "these tests need tmux (apt-get install tmux; .ci/run installs it)"));
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(async () => {
    session?.close();
    session = undefined;
    await emulator.stop();
  });
  const env = () => ({ ...clientEnv(emulator), NODE_EXTRA_CA_CERTS: resolve(process.env["NODE_EXTRA_CA_CERTS"] ?? "") });

  it("Ctrl-C during apply stops after the requests in flight, prints the summary so far and exits 130", async () => {
    const users = Array.from({ length: 30 }, (_, i) => `user${i}@contoso.com`);
    for (const upn of users) emulator.tenant.addUser({ userPrincipalName: upn });
    const { file } = workspace(30, (i) => `state: activated, upn: ${users[i]}`);
    emulator.setFaults({ routes: { activate: { latencyMs: 300 } } });
    session = new TmuxSession([process.execPath, CLI, "apply", "--yes", "-f", file, "--concurrency", "1"], env(), ROOT);
    await session.waitFor("a first activation", () => emulator.requests.some((r) => r.route === "activate" && r.status === 204));
    session.keys("C-c");
    const code = await session.waitForExit();
    const screen = session.screen();
    assert.equal(code, 130, `exit ${code}: ${screen.slice(-600)}`);
    assert.match(screen, /Interrupted: finishing the requests in flight/);
    const summary = /Interrupted: (\d+) succeeded, 0 failed, (\d+) not done/.exec(screen);
    assert.ok(summary, screen);
    const activated = emulator.tenant.allDevices().filter((d) => d.status === "activated").length;
    assert.ok(activated > 0 && activated < 30, `stopped mid-way (${activated} activated)`);
    assert.equal(Number(summary[1]), 30 + activated, "the summary counts what was done: 30 creates and the activations");
    assert.equal(Number(summary[2]), 30 - activated);
    assert.match(screen, /Run `entra-tokens apply` again to finish/);
    const sent = emulator.requests.length;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(emulator.requests.length, sent, "nothing is sent after the command ended");
  });

  it("asks on the terminal, not on stdout, when stdout is piped; shows the plan there first", async () => {
    const { file } = workspace(3, () => "state: available");
    const out = join(resolve(file, ".."), "apply.out");
    session = new TmuxSession(["sh", "-c", `"$0" "$@" > ${out}`, process.execPath, CLI, "apply", "-f", file], env(), ROOT);
    await session.waitFor("the question", () => session!.screen().includes('Type "yes" to go on'));
    assert.match(session.screen(), /Plan: 3 to create/, "the plan is shown on the terminal before the question");
    session.keys("yes", "Enter");
    assert.equal(await session.waitForExit(), 0, session.screen());
    const stdout = readFileSync(out, "utf8");
    assert.match(stdout, /Plan: 3 to create/);
    assert.match(stdout, /Applied: 3 succeeded, 0 failed, 0 skipped/);
    assert.doesNotMatch(stdout, /Type "yes"/, "the question is not in the piped output");
    assert.equal(emulator.tenant.allDevices().length, 3);
  });

  it("an answer other than yes applies nothing and exits 1", async () => {
    const { file } = workspace(2, () => "state: available");
    session = new TmuxSession([process.execPath, CLI, "apply", "-f", file], env(), ROOT);
    await session.waitFor("the question", () => session!.screen().includes('Type "yes" to go on'));
    session.keys("no", "Enter");
    assert.equal(await session.waitForExit(), 1);
    assert.match(session.screen(), /Not applied\./);
    assert.equal(emulator.tenant.allDevices().length, 0);
  });

  it("shows a status line while reading a slow tenant, and colours unless NO_COLOR is set to something", async () => {
    const { file } = workspace(1, () => "state: available");
    emulator.setFaults({ routes: { listDevices: { latencyMs: 2_000 } } });
    session = new TmuxSession([process.execPath, CLI, "plan", "-f", file], { ...env(), NO_COLOR: "" }, ROOT);
    await session.waitFor("the status line", () => session!.screen().includes("Reading the tenant from Graph…"));
    assert.equal(await session.waitForExit(), 2);
    const screen = session.screen(true);
    assert.doesNotMatch(session.screen(), /Reading the tenant/, "the status line is cleared before the report");
    assert.match(screen, /\x1b\[[0-9;]*m/, "an empty NO_COLOR does not turn colour off");
    session.close();
    emulator.setFaults({});
    session = new TmuxSession([process.execPath, CLI, "plan", "-f", file], { ...env(), NO_COLOR: "1" }, ROOT);
    assert.equal(await session.waitForExit(), 2);
    assert.doesNotMatch(session.screen(true).replace(/\x1b\[(?:0|39|49)?m/g, ""), /\x1b\[[0-9;]*m/);
  });
});
