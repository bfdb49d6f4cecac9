import type { DesiredToken, SeedFacts } from "../model/index.js";
import { serialKey } from "./compare.js";

// A seed file describes the physical token: where tokens.yaml disagrees on what the token computes
// codes with (interval, hash), Entra would be told the wrong thing and the fob's codes would never
// verify. Pure; shared by `validate` (as diagnostics) and the planner (as plan errors).

export interface SeedMismatch {
  field: "timeIntervalInSeconds" | "hashFunction";
  desired: string | number;
  seed: string | number;
  seedFile: string;
}

function seedMismatches(token: DesiredToken, facts: SeedFacts | undefined): SeedMismatch[] {
  if (!facts || token.state === "retired") return [];
  const mismatches: SeedMismatch[] = [];
  if (facts.timeIntervalInSeconds !== undefined && facts.timeIntervalInSeconds !== token.timeIntervalInSeconds) {
    mismatches.push({ field: "timeIntervalInSeconds", desired: token.timeIntervalInSeconds, seed: facts.timeIntervalInSeconds, seedFile: facts.file });
  }
  if (facts.hashFunction !== undefined && facts.hashFunction !== token.hashFunction) {
    mismatches.push({ field: "hashFunction", desired: token.hashFunction, seed: facts.hashFunction, seedFile: facts.file });
  }
  return mismatches;
}

/** One message naming both values and both files, and the fix. */
function describeSeedMismatch(token: DesiredToken, mismatches: readonly SeedMismatch[]): { message: string; fix: string } {
  const where = `${token.location.file}:${token.location.line}`;
  const parts = mismatches.map((m) => `${m.field} is ${JSON.stringify(m.desired)} in ${where} but ${JSON.stringify(m.seed)} in the seed file ${m.seedFile}`);
  return {
    message: `token ${JSON.stringify(token.serial)}: ${parts.join("; ")}; the seed file describes the physical token, so Entra would reject its codes`,
    fix: `set ${mismatches.map((m) => `\`${m.field}: ${m.seed}\``).join(" and ")} on this token (as \`entra-tokens add\` writes it), or check that the seed file belongs to this serial`,
  };
}

/**
 * Where tokens.yaml disagrees with what the token's seed file states (by serial in `facts`): the
 * message naming both values and both files, and the fix; undefined when they agree. The one check
 * behind validate's diagnostics, the planner's errors and the Pulumi program's refusal.
 */
export function seedMismatchProblem(token: DesiredToken, facts: ReadonlyMap<string, SeedFacts> | undefined): { message: string; fix: string } | undefined {
  const mismatches = seedMismatches(token, facts?.get(serialKey(token.serial)));
  return mismatches.length === 0 ? undefined : describeSeedMismatch(token, mismatches);
}
