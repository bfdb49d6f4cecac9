// `npm run demo`: the whole loop against a local Graph emulator, as a user would run it.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_TENANT_ID, demoApp, demoUsers } from "../emulator/demo.js";
import { GraphEmulator } from "../emulator/server.js";

const CLI = join(__dirname, "..", "provider", "cli", "main.js");
const DEMO_SEED_PASSPHRASE = "entra-tokens demo passphrase (public, demo only)";

/** Runs the CLI in a child process (asynchronously: the emulator answers from this process). */
async function step(title: string, args: string[], env: NodeJS.ProcessEnv, expectedExit: number): Promise<void> {
  console.log(`\n$ entra-tokens ${args.join(" ")}   # ${title}`);
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: "inherit" });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== expectedExit) throw new Error(`entra-tokens ${args.join(" ")} exited ${code}, expected ${expectedExit}`);
}

async function main(): Promise<void> {
  const app = demoApp();
  const emulator = await GraphEmulator.start({ tenantId: DEMO_TENANT_ID, apps: [app], https: true, snapshot: { users: demoUsers(), devices: [] } });
  try {
    const caFile = join(mkdtempSync(join(tmpdir(), "entra-demo-")), "emulator-ca.pem");
    writeFileSync(caFile, emulator.caCert ?? "");
    console.log(`Graph emulator (demo tenant ${DEMO_TENANT_ID}) at ${emulator.graphUrl}`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CI: "true",
      AZURE_TENANT_ID: DEMO_TENANT_ID,
      AZURE_CLIENT_ID: app.clientId,
      AZURE_CLIENT_SECRET: app.clientSecret,
      AZURE_AUTHORITY_HOST: emulator.url,
      ENTRA_TOKENS_GRAPH_URL: emulator.graphUrl,
      NODE_EXTRA_CA_CERTS: caFile,
      // The demo seed store's passphrase is public on purpose: its seeds are made up.
      ENTRA_TOKENS_SEED_PASSPHRASE: DEMO_SEED_PASSPHRASE,
    };
    await step("check tokens.yaml", ["validate"], env, 0);
    await step("what would change (exit 2: changes)", ["plan"], env, 2);
    await step("converge the tenant", ["apply", "--yes"], env, 0);
    await step("nothing left to do (exit 0)", ["plan"], env, 0);

    const pool = emulator.tenant.deviceBySerial("60234565");
    if (!pool) throw new Error("demo token 60234565 is missing");
    emulator.tenant.assign("diego.siciliani@contoso.com", { device: { id: pool.id } });
    emulator.tenant.deleteUser("megan.bowen@contoso.com");
    console.log("\n# Meanwhile, in the tenant: Diego takes pool token 60234565 by self-service, and Megan Bowen's account is deleted.");
    await step("the scheduled drift report (exit 2: drift)", ["drift"], env, 2);
    console.log(`\nDemo complete: ${emulator.httpRequestCount()} Graph requests in all.`);
  } finally {
    await emulator.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
