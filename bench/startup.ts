import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

// Start-up of the CLI as a user meets it: a fresh `node` process per run, wall-clock from spawn to
// exit (node's own start included, shown alone for scale). Figures only, never pass/fail.

const ROOT = join(__dirname, "..", "..");
const CLI = join(ROOT, "dist", "provider", "cli", "main.js");

function timeRuns(argv: readonly string[], runs: number): { median: number; best: number } {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const start = performance.now();
    const result = spawnSync(process.execPath, argv, { cwd: ROOT, stdio: "ignore", env: { PATH: process.env["PATH"] } });
    const elapsed = performance.now() - start;
    if (result.status !== 0) throw new Error(`node ${argv.join(" ")} exited ${result.status}`);
    if (i > 0) times.push(elapsed); // the first run warms the file cache
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)] ?? NaN, best: times[0] ?? NaN };
}

export function benchStartup(runs = 15): void {
  for (const [label, argv] of [
    ["node -e 0 (node alone)", ["-e", "0"]],
    ["entra-tokens --version", [CLI, "--version"]],
    ["entra-tokens validate (the example tokens.yaml)", [CLI, "validate"]],
  ] as const) {
    const { median, best } = timeRuns(argv, runs);
    console.log(`start-up: ${label.padEnd(48)} median ${(median / 1000).toFixed(3)} s, best ${(best / 1000).toFixed(3)} s over ${runs} runs`);
  }
}

if (require.main === module) benchStartup(Number(process.env["BENCH_STARTUP_RUNS"] ?? 15));
