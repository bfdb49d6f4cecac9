import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The Pulumi project the engine runs: `given` (the root the language host passes the program,
 * `--root-directory`, sdk/nodejs/cmd/run) when it holds Pulumi.yaml, else the nearest folder at or
 * above the working directory that does (pkg/engine/project.go getPwdMain starts program and
 * plugins there or below); the working directory when none does.
 */
export function projectRoot(given?: string): string {
  const isProject = (dir: string) => existsSync(join(dir, "Pulumi.yaml")) || existsSync(join(dir, "Pulumi.yml"));
  if (given && isProject(given)) return given;
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (isProject(dir)) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
