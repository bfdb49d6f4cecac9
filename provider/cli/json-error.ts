import type { Diagnostic } from "../desired/diagnostics.js";
import { ERROR_FORMAT_VERSION } from "./formats.js";

// With --format json, stdout is one JSON document even when the command fails before it has a result
// (a missing tokens.yaml, a refused sign-in, a usage error): a script reads `error` instead of an empty
// stdout. The human line still goes to stderr. Shape in docs/cli.md ("JSON errors").

export interface JsonError {
  /** Stable, kebab-case: the failure kind (e.g. invalid-desired-state, authentication, seed-unreadable, usage). */
  code: string;
  message: string;
  fix?: string;
  /** Graph's request-id, what Microsoft support asks for. */
  requestId?: string;
  /** The file problems, each with its own code, place and fix (as `validate --format json`). */
  diagnostics?: readonly Diagnostic[];
}

export function jsonErrorDocument(error: JsonError): string {
  return `${JSON.stringify({ formatVersion: ERROR_FORMAT_VERSION, error }, null, 2)}\n`;
}

/** "what. Fix: how" (our errors' one-line form) split into message and fix; a trailing " [code]" dropped. */
export function splitFix(text: string): { message: string; fix?: string } {
  const at = text.indexOf(" Fix: ");
  if (at < 0) return { message: text };
  return { message: text.slice(0, at).replace(/\.$/, ""), fix: text.slice(at + " Fix: ".length).replace(/ \[[a-z-]+\]$/, "") };
}

/** guard's `jsonOut` for a command that prints its result on this process's stdout. */
export const jsonToStdout = (format: string): ((text: string) => void) | undefined => (format === "json" ? (text) => void process.stdout.write(text) : undefined);
