import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resourceUnitQuota, WRITE_QUOTA } from "../emulator/quotas.js";
import { LATENCY, runOnce } from "./graph.js";
import { benchTenant, type Scenario } from "./tenant.js";

// Under the emulator's graph-limits profile (Graph's documented identity and access quotas,
// emulator/quotas.ts): the seconds a run takes against the floor those quotas set, and the 429s met.

const n = (value: number) => Math.round(value).toLocaleString("en");

/**
 * The least time the quotas allow for these requests: each bucket starts full and refills at its
 * quota per window (writes: 3,000 per 150 s per app; resource units: by tenant size per 10 s).
 */
function floorSeconds(writes: number, units: number, users: number): number {
  const writeFloor = Math.max(0, writes - WRITE_QUOTA.perApp) / (WRITE_QUOTA.perApp / WRITE_QUOTA.perAppWindowSeconds);
  const quota = resourceUnitQuota(users);
  const unitFloor = Math.max(0, units - quota) / (quota / 10);
  return Math.max(writeFloor, unitFloor);
}

export async function benchGraphLimits(sizes: readonly number[], scenarios: readonly Scenario[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "entra-bench-limits-"));
  try {
    for (const count of sizes) {
      for (const scenario of scenarios) {
        const { work } = benchTenant(count, scenario);
        const run = await runOnce(dir, count, scenario, LATENCY, false, "graph-limits");
        // Units here count each request as 1 (most cost 1; GET /users 2, $select −1): the floor is approximate.
        const floor = floorSeconds(run.writes, run.units - run.throttled, work.tenantUsers);
        console.log(
          `graph-limits ${scenario}, ${n(count)} tokens, ${n(work.tenantUsers)} users: ${run.seconds.toFixed(1)} s against a quota floor of ≈${floor.toFixed(1)} s ` +
            `(${n(run.writes)} writes, ${n(run.units)} units), ${n(run.throttled)} × 429 (${((100 * run.throttled) / Math.max(1, run.units)).toFixed(2)}% of requests)${run.failed ? "  FAILED" : ""}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
