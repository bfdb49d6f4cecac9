import { performance } from "node:perf_hooks";
import { parseDesired } from "../provider/desired/load.js";
import type { LiveToken, LiveUser } from "../provider/model/index.js";
import { plan } from "../provider/plan/plan.js";
import { syntheticTokensYaml } from "./validate.js";

/** plan() alone on 100,000 tokens against a half-converged tenant. */
export function benchPlan(count: number): void {
  const parsed = parseDesired(syntheticTokensYaml(count), "tokens.yaml");
  if (!parsed.ok) throw new Error("synthetic file invalid");
  const users = new Map<string, LiveUser | null>();
  const devices: LiveToken[] = [];
  for (const [i, token] of parsed.desired.tokens.entries()) {
    if (token.upn) {
      const user: LiveUser = { id: `id-${i}`, userPrincipalName: token.upn, userType: "Member", accountEnabled: true };
      users.set(token.upn, user);
      users.set(user.id, user);
    }
    if (i % 2 === 0) devices.push({ id: `dev-${i}`, serial: token.serial, status: "available", manufacturer: "Token2", model: "C202", timeIntervalInSeconds: 30, hashFunction: "hmacsha1" });
  }
  const seeds = new Set(parsed.desired.tokens.map((t) => t.serial));
  const start = performance.now();
  const p = plan(parsed.desired, { devices, directory: { users } }, { seeds });
  console.log(`plan: ${count} tokens → ${p.steps.length} steps in ${((performance.now() - start) / 1000).toFixed(2)} s`);
}
