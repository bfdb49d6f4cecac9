import { spawn } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { GraphEmulator } from "../emulator/server.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { FakeEngine, type OperationResult } from "../test/support/pulumi-engine.js";
import { copyProject, PROJECT_ROOT } from "../test/support/pulumi-project.js";
import { testTls } from "../test/support/tls.js";

// The Pulumi path through the engine harness against the CLI on the same tenant, counted as Graph
// counts: every request inside a `$batch` is one throttle unit (docs/graph-api.md).

const APP = { clientId: "bench", clientSecret: "bench-secret-not-real", roles: ["Policy.ReadWrite.AuthenticationMethod", "UserAuthenticationMethod.ReadWrite.All", "User.Read.All"] };
const TENANT = "bench-tenant";
const CLI = join(PROJECT_ROOT, "dist", "provider", "cli", "main.js");

interface Counts {
  topLevel: number;
  units: number;
  tokenRequests: number;
}

function count(emulator: GraphEmulator): Counts {
  const graph = emulator.requests.filter((r) => r.route !== "token" && r.route !== "identity" && r.route !== "control");
  const envelopes = graph.filter((r) => !r.batched && r.path.endsWith("/$batch")).length;
  return {
    topLevel: graph.filter((r) => !r.batched).length,
    units: graph.length - envelopes,
    tokenRequests: emulator.requests.filter((r) => r.route === "token").length,
  };
}

function writeProject(dir: string, tokens: number, unmanaged: "report" | "delete", keep: number): void {
  const lines = ["version: 1", "defaults: { manufacturer: Token2, model: C202, timeIntervalInSeconds: 30, hashFunction: hmacsha1 }", `policy: { unmanaged: ${unmanaged}, maxDeletes: 5 }`, "seeds: [{ file: bench-seeds.csv, allowPlaintext: true }]", "tokens:"];
  for (let i = 0; i < keep; i++) {
    const serial = `PB${String(i).padStart(6, "0")}`;
    lines.push(i % 2 === 0 ? `  - { serial: "${serial}", state: activated, upn: user${i}@contoso.com }` : `  - { serial: "${serial}", state: available }`);
  }
  writeFileSync(join(dir, "tokens.yaml"), `${keep === 0 ? lines.join("\n").replace("tokens:", "tokens: []") : lines.join("\n")}\n`);
  const csv = ["serial number,secret key,time interval"];
  for (let i = 0; i < tokens; i++) csv.push(`PB${String(i).padStart(6, "0")},${encodeBase32(Buffer.from(`pulumi-bench-${i}`.padEnd(20, "#")))},30`);
  writeFileSync(join(dir, "bench-seeds.csv"), `${csv.join("\n")}\n`);
}

async function withEmulator<T>(tokens: number, run: (emulator: GraphEmulator, env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const emulator = await GraphEmulator.start({ tenantId: TENANT, apps: [APP], https: testTls(), faults: { latencyMs: 50 } });
  for (let i = 0; i < tokens; i += 2) emulator.tenant.addUser({ userPrincipalName: `user${i}@contoso.com` });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    AZURE_TENANT_ID: TENANT,
    AZURE_CLIENT_ID: APP.clientId,
    AZURE_CLIENT_SECRET: APP.clientSecret,
    AZURE_AUTHORITY_HOST: emulator.url,
    ENTRA_TOKENS_GRAPH_URL: emulator.graphUrl,
    NODE_EXTRA_CA_CERTS: resolve(process.env["NODE_EXTRA_CA_CERTS"] ?? ""),
    PULUMI_CONFIG_PASSPHRASE: "bench",
    NO_COLOR: "1",
  };
  try {
    return await run(emulator, env);
  } finally {
    await emulator.stop();
  }
}

function cli(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolveCode) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: "ignore" });
    child.once("exit", (code) => resolveCode(code ?? 1));
  });
}

async function measure(label: string, emulator: GraphEmulator, run: () => Promise<OperationResult | number>): Promise<Counts> {
  emulator.requests.length = 0;
  const start = performance.now();
  const result = await run();
  const seconds = (performance.now() - start) / 1000;
  const counts = count(emulator);
  const failed = typeof result === "number" ? (result === 1 ? " FAILED" : "") : result.ok ? "" : ` FAILED: ${result.errors.join("; ").slice(0, 300)}`;
  console.log(`  ${label.padEnd(38)} ${String(counts.topLevel).padStart(6)} requests ${String(counts.units).padStart(6)} units ${String(counts.tokenRequests).padStart(3)} token ${seconds.toFixed(1).padStart(6)} s${failed}`);
  return counts;
}

function benchProject(tokens: number): string {
  const dir = copyProject();
  writeProject(dir, tokens, "delete", tokens);
  writeFileSync(join(dir, "stacks", "Pulumi.bench.yaml"), 'config:\n  entra-tokens:tokensFile: tokens.yaml\n  entra-tokens:allowDeletes: "true"\n');
  return dir;
}

/**
 * A no-change preview: the harness's seconds (program, engine and provider: Check and Diff run one
 * at a time) and the provider's own CPU per resource (its process group, from /proc: start-up,
 * then Check and Diff of every token).
 */
