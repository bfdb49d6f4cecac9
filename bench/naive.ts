import { applyPlan } from "../provider/apply/apply.js";
import { loadDesired } from "../provider/desired/load.js";
import { GraphClient } from "../provider/graph/client.js";
import { credentialFromEnv } from "../provider/graph/credentials.js";
import { readLive } from "../provider/graph/live.js";
import { TokenRepository } from "../provider/graph/repository.js";
import { classifyDrift } from "../provider/plan/drift.js";
import { plan } from "../provider/plan/plan.js";
import { readSeedFiles } from "../provider/seeds/read.js";

// The naive baseline, in its own process like the CLI: the same planner and apply, but one
// request per operation (no $batch, no bulk create, no `in` filters). argv: plan|apply|drift FILE CONCURRENCY

async function main(): Promise<void> {
  const [command = "plan", file = "tokens.yaml", concurrency = "8"] = process.argv.slice(2);
  const loaded = await loadDesired(file);
  if (!loaded.ok) throw new Error(`${file} is invalid`);
  const { credential } = credentialFromEnv();
  const repository = new TokenRepository(new GraphClient({ credential, graphUrl: process.env["ENTRA_TOKENS_GRAPH_URL"] ?? "" }), { batching: false, concurrency: Number(concurrency) });
  const live = await readLive(repository, loaded.desired);
  if (command === "drift") {
    classifyDrift(loaded.desired, live);
    return;
  }
  const seeds = await readSeedFiles(loaded.desired.seedFiles);
  const p = plan(loaded.desired, live, { seeds: seeds.serials() });
  if (command === "apply") await applyPlan(p, repository, { seeds });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
