import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resourceUnitQuota, WRITE_QUOTA } from "../emulator/quotas.js";
import { LATENCY, runOnce, type Figures } from "./graph.js";
import { benchTenant, type Scenario } from "./tenant.js";

// Under the emulator's graph-limits profile (Graph's documented identity and access quotas,
// emulator/quotas.ts): the seconds a run takes against the floor those quotas set, and the 429s met.

const n = (value: number) => Math.round(value).toLocaleString("en");

/**
 * The least time the quotas allow, each bucket starting full and refilling at its quota per window.
 * Writes: 3,000 per 150 s per app and 18,000 per 300 s per tenant. Resource units (as the emulator
 * charged them, its `x-ms-resource-unit`): by tenant size per 10 s. A converge reads every method
 * it checks before its first write (the five-method limit is refused before anything changes), so
 * the honest floor puts the reads' own floor before the writes'.
 */
function floors(run: Figures, users: number): { writes: number; reads: number } {
  const beyond = (spent: number, capacity: number, windowSeconds: number) => Math.max(0, spent - capacity) / (capacity / windowSeconds);
  const writes = Math.max(beyond(run.writes, WRITE_QUOTA.perApp, WRITE_QUOTA.perAppWindowSeconds), beyond(run.writes, WRITE_QUOTA.perTenant, WRITE_QUOTA.perTenantWindowSeconds));
  return { writes, reads: beyond(run.unitsBeforeFirstWrite, resourceUnitQuota(users), 10) };
}

export async function benchGraphLimits(sizes: readonly number[], scenarios: readonly Scenario[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "entra-bench-limits-"));
  try {
    for (const count of sizes) {
      for (const scenario of scenarios) {
        const { work } = benchTenant(count, scenario);
        const run = await runOnce(dir, count, scenario, LATENCY, false, "graph-limits");
        const floor = floors(run, work.tenantUsers);
        const sequenced = floor.reads + floor.writes;
        const ratio = (of: number) => (of > 0 ? ` (${(run.seconds / of).toFixed(2)}×)` : "");
        console.log(
          `graph-limits ${scenario}, ${n(count)} tokens, ${n(work.tenantUsers)} users: ${run.seconds.toFixed(1)} s; floor of the write quota ≈${floor.writes.toFixed(1)} s${ratio(floor.writes)}, ` +
            `with the reads before the first write ≈${sequenced.toFixed(1)} s${ratio(sequenced)}; ${n(run.writes)} writes, ${n(run.units)} requests, ${n(run.resourceUnits)} resource units ` +
            `(${n(run.unitsBeforeFirstWrite)} before the first write); ${n(run.throttled)} × 429 (${((100 * run.throttled) / Math.max(1, run.units)).toFixed(2)}% of requests; ` +
            `${n(run.throttled - run.throttledWrites)} reads, ${n(run.throttledWrites)} writes)${run.failed ? "  FAILED" : ""}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
