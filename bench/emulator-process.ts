import { readFileSync } from "node:fs";
import { GraphEmulator } from "../emulator/server.js";
import { isJson, type TenantSnapshot } from "../emulator/tenant.js";
import { testTls } from "../test/support/tls.js";
import { BENCH_APP, BENCH_TENANT } from "./tenant.js";

// The emulator in its own process, so the figures of the process measured are its own.
// argv: a tenant snapshot (JSON), optionally a throttle profile (graph-limits). Prints one line: {"url": …}.
// Faults come over /_emulator/faults.

async function main(): Promise<void> {
  const parsed: unknown = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8"));
  if (!isJson(parsed)) throw new Error("bad snapshot");
  const throttle = process.argv[3] === "graph-limits" ? { throttle: "graph-limits" as const } : {};
  const emulator = await GraphEmulator.start({ tenantId: BENCH_TENANT, apps: [BENCH_APP], https: testTls(), snapshot: parsed as unknown as TenantSnapshot, ...throttle });
  process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);
  process.on("SIGTERM", () => void emulator.stop().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
