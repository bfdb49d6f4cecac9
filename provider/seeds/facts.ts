import { relative } from "node:path";
import type { SeedFacts } from "../model/index.js";
import type { SeedDescription } from "./model.js";

/** What the seed files state about each token (keyed by upper-case serial), for the planner and `validate`. */
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
    facts.set(seed.serial.toUpperCase(), {
      file: named(seed.file),
      ...(seed.timeIntervalInSeconds === undefined ? {} : { timeIntervalInSeconds: seed.timeIntervalInSeconds }),
      ...(seed.hashFunction === undefined ? {} : { hashFunction: seed.hashFunction }),
      ...(seed.manufacturer === undefined ? {} : { manufacturer: seed.manufacturer }),
      ...(seed.model === undefined ? {} : { model: seed.model }),
    });
  }
  return facts;
}
