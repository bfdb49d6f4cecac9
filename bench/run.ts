// `npm run bench`: prints figures, never pass/fail.
import { benchConverge, benchPlan } from "./converge.js";
import { benchEmulatorListing } from "./emulator.js";
import { benchPulumi } from "./pulumi.js";
import { benchStartup } from "./startup.js";
import { benchValidate } from "./validate.js";

async function main(): Promise<void> {
  benchStartup();
  await benchValidate(10_000);
  await benchEmulatorListing(10_000);
  const tokens = Number(process.env["BENCH_TOKENS"] ?? 10_000);
  // The naive path costs ~2 requests per token; BENCH_NAIVE_TOKENS can sample it and scale the count.
  await benchConverge(tokens, Number(process.env["BENCH_NAIVE_TOKENS"] ?? tokens));
  // The Pulumi path through the engine harness at the documented --parallel, beside the CLI.
  await benchPulumi(Number(process.env["BENCH_PULUMI_TOKENS"] ?? 2_000), 100);
  // Last: its garbage would inflate the converge runs' peak RSS.
  benchPlan(100_000);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
