import type { Diagnostic } from "../desired/diagnostics.js";
import type { Desired } from "../model/index.js";
import { seedMismatchProblem } from "../plan/seed-facts.js";
import { SeedFileError } from "../seeds/errors.js";
import { seedFacts } from "../seeds/facts.js";
import { readSeedFacts } from "../seeds/read.js";

/**
 * `validate` checks tokens.yaml against what its seed files state in clear, opening no secret (a
 * pull request has none); a delivery that cannot be read without one is named as not checked.
 */
export async function seedAttributeDiagnostics(desired: Desired): Promise<{ diagnostics: Diagnostic[]; notChecked?: string }> {
  if (desired.seedFiles.length === 0) return { diagnostics: [] };
  let read;
  try {
    read = await readSeedFacts(desired.seedFiles);
  } catch (error: unknown) {
    if (error instanceof SeedFileError) return { diagnostics: [], notChecked: error.message };
    throw error;
  }
  const facts = seedFacts(read.descriptions);
  const diagnostics: Diagnostic[] = [];
  // No seed states an interval or a hash (a plain vendor CSV): nothing to check a token against.
  if (facts.size > 0) {
    for (const token of desired.tokens) {
      const mismatch = seedMismatchProblem(token, facts);
      if (mismatch) diagnostics.push({ ...token.location, code: "seed-mismatch", ...mismatch });
    }
  }
  const notChecked = read.unread.length === 0 ? undefined : `${read.unread.map((u) => u.reason).join("; ")} (import the delivery with \`entra-tokens seeds import\` so its facts can be read without a secret)`;
  return notChecked === undefined ? { diagnostics } : { diagnostics, notChecked };
}
