import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { BENCH_APP, BENCH_TENANT, benchTenant, minimumUnits, type Scenario } from "./tenant.js";

// Graph cost as Graph counts it (../shared/graph-api.md): a throttle unit is one request Graph
// executes, each one inside a $batch included, the $batch envelope itself not (the same
// definition as the Pulumi section). The emulator runs in its own process; the CLI (or the naive
// baseline) in another.

const DIST = join(__dirname, "..");
const PROBE = join(DIST, "bench", "rss-probe.js");
const CLI = join(DIST, "provider", "cli", "main.js");
const NAIVE = join(DIST, "bench", "naive.js");
const CONCURRENCY = process.env["BENCH_CONCURRENCY"] ?? "8";
/** Simulated Graph: 50 ms per request; with throttling, a tenant bucket of 400 refilled at 200 a second. */
export const LATENCY = { latencyMs: 50 };
const THROTTLED = { latencyMs: 50, throttle: { capacity: 400, refillPerSecond: 200 } };
const COMMAND: Record<Scenario, string[]> = { converge: ["apply", "--yes"], "no-op plan": ["plan"], drift: ["drift"], "1% change": ["apply", "--yes"] };
const NAIVE_COMMAND: Record<Scenario, string> = { converge: "apply", "no-op plan": "plan", drift: "drift", "1% change": "apply" };

/** The one throttle unit of every section of the bench (../shared/graph-api.md, "Cross-cutting"). */
export const THROTTLE_UNIT = "a throttle unit is one request Graph executes: each request inside a $batch counts, the $batch envelope itself does not (../shared/graph-api.md)";

/** Which route to users the client took, seen in what it asked: `in` filters go in $batch, listing pages (and the $count) do not. */
export type UsersRoute = "listing" | "filters" | "none";

export interface Figures {
  units: number;
  /** Units spent reading users' method lists (issue 20's shared five-method limit and portal tokens; drift's last use). */
  methodReads: number;
  route: UsersRoute;
  /** Writes Graph accepted (POST, PATCH, PUT, DELETE, each inside a $batch counted, not throttled). */
  writes: number;
  topLevel: number;
  tokenRequests: number;
  throttled: number;
  /** Of those 429s, the ones met by writes (the write quota) rather than reads (the resource-unit quota). */
  throttledWrites: number;
  /** Resource units Graph charged (under a quota profile), in all and before the run's first write. */
  resourceUnits: number;
  unitsBeforeFirstWrite: number;
  seconds: number;
  rssMb: number;
  failed: boolean;
}

async function startEmulator(snapshotFile: string, throttle?: "graph-limits"): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [join(DIST, "bench", "emulator-process.js"), snapshotFile, ...(throttle ? [throttle] : [])], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the bench emulator exited (${code})`)));
  });
  const parsed: unknown = JSON.parse(line);
  const url = typeof parsed === "object" && parsed !== null && "url" in parsed && typeof parsed.url === "string" ? parsed.url : "";
  return { url, stop: () => child.kill("SIGTERM") };
}

export async function runOnce(dir: string, count: number, scenario: Scenario, faults: object, naive: boolean, throttle?: "graph-limits"): Promise<Figures> {
  const tenant = benchTenant(count, scenario);
  const file = join(dir, "tokens.yaml");
  writeFileSync(file, tenant.yaml);
  writeFileSync(join(dir, "seeds.csv"), tenant.seedsCsv);
  writeFileSync(join(dir, "tenant.json"), JSON.stringify(tenant.snapshot));
  const emulator = await startEmulator(join(dir, "tenant.json"), throttle);
  try {
    await fetch(`${emulator.url}/_emulator/faults`, { method: "PUT", body: JSON.stringify(faults) });
    const rssFile = join(dir, "rss");
    rmSync(rssFile, { force: true });
    const args = naive ? [NAIVE, NAIVE_COMMAND[scenario], file, CONCURRENCY] : [CLI, ...COMMAND[scenario], "--file", file, "--concurrency", CONCURRENCY];
    const env = {
      ...process.env,
      ENTRA_TOKENS_AUTH: "client-secret",
      AZURE_TENANT_ID: BENCH_TENANT,
      AZURE_CLIENT_ID: BENCH_APP.clientId,
      AZURE_CLIENT_SECRET: BENCH_APP.clientSecret,
      AZURE_AUTHORITY_HOST: emulator.url,
      ENTRA_TOKENS_GRAPH_URL: `${emulator.url}/beta`,
      CI: "true",
      BENCH_RSS_FILE: rssFile,
    };
    const start = performance.now();
    const child = spawn(process.execPath, ["--require", PROBE, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const code = await new Promise<number>((resolve) => child.once("exit", (c) => resolve(c ?? 1)));
    const seconds = (performance.now() - start) / 1000;
    // plan exits 2 and drift 2 when they find changes; only 1 is a failure.
    if (code === 1) console.error(`  (${naive ? "naive" : "entra-tokens"} ${scenario} ${count} exited 1: ${stderr.trim().split("\n").slice(-3).join(" | ")})`);
    const log: unknown = await (await fetch(`${emulator.url}/_emulator/requests`)).json();
    const requests = typeof log === "object" && log !== null && "requests" in log && Array.isArray(log.requests) ? (log.requests as { route: string; method: string; status: number; batched: boolean; resourceUnits?: number }[]) : [];
    const graph = requests.filter((r) => r.route !== "token" && r.route !== "identity" && r.route !== "control");
    const users = graph.filter((r) => r.route === "listUsers");
    const charged = (list: typeof graph) => list.reduce((sum, r) => sum + (r.resourceUnits ?? 0), 0);
    const firstWrite = graph.findIndex((r) => r.route !== "batch" && r.method !== "GET" && r.status !== 429);
    return {
      units: graph.filter((r) => r.route !== "batch").length,
      methodReads: graph.filter((r) => r.route === "listMethods" || r.route === "listAllMethods").length,
      route: users.some((r) => r.batched) ? "filters" : users.length > 0 ? "listing" : "none",
      writes: graph.filter((r) => r.route !== "batch" && r.method !== "GET" && r.status !== 429).length,
      topLevel: graph.filter((r) => !r.batched).length,
      tokenRequests: requests.filter((r) => r.route === "token").length,
      throttled: graph.filter((r) => r.status === 429).length,
      throttledWrites: graph.filter((r) => r.status === 429 && r.method !== "GET").length,
      resourceUnits: charged(graph),
      unitsBeforeFirstWrite: charged(firstWrite < 0 ? graph : graph.slice(0, firstWrite)),
      seconds,
      rssMb: Number(readFileSync(rssFile, "utf8")) / 1024,
      failed: code === 1,
    };
  } finally {
    emulator.stop();
  }
}

const n = (value: number) => Math.round(value).toLocaleString("en");

/**
 * The minimum leaves out the per-user method reads (issue 20 owns them; no cheaper way to the shared
 * limit is known), so each ratio is given without them, against the minimum of the route taken and
 * of the cheapest route.
 */
function ratios(figures: Figures, minimum: Minimum, scale: number): string {
  const approx = scale === 1 ? "" : "≈";
  const without = (figures.units - figures.methodReads) * scale;
  const taken = figures.route === "none" ? "" : `${(without / minimum[figures.route]).toFixed(2)}× the min of the route taken (${figures.route}), `;
  const reads = figures.methodReads === 0 ? "" : `; ${approx}${n(without)} without the ${approx}${n(figures.methodReads * scale)} method reads`;
  return `${reads} (${taken}${(without / minimum.cheapest).toFixed(2)}× the cheapest route's min)`;
}

