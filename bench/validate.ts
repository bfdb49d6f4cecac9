import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { encodeBase32 } from "../provider/seeds/normalize.js";

const DIST = join(__dirname, "..");
const CLI = join(DIST, "provider", "cli", "main.js");
const PROBE = join(DIST, "bench", "rss-probe.js");

/** A realistic tokens.yaml: every fifth token in the pool, the rest spread over users, ≤ 5 each. */
export function syntheticTokensYaml(count: number, seedFile?: string): string {
  const lines = ["version: 1", "defaults:", "  manufacturer: Token2", "  model: C202", ...(seedFile ? ["seeds:", `  - file: ${seedFile}`, "    allowPlaintext: true"] : []), "tokens:"];
  for (let i = 0; i < count; i++) {
    lines.push(`  - serial: "${serialOf(i)}"`);
    if (i % 5 === 0) {
      lines.push("    state: available");
    } else {
      lines.push(`    state: ${i % 2 === 0 ? "activated" : "assigned"}`, `    upn: user${i}@contoso.com`);
    }
  }
  return `${lines.join("\n")}\n`;
}

const serialOf = (i: number) => `SN${String(i).padStart(7, "0")}`;

/**
 * `entra-tokens validate` as users run it: a whole CLI process on tokens.yaml and its seed file
 * (made-up seeds in a plain CSV, whose facts validate reads), CPU and peak memory from the process.
 */
export function benchValidate(count: number, runs = 5): void {
  const dir = mkdtempSync(join(tmpdir(), "entra-bench-"));
  const file = join(dir, "tokens.yaml");
  const text = syntheticTokensYaml(count, "seeds.csv");
  writeFileSync(file, text);
  const seeds = ["serial number,secret key"];
  for (let i = 0; i < count; i++) seeds.push(`${serialOf(i)},${encodeBase32(Buffer.from(`bench-seed-${i}`.padEnd(20, "#")))}`);
  writeFileSync(join(dir, "seeds.csv"), `${seeds.join("\n")}\n`);
  const cpuFile = join(dir, "cpu");
  const rssFile = join(dir, "rss");
  const cpu: number[] = [];
  const wall: number[] = [];
  let peak = 0;
  for (let i = 0; i <= runs; i++) {
    const start = performance.now();
    const result = spawnSync(process.execPath, ["--require", PROBE, CLI, "validate", "-f", file], { stdio: "ignore", env: { PATH: process.env["PATH"], BENCH_CPU_FILE: cpuFile, BENCH_RSS_FILE: rssFile } });
    if (result.status !== 0) throw new Error(`validate of the synthetic file exited ${result.status}`);
    if (i === 0) continue; // the first run warms the file cache
    wall.push(performance.now() - start);
    cpu.push(Number(readFileSync(cpuFile, "utf8")) / 1000);
    peak = Math.max(peak, Number(readFileSync(rssFile, "utf8")) / 1024);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  console.log(
    `validate (CLI process, with its seed file): ${count} tokens, ${(text.length / 1024 / 1024).toFixed(2)} MiB — median ${median(cpu).toFixed(0)} ms CPU, ` +
      `${median(wall).toFixed(0)} ms wall, peak ${peak.toFixed(0)} MB over ${runs} runs`,
  );
}
