import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeBase32 } from "../../provider/seeds/normalize.js";

/** A tenant's worth of tokens.yaml and seed file in a temp folder; returns the paths and secrets. */
export function workspace(count: number, assign: (i: number) => string): { file: string; secrets: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "entra-reconcile-"));
  const secrets: string[] = [];
  const csv = ["upn,serial number,secret key,time interval,manufacturer,model"];
  const yaml = ["version: 1", "defaults: { manufacturer: Token2, model: C202 }", "policy: { unmanaged: report, maxDeletes: 2 }", "seeds: [{ file: seeds.csv, allowPlaintext: true }]", "tokens:"];
  for (let i = 0; i < count; i++) {
    const secret = encodeBase32(Buffer.from(`seed-for-token-${i}`.padEnd(20, "x")));
    secrets.push(secret);
    csv.push(`,T${i},${secret},30,Token2,C202`);
    yaml.push(`  - { serial: "T${i}", ${assign(i)} }`);
  }
  writeFileSync(join(dir, "seeds.csv"), `${csv.join("\n")}\n`);
  const file = join(dir, "tokens.yaml");
  writeFileSync(file, `${yaml.join("\n")}\n`);
  return { file, secrets };
}

