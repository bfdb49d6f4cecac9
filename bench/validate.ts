import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadDesired } from "../provider/desired/load.js";

/** A realistic tokens.yaml: every fifth token in the pool, the rest spread over users, ≤ 5 each. */
export function syntheticTokensYaml(count: number): string {
  const lines = ["version: 1", "defaults:", "  manufacturer: Token2", "  model: C202", "tokens:"];
  for (let i = 0; i < count; i++) {
    lines.push(`  - serial: "SN${String(i).padStart(7, "0")}"`);
    if (i % 5 === 0) {
      lines.push("    state: available");
    } else {
      lines.push(`    state: ${i % 2 === 0 ? "activated" : "assigned"}`, `    upn: user${i}@contoso.com`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export async function benchValidate(count: number): Promise<void> {
  const file = join(mkdtempSync(join(tmpdir(), "entra-bench-")), "tokens.yaml");
  const text = syntheticTokensYaml(count);
  writeFileSync(file, text);
  await loadDesired(file); // warm up the schema compiler and the JIT
  const runs = 5;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const result = await loadDesired(file);
    times.push(performance.now() - start);
    if (!result.ok) throw new Error("synthetic file did not validate");
  }
  times.sort((a, b) => a - b);
  console.log(
    `validate: ${count} tokens, ${(text.length / 1024 / 1024).toFixed(2)} MiB — median ${times[Math.floor(runs / 2)]?.toFixed(0)} ms, ` +
      `best ${times[0]?.toFixed(0)} ms over ${runs} runs`,
  );
}
