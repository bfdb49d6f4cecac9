import * as pulumi from "@pulumi/pulumi";
import { formatDiagnostic } from "../provider/desired/diagnostics.js";
import { loadDesired } from "../provider/desired/load.js";
import { HardwareOathToken } from "../provider/pulumi/provider.js";
import { readSeedFiles } from "../provider/seeds/read.js";

// The Pulumi program: tokens.yaml, validated exactly as `entra-tokens validate` does, becomes one
// HardwareOathToken per serial. Seeds come from the seed files tokens.yaml names, as secrets.

export = async () => {
  const config = new pulumi.Config("entra-tokens");
  const file = config.get("tokensFile") ?? "tokens.yaml";
  const loaded = await loadDesired(file);
  if (!loaded.ok) {
    throw new Error(`${file} is invalid; nothing was changed:\n${loaded.diagnostics.map(formatDiagnostic).join("\n")}`);
  }
  const desired = loaded.desired;
  const seeds = await readSeedFiles(desired.seedFiles);
  const tokens = desired.tokens.map((token) => {
    const seed = seeds.get(token.serial);
    return new HardwareOathToken(token.serial, {
      serial: token.serial,
      state: token.state,
      ...(token.upn === undefined ? {} : { upn: token.upn }),
      ...(token.displayName === undefined ? {} : { displayName: token.displayName }),
      manufacturer: token.manufacturer,
      model: token.model,
      timeIntervalInSeconds: token.timeIntervalInSeconds,
      hashFunction: token.hashFunction,
      ...(seed === undefined ? {} : { secretKey: pulumi.secret(seed.secret.reveal()) }),
    });
  });
  return {
    tokens: tokens.length,
    deviceIds: Object.fromEntries(tokens.map((t, i) => [desired.tokens[i]!.serial, t.deviceId])),
  };
};
