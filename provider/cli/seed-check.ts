import type { Diagnostic } from "../desired/diagnostics.js";
import type { Desired } from "../model/index.js";
import { describeSeedMismatch, seedMismatches } from "../plan/seed-facts.js";
import { SeedFileError } from "../seeds/errors.js";
import { seedFacts } from "../seeds/facts.js";
import { readSeedFiles } from "../seeds/read.js";

/**
 * `validate` checks tokens.yaml against what its seed files state, when they can be opened here
 * (a fork's pull request has no passphrases: then it says so and checks the rest).
 */
export async function seedAttributeDiagnostics(desired: Desired): Promise<{ diagnostics: Diagnostic[]; notChecked?: string }> {
  if (desired.seedFiles.length === 0) return { diagnostics: [] };
  let facts;
  try {
    facts = seedFacts(await readSeedFiles(desired.seedFiles));
  } catch (error: unknown) {
    if (error instanceof SeedFileError) return { diagnostics: [], notChecked: error.message };
    throw error;
  }
  const diagnostics: Diagnostic[] = [];
  for (const token of desired.tokens) {
    const mismatches = seedMismatches(token, facts.get(token.serial.toUpperCase()));
    if (mismatches.length === 0) continue;
    const { message, fix } = describeSeedMismatch(token, mismatches);
    diagnostics.push({ ...token.location, code: "seed-mismatch", message, fix });
  }
  return { diagnostics };
}
