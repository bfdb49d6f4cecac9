import { relative } from "node:path";
import type { SeedFacts } from "../model/index.js";
import type { SeedDescription } from "./model.js";
import type { SeedFactsRead } from "./read.js";

/** What the seed files state about each token to check it by (keyed by upper-case serial), for the planner and `validate`. */
export function seedFacts(seeds: Iterable<SeedDescription>, cwd: string = process.cwd()): Map<string, SeedFacts> {
  const facts = new Map<string, SeedFacts>();
  // Once per file, not per seed: a store holds thousands.
  const shown = new Map<string | undefined, string>();
  const named = (file: string | undefined): string => {
    let name = shown.get(file);
    if (name === undefined) shown.set(file, (name = file === undefined ? "a seed file" : relative(cwd, file) || file));
    return name;
  };
  for (const seed of seeds) {
    const { timeIntervalInSeconds, hashFunction } = seed;
    // tokens.yaml is checked against the interval and the hash (plan/seed-facts.ts): a seed that
    // states neither has nothing to check, and a store of thousands needs no entry per seed.
    if (timeIntervalInSeconds === undefined && hashFunction === undefined) continue;
    facts.set(seed.serial.toUpperCase(), {
      file: named(seed.file),
      ...(timeIntervalInSeconds === undefined ? {} : { timeIntervalInSeconds }),
      ...(hashFunction === undefined ? {} : { hashFunction }),
      ...(seed.manufacturer === undefined ? {} : { manufacturer: seed.manufacturer }),
      ...(seed.model === undefined ? {} : { model: seed.model }),
    });
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
