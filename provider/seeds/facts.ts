import { relative } from "node:path";
import type { SeedFacts } from "../model/index.js";
import type { SeedDescription } from "./model.js";
import type { SeedFactsRead } from "./read.js";

/** What the seed files state about each token to check it by (keyed by upper-case serial), for the planner and `validate`. */
export function seedFacts(seeds: Iterable<SeedDescription>, cwd: string = process.cwd()): Map<string, SeedFacts> {
  const facts = new Map<string, SeedFacts>();
  // Once per file, not per seed: a store holds thousands, which come file by file.
  const shown = new Map<string | undefined, string>();
  let lastFile: string | undefined;
  let lastName = "";
  const named = (file: string | undefined): string => {
    if (file === lastFile && lastName !== "") return lastName;
    let name = shown.get(file);
    if (name === undefined) shown.set(file, (name = file === undefined ? "a seed file" : relative(cwd, file) || file));
    lastFile = file;
    lastName = name;
    return name;
  };
  for (const seed of seeds) {
    const { timeIntervalInSeconds, hashFunction, manufacturer, model } = seed;
    // tokens.yaml is checked against the interval and the hash (plan/seed-facts.ts): a seed that
    // states neither has nothing to check, and a store of thousands needs no entry per seed.
    if (timeIntervalInSeconds === undefined && hashFunction === undefined) continue;
    const file = named(seed.file);
    facts.set(
      seed.serial.toUpperCase(),
      // A vendor CSV states the interval alone: one literal shape for it, no spread per seed.
      hashFunction === undefined && manufacturer === undefined && model === undefined && timeIntervalInSeconds !== undefined
        ? { file, timeIntervalInSeconds }
        : {
            file,
            ...(timeIntervalInSeconds === undefined ? {} : { timeIntervalInSeconds }),
            ...(hashFunction === undefined ? {} : { hashFunction }),
            ...(manufacturer === undefined ? {} : { manufacturer }),
            ...(model === undefined ? {} : { model }),
          },
    );
  }
  return facts;
}

/** The planner's seed options (PlanOptions), from what was read of the seed files. */
export interface PlannerSeeds {
  seeds: ReadonlySet<string>;
  seedFacts: ReadonlyMap<string, SeedFacts>;
  unreadSeedFiles: readonly string[];
}

/** One way, for every front, from seed files read (in clear, or opened) to what the planner checks. */
export function plannerSeeds(read: SeedFactsRead, cwd?: string): PlannerSeeds {
  return {
    seeds: new Set(read.descriptions.map((d) => d.serial)),
    seedFacts: seedFacts(read.descriptions, cwd),
    unreadSeedFiles: read.unread.map((u) => u.file),
  };
}
