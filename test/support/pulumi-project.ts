import { cpSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PROJECT_ROOT = join(__dirname, "..", "..", "..");

/**
 * A copy of the project as a user's clone has it after `npm ci && npm run build`: Pulumi.yaml,
 * package.json, stacks/, tokens.yaml, the demo seeds and dist/ exactly as shipped (node_modules
 * linked), so a test can edit tokens.yaml without touching the repository.
 */
export function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "entra-pulumi-"));
  for (const entry of ["Pulumi.yaml", "package.json", "stacks", "tokens.yaml", "demo", "schemas", "dist"]) {
    cpSync(join(PROJECT_ROOT, entry), join(dir, entry), { recursive: true, filter: (source) => !source.includes(`${join("dist", "test-tls")}`) });
  }
  symlinkSync(join(PROJECT_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}
