import { promises as fs } from "node:fs";
import { readEntraCsv, looksLikeEntraCsv } from "./entra-csv.js";
import { SeedFileError } from "./errors.js";
import { SeedStore } from "./model.js";

export const SEED_FORMATS = ["entra-csv"] as const;
export type SeedFormat = (typeof SEED_FORMATS)[number];

/** Seed files larger than this are refused: a real one holds a few MB at most. */
const MAX_SEED_FILE_BYTES = 50 * 1024 * 1024;

export async function readSeedFiles(files: readonly { path: string; format?: SeedFormat }[]): Promise<SeedStore> {
  const store = new SeedStore();
  for (const file of files) {
    let text: string;
    try {
      const stat = await fs.stat(file.path);
      if (stat.size > MAX_SEED_FILE_BYTES) throw new SeedFileError(file.path, `the file is ${Math.round(stat.size / 1024 / 1024)} MiB`, "check that this is the vendor's seed file");
      text = await fs.readFile(file.path, "utf8");
    } catch (error: unknown) {
      if (error instanceof SeedFileError) throw error;
      const code = error instanceof Error && "code" in error ? String(error.code) : "unreadable";
      throw new SeedFileError(file.path, `cannot read the file (${code})`, "check the path in tokens.yaml `seeds` (relative to tokens.yaml) or --seeds");
    }
    const format = file.format ?? detect(text, file.path);
    for (const seed of readSeeds(text, file.path, format)) {
      if (store.get(seed.serial)) throw new SeedFileError(file.path, "this serial already came from another seed file", "keep each token's seed in one file", undefined, seed.serial);
      store.add(seed);
    }
  }
  return store;
}

function detect(text: string, file: string): SeedFormat {
  if (looksLikeEntraCsv(text)) return "entra-csv";
  throw new SeedFileError(file, "the format is not recognised", `name it in tokens.yaml: seeds: [{ file: ..., format: ${SEED_FORMATS.join(" | ")} }]`);
}

function readSeeds(text: string, file: string, format: SeedFormat) {
  switch (format) {
    case "entra-csv":
      return readEntraCsv(text, file);
  }
}
