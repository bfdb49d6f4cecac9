import type { SeedFileRef, SourceLocation } from "../model/index.js";
import type { Diagnostic } from "./diagnostics.js";

// Seeds are kept encrypted at rest (docs/cli.md, "Seed files"). An entry that names nothing to open it
// with is a file anyone with the repository can read: refused unless the entry says it is meant so.

/** What, in an entry, makes its file encrypted: each is needed to open such a file. */
const ENCRYPTED_BY: readonly Exclude<keyof SeedFileRef, "path">[] = ["passphraseEnv", "preSharedKeyEnv", "zipPasswordEnv", "pgpKeyFile", "pgpPasswordEnv"];

export function plaintextSeeds(entries: readonly (Omit<SeedFileRef, "path"> & { file: string })[], locate: (index: number) => SourceLocation): Diagnostic[] {
  return entries.flatMap((entry, index): Diagnostic[] => {
    if (entry.allowPlaintext === true || ENCRYPTED_BY.some((field) => entry[field] !== undefined)) return [];
    return [
      {
        ...locate(index),
        code: "plaintext-seeds",
        message: `seed file ${JSON.stringify(entry.file)} is not encrypted at rest: nothing in its entry (passphraseEnv, preSharedKeyEnv, zipPasswordEnv, pgpKeyFile, pgpPasswordEnv) opens it, so its seeds are in clear in the repository`,
        value: entry.file,
        fix: `turn it into an encrypted store: npx entra-tokens seeds import ${entry.file} --out seeds/<name>.pskc, name that file here with passphraseEnv, and delete the clear one (and purge it from git history); or, for made-up test seeds only, add \`allowPlaintext: true\` to this entry`,
      },
    ];
  });
}
