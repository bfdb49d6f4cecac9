import { writeFileSync } from "node:fs";

// Preloaded into a measured process (node --require): at exit, writes its peak RSS (kB) to
// BENCH_RSS_FILE and the CPU it used (user + system, µs) to BENCH_CPU_FILE.
const rssTarget = process.env["BENCH_RSS_FILE"];
const cpuTarget = process.env["BENCH_CPU_FILE"];
process.on("exit", () => {
  const usage = process.resourceUsage();
  if (rssTarget) writeFileSync(rssTarget, String(usage.maxRSS));
  if (cpuTarget) writeFileSync(cpuTarget, String(usage.userCPUTime + usage.systemCPUTime));
});
