import type { SourceLocation } from "../model/index.js";
import { plainYaml } from "./plain-yaml.js";

// A fast reading of plain tokens.yaml files: first by the plain-subset reader (plain-yaml.ts),
// which builds the values straight from the text, then, for what it declines (flows over several
// lines, say), by js-yaml, loaded only then. `yaml`'s Document keeps a position for every node,
// which costs ~25× the time and ~6× the memory of js-yaml on 100,000 tokens; only the position of
// each token is needed once a file is valid. Both read YAML 1.2 with the core schema. This path
// is taken only where the two cannot disagree and only for valid files: the caller sends anything
// else (every file with an error included) through the full reader and its positioned diagnostics.

/**
 * YAML features where readers differ or that need the full reader's guards: aliases (alias
 * bombs), tags, escapes and any character beyond ASCII (the full reader's checks for characters a
 * reviewer cannot see and for look-alike UPNs work on its document), block scalars.
 */
const NOT_PLAIN = /[\t&*!|>\\]|[^\x00-\x7F]|<<|^\s*[?%]|^(?:---|\.\.\.)/m;
/** A token written out in full has about 10 `:` and `,`; far more means this is not a token list. */
const MAX_SEPARATORS_PER_TOKEN = 24;
const TOKENS_KEY = /^tokens[ ]*:[ ]*(?:#.*)?$/;
const ITEM = /^([ ]*)-[ ]+(\S)/;

/**
 * The text without the comments that can be told for sure: a `#` at a line's start or after a space,
 * with no quote and no other `#` before it on the line. Comments may say `report | ignore` or hold
 * any character; the raw-character checks have already run on the whole text. A line where it
 * cannot be told keeps its comment, which only sends the file to the full reader.
 */
function withoutComments(text: string): string {
  return text.replace(/^((?:[^'"\n#]*[ ])?)#.*$/gm, "$1");
}

export interface FastRead {
  data: unknown;
  /** Where each entry of `tokens` starts (1-based line and column), in order. */
  tokenStarts: SourceLocation[];
}

/** The parsed file and its tokens' positions (in `file`), or undefined when the full reader must decide. */
export function fastRead(text: string, file: string): FastRead | undefined {
  return plainYaml(text, file) ?? jsYamlRead(text, file);
}

function jsYamlRead(text: string, file: string): FastRead | undefined {
  if (NOT_PLAIN.test(text) && NOT_PLAIN.test(withoutComments(text))) return undefined;
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => TOKENS_KEY.test(l));
  if (start < 0) return undefined;
  const tokenStarts: SourceLocation[] = [];
  let indent: number | undefined;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (/^\S/.test(line) && !line.startsWith("#") && !line.startsWith("-")) break; // the next top-level key
    const item = ITEM.exec(line);
    if (!item) continue;
    const at = item[1]?.length ?? 0;
    indent ??= at;
    if (at !== indent) continue;
    tokenStarts.push({ file, line: i + 1, column: line.indexOf(item[2] ?? "", at + 1) + 1 });
  }
  // Values in proportion to the tokens, or the full reader and its caps decide (a hostile file
  // of millions of values in one entry would cost the parse alone hundreds of megabytes).
  let separators = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 44 || c === 58) separators++; // , :
  }
  if (tokenStarts.length === 0 || separators > MAX_SEPARATORS_PER_TOKEN * tokenStarts.length + 1000) return undefined;
  let data: unknown;
  try {
    data = (require("js-yaml") as typeof import("js-yaml")).load(text);
  } catch {
    return undefined;
  }
  const tokens = typeof data === "object" && data !== null && "tokens" in data && Array.isArray(data.tokens) ? data.tokens : undefined;
  // Every entry must start on its own "- " line; otherwise the positions would be guesses.
  return tokens && tokenStarts.length === tokens.length ? { data, tokenStarts } : undefined;
}
