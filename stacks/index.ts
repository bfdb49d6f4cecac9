import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { formatDiagnostic } from "../provider/desired/diagnostics.js";
import { ALLOW_SEEDS_OUTSIDE_REPO_ENV, loadDesired } from "../provider/desired/load.js";
import { booleanSetting } from "../provider/safety/settings.js";
import { checkTenant, previewText } from "../provider/pulumi/preflight.js";
import { asProgramFailure, keepFailuresFast, programFailure } from "../provider/pulumi/program-errors.js";
import { projectRoot } from "../provider/pulumi/project-root.js";
import { HardwareOathToken, TokenInventory } from "../provider/pulumi/provider.js";
import { parseSecretKeys, requireSecretSettings, seedEnvironment, stackSettings } from "../provider/pulumi/stack-settings.js";
import { seedMismatchProblem } from "../provider/plan/seed-facts.js";
import { plannerSeeds } from "../provider/seeds/facts.js";
import type { SeedDescription, SeedStore } from "../provider/seeds/model.js";
import { readSeedFacts, readSeedFiles } from "../provider/seeds/read.js";

// The Pulumi program: tokens.yaml, validated exactly as `entra-tokens validate` does, becomes one
// HardwareOathToken per serial. Seeds come from the seed files tokens.yaml names, as secrets; a
// preview (a pull request's, or the first half of `pulumi up`) opens none, like `entra-tokens plan`.


// A failed registration's error is the SDK's own; printing its stack could take a minute (program-errors.ts).
keepFailuresFast();

export = async () => {
  try {
    return await stack();
  } catch (error: unknown) {
    throw asProgramFailure(error);
  }
};

async function stack() {
  const config = new pulumi.Config("entra-tokens");
  // Credentials and the seed passphrase: the stack's config (decrypted by the engine, handed over in
  // PULUMI_CONFIG with its secret keys in PULUMI_CONFIG_SECRET_KEYS), else the environment.
  const fullConfig = pulumi.runtime.allConfig();
  const readConfig = (key: string) => fullConfig[key];
  requireSecretSettings(readConfig, parseSecretKeys(process.env["PULUMI_CONFIG_SECRET_KEYS"]), pulumi.getStack());
  const settings = stackSettings(readConfig, process.env);
  const file = resolve(projectRoot(pulumi.runtime.getRootDirectory()), config.get("tokensFile") ?? "tokens.yaml");
  const loaded = await loadDesired(file, { allowSeedsOutsideRepository: booleanSetting(ALLOW_SEEDS_OUTSIDE_REPO_ENV, process.env[ALLOW_SEEDS_OUTSIDE_REPO_ENV], false) });
  if (!loaded.ok) {
    throw programFailure(`${file} is invalid; nothing was changed:\n${loaded.diagnostics.map(formatDiagnostic).join("\n")}`);
  }
  const desired = loaded.desired;
  const dryRun = pulumi.runtime.isDryRun();
  // A preview reads what the seed files state in clear; only the update itself opens the seeds.
  const store: SeedStore | undefined = dryRun ? undefined : await readSeedFiles(desired.seedFiles, seedEnvironment(settings, desired.seedFiles.map((ref) => ref.passphraseEnv)));
  const read = store ? { descriptions: store.all(), unread: [] } : await readSeedFacts(desired.seedFiles);
  const described = new Map<string, SeedDescription>(read.descriptions.map((d) => [d.serial.toUpperCase(), d]));
  const seeds = plannerSeeds(read, projectRoot(pulumi.runtime.getRootDirectory()));
  // The seed file describes the physical token: a disagreement would give Entra a token whose codes never verify.
  const mismatches = desired.tokens.flatMap((token) => {
    const mismatch = seedMismatchProblem(token, seeds.seedFacts);
    return mismatch ? [`${mismatch.message}\n    fix: ${mismatch.fix}`] : [];
  });
  if (mismatches.length > 0) throw programFailure(`${file} disagrees with its seed files; nothing was changed:\n${mismatches.join("\n")}`);
  // Once, before thousands of registrations: an unreachable Graph or a failed sign-in is one error now.
  const allowDeletes = booleanSetting(`${config.name}:allowDeletes`, config.get("allowDeletes"), false);
  const previewPlan = await checkTenant(desired, { dryRun, allowDeletes, seeds, settings });
  if (previewPlan) pulumi.log.info(previewText(previewPlan));
  // Registered first and waited for: its Check refuses a run that deletes more than policy.maxDeletes.
  const inventory = new TokenInventory("tokens", {
    tokens: Object.fromEntries(desired.tokens.map((t) => [t.serial, t.state])),
    unmanaged: desired.policy.unmanaged,
    maxDeletes: desired.policy.maxDeletes,
  });
  // A token removed from tokens.yaml is deleted from Entra only under `policy.unmanaged: delete`;
  // otherwise the engine releases it from the stack and leaves it in the tenant.
  const retainOnDelete = desired.policy.unmanaged !== "delete";
  const tokens = desired.tokens.map((token) => {
    const seed = store?.get(token.serial);
    const description = described.get(token.serial.toUpperCase());
    // With the seed at hand the provider computes its fingerprint: the state keeps one copy, not two.
    const fingerprint = seed ? undefined : description?.fingerprint;
    return new HardwareOathToken(
      token.serial,
      {
        serial: token.serial,
        state: token.state,
        ...(token.upn === undefined ? {} : { upn: token.upn }),
        ...(token.displayName === undefined ? {} : { displayName: token.displayName }),
        ...(token.returnedBy === undefined ? {} : { returnedBy: token.returnedBy }),
        manufacturer: token.manufacturer,
        model: token.model,
        timeIntervalInSeconds: token.timeIntervalInSeconds,
        hashFunction: token.hashFunction,
        ...(seed === undefined ? {} : { secretKey: pulumi.secret(seed.secret.reveal()) }),
        ...(fingerprint === undefined ? {} : { seedFingerprint: fingerprint }),
      },
      { retainOnDelete, dependsOn: [inventory] },
    );
  });
  return {
    tokens: tokens.length,
    deviceIds: Object.fromEntries(tokens.map((t, i) => [desired.tokens[i]!.serial, t.deviceId])),
  };
}
