import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { GraphEmulator } from "../emulator/server.js";
import { applyPlan } from "../provider/apply/apply.js";
import { loadDesired, parseDesired } from "../provider/desired/load.js";
import { GraphClient } from "../provider/graph/client.js";
import { credentialFromEnv } from "../provider/graph/credentials.js";
import { readLive } from "../provider/graph/live.js";
import { TokenRepository } from "../provider/graph/repository.js";
import type { LiveToken, LiveUser } from "../provider/model/index.js";
import { plan } from "../provider/plan/plan.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { readSeedFiles } from "../provider/seeds/read.js";
import { testTls } from "../test/support/tls.js";
import { syntheticTokensYaml } from "./validate.js";

const APP = { clientId: "bench", clientSecret: "bench-secret-not-real", roles: ["Policy.ReadWrite.AuthenticationMethod", "UserAuthenticationMethod.ReadWrite.All", "User.Read.All"] };
const TENANT = "bench-tenant";

interface Figures {
  requests: number;
  seconds: number;
  peakRssMb: number;
  failed: number;
}

/** Converges `count` tokens from an empty tenant through the same path as `entra-tokens apply`. */
async function convergeOnce(count: number, batching: boolean, concurrency: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), "entra-bench-converge-"));
  const tokensFile = join(dir, "tokens.yaml");
  writeFileSync(tokensFile, syntheticTokensYaml(count).replace("tokens:\n", "seeds: [{ file: seeds.csv, allowPlaintext: true }]\ntokens:\n"));
  const csv = ["serial number,secret key,time interval"];
  for (let i = 0; i < count; i++) csv.push(`SN${String(i).padStart(7, "0")},${encodeBase32(Buffer.from(`bench-seed-${i}`.padEnd(20, "#")))},30`);
  writeFileSync(join(dir, "seeds.csv"), `${csv.join("\n")}\n`);

  const emulator = await GraphEmulator.start({
    tenantId: TENANT,
    apps: [APP],
    https: testTls(),
    // Simulated Graph: 50 ms per request and a per-tenant token bucket.
    faults: { latencyMs: 50, throttle: { capacity: 400, refillPerSecond: 200 } },
  });
  for (let i = 0; i < count; i++) if (i % 5 !== 0) emulator.tenant.addUser({ userPrincipalName: `user${i}@contoso.com` });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    const { credential } = credentialFromEnv({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP.clientId, AZURE_CLIENT_SECRET: APP.clientSecret, AZURE_AUTHORITY_HOST: emulator.url });
    // This process trusts the test CA through NODE_EXTRA_CA_CERTS (see the bench script in package.json).
    const repository = new TokenRepository(new GraphClient({ credential, graphUrl: emulator.graphUrl }), { batching, concurrency });
    const start = performance.now();
    const loaded = await loadDesired(tokensFile);
    if (!loaded.ok) throw new Error("bench tokens.yaml invalid");
    const seeds = await readSeedFiles(loaded.desired.seedFiles);
    const p = plan(loaded.desired, await readLive(repository, loaded.desired), { seeds: seeds.serials() });
    const report = await applyPlan(p, repository, { seeds });
    const seconds = (performance.now() - start) / 1000;
    return { requests: emulator.requests.filter((r) => !r.batched && r.route !== "token" && r.route !== "identity").length, seconds, peakRssMb: peak / 1024 / 1024, failed: report.failed + report.skipped };
  } finally {
    clearInterval(sampler);
    await emulator.stop();
  }
}

export async function benchConverge(count: number, naiveCount: number): Promise<void> {
  const concurrency = 8;
  const ours = await convergeOnce(count, true, concurrency);
  console.log(`converge ${count} tokens (batched): ${ours.requests} Graph requests, ${ours.seconds.toFixed(1)} s, peak RSS ${ours.peakRssMb.toFixed(0)} MB, ${ours.failed} failed`);
  const naive = await convergeOnce(naiveCount, false, concurrency);
  const scale = count / naiveCount;
  console.log(
    `converge ${naiveCount} tokens (naive, one request per operation): ${naive.requests} Graph requests, ${naive.seconds.toFixed(1)} s, peak RSS ${naive.peakRssMb.toFixed(0)} MB, ${naive.failed} failed` +
      (scale === 1 ? "" : ` (≈ ${Math.round(naive.requests * scale)} requests for ${count})`),
  );
  console.log(`requests, naive ÷ batched: ${((naive.requests * scale) / ours.requests).toFixed(1)}×`);
}

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
