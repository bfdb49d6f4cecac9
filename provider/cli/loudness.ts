import type { ResponseInfo } from "../graph/client.js";
import { escapeTerminal } from "../safety/escape.js";

// --quiet and --verbose of the commands that talk to Graph. One command runs per process, so the
// choice is set once, before the command's handler runs (program.ts), and read where notes are made.

export type Loudness = "quiet" | "normal" | "verbose";

let chosen: Loudness = "normal";

export function setLoudness(loudness: Loudness): void {
  chosen = loudness;
}

/** --quiet: only results and errors; no progress, status line, retry notice or preflight warning. */
export const quiet = (): boolean => chosen === "quiet";
/** --verbose: also each Graph answer's request ids and timing, on stderr. */
export const verbose = (): boolean => chosen === "verbose";

/** One Graph answer for --verbose: method, path, status, time and the ids support asks for; never a header else, nor a body. */
export function responseLine(info: ResponseInfo): string {
  const ids = [info.requestId ? `request-id ${info.requestId}` : "no request-id", ...(info.clientRequestId ? [`client-request-id ${info.clientRequestId}`] : [])];
  // The path quotes serials and UPNs from tokens.yaml: shown escaped.
  return `graph: ${info.method} ${escapeTerminal(info.path, 300)} → ${info.status} in ${info.ms} ms (${escapeTerminal(ids.join(", "), 200)})`;
}
