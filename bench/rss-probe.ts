import { writeFileSync } from "node:fs";

// Preloaded into a measured process (node --require): writes its peak RSS (kB) to BENCH_RSS_FILE at exit.
const target = process.env["BENCH_RSS_FILE"];
if (target) process.on("exit", () => writeFileSync(target, String(process.resourceUsage().maxRSS)));