type Minimum = { listing: number; filters: number; cheapest: number };

function line(label: string, free: Figures, throttled: Figures | undefined, minimum: Minimum, scale = 1): string {
  const approx = scale === 1 ? "" : "≈";
  return (
    `  ${label.padEnd(12)} ${approx}${n(free.units * scale).padStart(7)} units${ratios(free, minimum, scale)}, ` +
    `${approx}${n(free.topLevel * scale)} requests, ${free.tokenRequests} token; ` +
    `${approx}${(free.seconds * scale).toFixed(1)} s` +
    (throttled ? `; throttled: ${approx}${(throttled.seconds * scale).toFixed(1)} s, ${approx}${n(throttled.units * scale)} units (${approx}${n(throttled.throttled * scale)} × 429, +${((100 * (throttled.units - free.units)) / Math.max(1, free.units)).toFixed(1)}% requests)` : "") +
    (scale === 1 ? `, peak RSS ${free.rssMb.toFixed(0)} MB` : "") +
    (free.failed || throttled?.failed ? "  FAILED" : "")
  );
}

/**
 * Each scenario at each size: ours (the CLI) and the naive baseline, without and with a throttling
 * bucket. Naive runs at sizes above `naiveMax` are scaled up from the `naiveMax` run.
 */
export async function benchGraph(sizes: readonly number[], scenarios: readonly Scenario[], naiveMax: number, withThrottle = true): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "entra-bench-graph-"));
  const naiveSample = new Map<Scenario, { count: number; free: Figures; throttled: Figures | undefined }>();
  try {
    for (const count of sizes) {
      for (const scenario of scenarios) {
        const { work } = benchTenant(count, scenario);
        const minimum = minimumUnits(work);
        const { filters, listing } = minimum;
        console.log(
          `${scenario}, ${n(count)} tokens, ${n(work.tenantUsers)} users — minimum ${n(listing)} throttle units listing users, ${n(filters)} by in-filters ` +
            `(pages of 999, in-filters of 15, bulk creates of 100, 1 per activation; $batch envelopes not counted):`,
        );
        const free = await runOnce(dir, count, scenario, LATENCY, false);
        const throttled = withThrottle ? await runOnce(dir, count, scenario, THROTTLED, false) : undefined;
        console.log(line("entra-tokens", free, throttled, minimum));
        if (count <= naiveMax) {
          const naive = { count, free: await runOnce(dir, count, scenario, LATENCY, true), throttled: withThrottle ? await runOnce(dir, count, scenario, THROTTLED, true) : undefined };
          naiveSample.set(scenario, naive);
          console.log(line("naive", naive.free, naive.throttled, minimum));
        } else {
          const sample = naiveSample.get(scenario);
          if (sample) console.log(`${line("naive", sample.free, sample.throttled, minimum, count / sample.count)}  (scaled from ${n(sample.count)})`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
