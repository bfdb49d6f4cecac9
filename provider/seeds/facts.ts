import { relative } from "node:path";
import type { SeedFacts } from "../model/index.js";
import type { SeedDescription } from "./model.js";

/** What the seed files state about each token (keyed by upper-case serial), for the planner and `validate`. */
export function seedFacts(seeds: Iterable<SeedDescription>, cwd: string = process.cwd()): Map<string, SeedFacts> {
  const facts = new Map<string, SeedFacts>();
  for (const seed of seeds) {
    facts.set(seed.serial.toUpperCase(), {
      file: seed.file === undefined ? "a seed file" : relative(cwd, seed.file) || seed.file,
      ...(seed.timeIntervalInSeconds === undefined ? {} : { timeIntervalInSeconds: seed.timeIntervalInSeconds }),
      ...(seed.hashFunction === undefined ? {} : { hashFunction: seed.hashFunction }),
      ...(seed.manufacturer === undefined ? {} : { manufacturer: seed.manufacturer }),
      ...(seed.model === undefined ? {} : { model: seed.model }),
    });
  }
  return facts;
}
