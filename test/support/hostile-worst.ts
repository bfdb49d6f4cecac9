import { loadDesired } from "../../provider/desired/load.js";
import type { SeedFileRef } from "../../provider/model/index.js";
import { SeedFileError } from "../../provider/seeds/errors.js";
import { readSeedFile } from "../../provider/seeds/read.js";
import { peakRssMiB } from "./peak-rss.js";

// Run by test/hostile.test.ts in a child process with a small heap: reads each worst-case input
// (prepared on disk by the parent) and prints what happened to it, then the peak memory.

export interface WorstCase {
  name: string;
  seed?: SeedFileRef;
  env?: Record<string, string>;
  tokensYaml?: string;
}

export interface WorstOutcome {
  name: string;
  /** The refusal's code, or "accepted:<count>". */
  outcome: string;
}

async function run(worstCase: WorstCase): Promise<string> {
  if (worstCase.tokensYaml !== undefined) {
    const loaded = await loadDesired(worstCase.tokensYaml);
    return loaded.ok ? `accepted:${loaded.desired.tokens.length}` : loaded.diagnostics[0]?.code ?? "none";
  }
  try {
    const seeds = await readSeedFile(worstCase.seed ?? { path: "" }, worstCase.env ?? {});
    return `accepted:${seeds.length}`;
  } catch (error: unknown) {
    if (error instanceof SeedFileError) return error.code;
    throw error;
  }
}

async function main(): Promise<void> {
  const cases = JSON.parse(process.argv[2] ?? "[]") as WorstCase[];
  const outcomes: WorstOutcome[] = [];
  for (const worstCase of cases) outcomes.push({ name: worstCase.name, outcome: await run(worstCase) });
  process.stdout.write(`${JSON.stringify({ outcomes, maxRssMiB: peakRssMiB() })}\n`);
}

void main();