async function noChangePreview(emulator: GraphEmulator, engine: FakeEngine, tokens: number): Promise<void> {
  let preview: OperationResult | undefined;
  await measure("pulumi preview (no change)", emulator, async () => (preview = await engine.preview()));
  if (preview?.providerCpuMs !== undefined) console.log(`  provider CPU, no-change preview: ${(preview.providerCpuMs / Math.max(1, tokens)).toFixed(2)} ms per resource (${(preview.providerCpuMs / 1000).toFixed(1)} s)`);
}

/** The large stack: up from empty, its state's size and a no-change preview. */
export async function benchPulumiLarge(tokens: number): Promise<void> {
  console.log(`pulumi at ${tokens} tokens (half activated), 50 ms Graph latency, --parallel 100:`);
  await withEmulator(tokens, async (emulator, env) => {
    const dir = benchProject(tokens);
    const stateFile = join(dir, "state.json");
    const engine = new FakeEngine({ cwd: dir, stack: "bench", stateFile, env, parallel: 100 });
    await measure("pulumi up (from empty, --parallel 100)", emulator, () => engine.up());
    console.log(`  state: ${(statSync(stateFile).size / Math.max(1, tokens) / 1024).toFixed(1)} KB per token (${(statSync(stateFile).size / 1024 / 1024).toFixed(1)} MB)`);
    await noChangePreview(emulator, engine, tokens);
  });
}

/** Up from empty, no-change up, refresh, destroy at `tokens` tokens, Pulumi (documented --parallel) beside the CLI. */
export async function benchPulumi(tokens: number, parallel: number): Promise<void> {
  console.log(`pulumi vs CLI, ${tokens} tokens (half activated), 50 ms Graph latency; units count requests inside $batch:`);
  const pulumi = await withEmulator(tokens, async (emulator, env) => {
    const dir = benchProject(tokens);
    const stateFile = join(dir, "state.json");
    const engine = new FakeEngine({ cwd: dir, stack: "bench", stateFile, env, parallel });
    const up = await measure(`pulumi up (from empty, --parallel ${parallel})`, emulator, () => engine.up());
    console.log(`  state: ${(statSync(stateFile).size / Math.max(1, tokens) / 1024).toFixed(1)} KB per token (${(statSync(stateFile).size / 1024 / 1024).toFixed(1)} MB)`);
    await measure("pulumi up (no change)", emulator, () => engine.up());
    await noChangePreview(emulator, engine, tokens);
    const refresh = await measure("pulumi refresh", emulator, () => engine.refresh());
    const destroy = await measure("pulumi destroy (policy delete)", emulator, () => engine.destroy());
    return { up, refresh, destroy };
  });
  // The CLI's default parallelism (PULUMI_PARALLEL or 4 × CPUs), which the provider takes as the engine's.
  const byDefault = await withEmulator(tokens, async (emulator, env) => {
    const dir = benchProject(tokens);
    const engine = new FakeEngine({ cwd: dir, stack: "bench", stateFile: join(dir, "state.json"), env });
    const up = await measure(`pulumi up (from empty, default ${engine.parallel})`, emulator, () => engine.up());
    const refresh = await measure(`pulumi refresh (default ${engine.parallel})`, emulator, () => engine.refresh());
    return { up, refresh };
  });
  // Graph unreachable (a closed port): how long until the run fails, before any resource.
  // The emulator still signs the credential in; only Graph's URL points at nothing.
  await withEmulator(0, async (_emulator, env) => {
    const closed = await GraphEmulator.start({ tenantId: TENANT, apps: [APP], https: testTls() });
    const graphUrl = closed.graphUrl;
    await closed.stop();
    const dir = benchProject(tokens);
    const engine = new FakeEngine({ cwd: dir, stack: "bench", stateFile: join(dir, "state.json"), env: { ...env, ENTRA_TOKENS_GRAPH_URL: graphUrl } });
    const start = performance.now();
    const result = await engine.up();
    console.log(`  pulumi up, Graph unreachable: ${result.ok ? "did not fail?" : "failed"} after ${((performance.now() - start) / 1000).toFixed(1)} s`);
  });
  const ours = await withEmulator(tokens, async (emulator, env) => {
    const dir = copyProject();
    writeProject(dir, tokens, "delete", tokens);
    const up = await measure("entra-tokens apply (from empty)", emulator, () => cli(["apply", "--yes", "--file", "tokens.yaml"], env, dir));
    const refresh = await measure("entra-tokens plan (no change)", emulator, () => cli(["plan", "--file", "tokens.yaml"], env, dir));
    writeProject(dir, tokens, "delete", 0);
    const destroy = await measure("entra-tokens apply (delete all)", emulator, () => cli(["apply", "--yes", "--allow-deletes", "--file", "tokens.yaml"], env, dir));
    return { up, refresh, destroy };
  });
  const ratio = (a: Counts, b: Counts) => (a.units / Math.max(1, b.units)).toFixed(2);
  console.log(`  pulumi ÷ CLI, throttle units: up ${ratio(pulumi.up, ours.up)}×, refresh vs plan ${ratio(pulumi.refresh, ours.refresh)}×, destroy ${ratio(pulumi.destroy, ours.destroy)}×`);
  console.log(`  at the default parallelism: up ${ratio(byDefault.up, ours.up)}×, refresh vs plan ${ratio(byDefault.refresh, ours.refresh)}×`);
}
