import type { Diagnostic } from "../desired/diagnostics.js";
import type { Desired } from "../model/index.js";
import { seedMismatchProblem } from "../plan/seed-facts.js";
import { showEscaped } from "../safety/characters.js";
import { SeedFileError, shortSerial } from "../seeds/errors.js";
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
    // Deliveries that only need a secret come back as `unread`, and a missing file may be a
    // delivery kept out of git (a pull request does not have it): both are notes. What else is
    // thrown is a file that cannot be used at all (too large, malformed, unsafe): an error.
    if (error instanceof SeedFileError) return error.code === "seed-missing" ? { diagnostics: [], notChecked: error.message } : { diagnostics: [seedFileDiagnostic(error)] };
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

function seedFileDiagnostic(error: SeedFileError): Diagnostic {
  return {
    file: showEscaped(error.file),
    line: error.row ?? 1,
    column: 1,
    code: "seed-file",
    message: showEscaped(`${error.serial === undefined ? "" : `serial ${shortSerial(error.serial)}: `}${error.reason} [${error.code}]`),
    fix: showEscaped(error.fix),
  };
}
