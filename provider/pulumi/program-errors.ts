import * as pulumi from "@pulumi/pulumi";
import { GraphFailure } from "../graph/errors.js";
import { SeedFileError } from "../seeds/errors.js";
import { TenantMismatchError } from "../reconcile/tenant.js";
import { SettingError } from "../safety/settings.js";
import { StackSettingError } from "./stack-settings.js";

// How the program's failures reach the user, in seconds. The SDK's launcher prints an unhandled
// error with util.inspect(err, { colors: true }) (sdk/nodejs/cmd/run/error.ts defaultErrorMessage).
// Before nodejs/node#64022 (fixing #64011; Node 20 among the affected) that colouring loops, growing
// a string up to the heap limit, on a stack line whose `node_modules/` path has no separator after
// the package (or scope) name. Every source-mapped SDK frame has one: the SDK's maps point one folder
// up (`node_modules/@pulumi/resource.ts`). Measured through the engine harness: 40–75 s and 3 GB per
// error before the RangeError and the plain fallback, for each failed registration.

/** A failure the program reports: the launcher prints a RunError's message alone (cmd/run/run.ts). */
export function programFailure(message: string): Error {
  return new pulumi.RunError(message);
}

/** Our typed failures (Graph, seed files, settings, the tenant check) already say what, where and how to fix: no stack. */
const TYPED_FAILURES = [GraphFailure, SeedFileError, SettingError, StackSettingError, TenantMismatchError];

export function asProgramFailure(error: unknown): unknown {
  return TYPED_FAILURES.some((kind) => error instanceof kind) && error instanceof Error ? programFailure(error.message) : error;
}

/** Whether util.inspect's colouring loops on this stack line (node lib/internal/util/inspect.js markNodeModules). */
export function tripsInspectLoop(line: string): boolean {
  for (let at = line.indexOf("node_modules"); at !== -1; at = line.indexOf("node_modules", at + 1)) {
    const separator = line[at - 1];
    const after = line[at + "node_modules".length];
    if ((separator !== "/" && separator !== "\\") || (after !== "/" && after !== "\\")) continue;
    const start = at + "node_modules".length + 1;
    let end = line.indexOf(separator, start);
    if (line[start] === "@" && end !== -1) end = line.indexOf(separator, end + 1);
    if (end === -1) return true;
  }
  return false;
}

/**
 * Installed before the launcher's own handlers: an error whose stack would loop loses its stack,
 * so the launcher prints its message (defaultErrorMessage falls back to it). These are the SDK's
 * own errors (a registration the engine failed), whose frames are the SDK's, not the program's.
 */
export function keepFailuresFast(): void {
  const strip = (error: unknown): void => {
    if (error instanceof Error && typeof error.stack === "string" && error.stack.split("\n").some(tripsInspectLoop)) error.stack = "";
  };
  process.prependListener("uncaughtException", strip);
  process.prependListener("unhandledRejection", strip);
}
