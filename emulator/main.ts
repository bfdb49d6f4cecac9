#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { DEMO_TENANT_ID, demoApp, demoUsers } from "./demo.js";
import type { FaultConfig } from "./faults.js";
import { QUOTA_PROFILES, type QuotaProfile } from "./quotas.js";
import { GraphEmulator } from "./server.js";
import { isJson } from "./tenant.js";
import { isVariantSetting, VARIANT_SETTINGS, type VariantName } from "./variants.js";

// `npm run emulator`: a standalone Graph emulator with the demo tenant, until Ctrl-C.

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number 0-65535");
  return n;
}

function seed(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number, 0 or more");
  return n;
}

function variant(value: string): VariantName | "mix" {
  if (!isVariantSetting(value)) throw new InvalidArgumentError(`must be one of ${VARIANT_SETTINGS.join(", ")}`);
  return value;
}

/** A directory id as Entra writes it: a GUID, lower case (the `tid` claim, the authority path). */
function tenantId(value: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw new InvalidArgumentError("must be a tenant id, a GUID such as 11111111-2222-4333-8444-555555555555");
  return value.toLowerCase();
}

/** What precedes each client setting in --write-env, e.g. TENANT_CONTOSO_ (docs/many-tenants.md). */
function envPrefix(value: string): string {
  if (!/^[A-Z][A-Z0-9_]*_$/.test(value)) throw new InvalidArgumentError("must be upper-case letters, digits and underscores ending in _, e.g. TENANT_CONTOSO_");
  return value;
}

function faultsFrom(path: string): FaultConfig {
  const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (!isJson(parsed)) throw new InvalidArgumentError(`${path} must hold a JSON object (see docs/graph-cost.md, "Fault injection")`);
  return parsed;
}

async function main(): Promise<void> {
  const program = new Command()
    .name("entra-tokens-emulator")
    .description("A local Microsoft Graph (beta) for hardware OATH tokens, with the demo tenant")
    .option("--port <n>", "port to listen on; 0, the default, picks a free port (printed, and in --write-env)", port, 0)
    .option("--host <address>", "loopback address to bind", "127.0.0.1")
    .option("--http", "serve plain HTTP instead of HTTPS (@azure/identity needs HTTPS)")
    .option("--state <file>", "load the tenant from this JSON file and save every change to it")
    .option("--faults <file>", "fault injection config (JSON: latencyMs, throttle, errorRate, dropRate, routes, script)")
    .option("--variant <name>", `documented response shapes to serve: ${VARIANT_SETTINGS.join(" | ")}`, variant, "canonical" as VariantName | "mix")
    .option("--variant-seed <n>", "seed of the mix variant's random choices", seed, 1)
    .addOption(new Option("--throttle <profile>", "graph-limits: enforce Graph's documented identity and access quotas (per 10 s and write quotas, Retry-After, x-ms-throttle-* headers)").choices(QUOTA_PROFILES))
    .option("--write-env <file>", "where to write the AZURE_* settings a client needs", "emulator.env")
    // Two emulators with two ids are two tenants: a `tid` each, as two Entra directories have.
    .addOption(new Option("--tenant-id <guid>", "the tenant's directory id (the tid of the tokens it issues)").argParser(tenantId).env("ENTRA_TOKENS_EMULATOR_TENANT_ID").default(DEMO_TENANT_ID))
    .option("--env-prefix <prefix>", "write the client settings as <prefix>AZURE_TENANT_ID…, one tenant's variables of many (NODE_EXTRA_CA_CERTS stays plain)", envPrefix, "")
    .parse();
  const options = program.opts<{ port: number; host: string; http?: boolean; state?: string; faults?: string; variant: VariantName | "mix"; variantSeed: number; writeEnv: string; throttle?: QuotaProfile; tenantId: string; envPrefix: string }>();
  const app = demoApp();
  const emulator = await GraphEmulator.start({
    tenantId: options.tenantId,
    apps: [app],
    https: options.http !== true,
    host: options.host,
    port: options.port,
    snapshot: { users: demoUsers(), devices: [] },
    ...(options.state ? { statePath: resolve(options.state) } : {}),
    ...(options.faults ? { faults: faultsFrom(options.faults) } : {}),
    variant: options.variant,
    variantSeed: options.variantSeed,
    ...(options.throttle ? { throttle: options.throttle } : {}),
  });
  const caPath = resolve(`${options.writeEnv}.ca.pem`);
  const env = [
    `AZURE_TENANT_ID=${options.tenantId}`,
    `AZURE_CLIENT_ID=${app.clientId}`,
    `AZURE_CLIENT_SECRET=${app.clientSecret}`,
    `AZURE_AUTHORITY_HOST=${emulator.url}`,
    `ENTRA_TOKENS_GRAPH_URL=${emulator.graphUrl}`,
  ].map((line) => `${options.envPrefix}${line}`);
  if (emulator.caCert) {
    writeFileSync(caPath, emulator.caCert);
    env.push(`NODE_EXTRA_CA_CERTS=${caPath}`);
  }
  // The client secret goes to a file only readable by you, never to the terminal.
  writeFileSync(options.writeEnv, `${env.join("\n")}\n`, { mode: 0o600 });
  console.log(`Graph emulator listening on ${emulator.graphUrl} (response variant: ${options.variant})`);
  console.log(`tenant ${options.tenantId}; client settings written to ${resolve(options.writeEnv)} (set -a; . ${options.writeEnv}; set +a)`);
  console.log("Ctrl-C to stop.");
  const stop = () => void emulator.stop().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.on("SIGHUP", stop);
  // Started by npm (or a shell that may not pass signals on): when that parent is gone, so are we.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 1000).unref();
}

main().catch((error: unknown) => {
  console.error(`emulator: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
