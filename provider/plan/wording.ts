// Words shared by every report: counts that agree with their noun, and "did you mean" for a name
// that is almost one we know (a typo'd UPN or serial).

/** `1 token`, `2 tokens`. */
export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Edit distance, case-insensitive (names and serials are compared without case in Entra). */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1)));
    previous = current;
  }
  return previous[y.length]!;
}

/**
 * The known name closest to `wanted`, when it is close enough to be a typo: at most a third of its
 * characters differ (and at most 3). Bounded work: names far longer or shorter are skipped unscored.
 */
export function closest(wanted: string, known: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.floor(wanted.length / 3));
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    if (Math.abs(name.length - wanted.length) > limit || name.toLowerCase() === wanted.toLowerCase()) continue;
    const d = distance(wanted, name);
    if (d <= limit && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/** What `drift --github-issue` did, in words that never call notices drift. */
export function driftIssueLine(result: { action: "opened" | "updated" | "closed" | "none"; url?: string }, notices: number): string {
  const at = result.url ? ` ${result.url}` : "";
  const kept = notices > 0 ? `; ${count(notices, "notice", "notices")} reported, not drift` : "";
  if (result.action === "closed") return `Drift issue: closed${at} (the tenant matches tokens.yaml again${kept})`;
  if (result.action === "none") return `Drift issue: none open, none needed (no drift${kept})`;
  return `Drift issue: ${result.action}${at}`;
}
