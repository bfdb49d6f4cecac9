import { formatDiagnostic, githubAnnotation } from "../desired/diagnostics.js";
import { ALLOW_SEEDS_OUTSIDE_REPO_ENV, loadDesired } from "../desired/load.js";
import { booleanSetting } from "../safety/settings.js";
import { DESIRED_STATES } from "../model/index.js";
import { sarifLog } from "../desired/sarif.js";
import { PLAN_FORMAT_VERSION } from "../plan/render.js";
import { EXIT, type ValidateFormat } from "./formats.js";
import { readVersion } from "./program.js";
import { seedAttributeDiagnostics } from "./seed-check.js";

/** `entra-tokens validate`: returns the exit code (0 valid, 1 invalid). */
export async function validateCommand(file: string, options: { format: ValidateFormat }): Promise<number> {
  const loaded = await loadDesired(file, { allowSeedsOutsideRepository: booleanSetting(ALLOW_SEEDS_OUTSIDE_REPO_ENV, process.env[ALLOW_SEEDS_OUTSIDE_REPO_ENV], false) });
  // A file that loads may still contradict its seed files (interval, hash): that is invalid too.
  const seedCheck = loaded.ok ? await seedAttributeDiagnostics(loaded.desired) : { diagnostics: [] };
  if (seedCheck.notChecked !== undefined) process.stderr.write(`note: seed attributes not checked against the seed files: ${seedCheck.notChecked}\n`);
  const result = loaded.ok && seedCheck.diagnostics.length > 0 ? { ok: false as const, diagnostics: seedCheck.diagnostics } : loaded;
  if (options.format === "sarif") {
    process.stdout.write(`${JSON.stringify(sarifLog(result.ok ? [] : result.diagnostics, { version: readVersion(), root: process.cwd() }), null, 2)}\n`);
  } else if (options.format === "json") {
    const body = result.ok
      ? { formatVersion: PLAN_FORMAT_VERSION, valid: true, file, tokens: result.desired.tokens.length, byState: countByState(result.desired.tokens) }
      : { formatVersion: PLAN_FORMAT_VERSION, valid: false, file, diagnostics: result.diagnostics };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else if (result.ok) {
    const counts = countByState(result.desired.tokens);
    const detail = DESIRED_STATES.map((s) => `${counts[s]} ${s}`).join(", ");
    process.stdout.write(`${file}: valid, ${result.desired.tokens.length} tokens (${detail})\n`);
  } else {
    for (const d of result.diagnostics) process.stdout.write(`${formatDiagnostic(d)}\n`);
    const n = result.diagnostics.length;
    process.stdout.write(`${file}: ${n} error${n === 1 ? "" : "s"}; nothing was sent to Entra\n`);
  }
  // Annotations only beside text: they would break a JSON or SARIF document on stdout.
  if (!result.ok && options.format === "text" && process.env["GITHUB_ACTIONS"] === "true") {
    for (const d of result.diagnostics) process.stdout.write(`${githubAnnotation(d)}\n`);
  }
  return result.ok ? EXIT.ok : EXIT.failure;
}

function countByState(tokens: readonly { state: (typeof DESIRED_STATES)[number] }[]): Record<(typeof DESIRED_STATES)[number], number> {
  const counts = { available: 0, assigned: 0, activated: 0, retired: 0 };
  for (const t of tokens) counts[t.state]++;
  return counts;
}
