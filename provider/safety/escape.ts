import { showEscaped } from "./characters.js";

// One escaper per output kind. Every value that comes from outside (tokens.yaml, a seed file, the
// tenant, an environment variable, a command-line argument) goes through the one for where it is
// shown; our own fixed text does not need to. docs/security.md lists what each one neutralises.

/** Longest value shown in a report, terminal line or error, in code points; longer ones end in "…". */
export const VALUE_LIMIT = 200;

/** `text` cut to `limit` code points (never inside a surrogate pair), ending in "…" when cut. */
export function truncate(text: string, limit = VALUE_LIMIT): string {
  if (text.length <= limit) return text;
  const points = Array.from(text);
  return points.length <= limit ? text : `${points.slice(0, Math.max(limit - 1, 0)).join("")}…`;
}

/**
 * For a terminal: C0/C1 controls (ESC, BEL, CR, LF…), bidi overrides and invisible characters shown
 * as `\u{…}`, so no value can move the cursor, retitle the window, reorder a line or add one.
 */
export function escapeTerminal(text: string, limit = VALUE_LIMIT): string {
  return showEscaped(truncate(text, limit));
}

/**
 * For a GitHub Actions log: as for a terminal (so no value adds a line), and `::` shown as `:\u{3A}`,
 * so even a value printed at the start of a line cannot be read as a workflow command
 * (docs.github.com "Workflow commands for GitHub Actions": a command is a line starting `::`).
 */
export function escapeActionsLog(text: string, limit = VALUE_LIMIT): string {
  return escapeTerminal(text, limit).replace(/::/g, ":\\u{3A}");
}

// CommonMark lets any ASCII punctuation be backslash-escaped (spec 2.4); escaping them all turns
// emphasis, links, images, code spans, table pipes and autolinks (`https\://`, `www\.`) into text.
const MARKDOWN_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
// HTML goes through entities, which GitHub renders as the character and never as a tag.
const HTML_ENTITIES: Record<string, string> = { "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" };
// GitHub links @mentions and #references in the rendered text, after escapes and entities are
// decoded; a word joiner (U+2060) after the sign breaks the pattern and shows nothing.
const MENTION_OR_REFERENCE = /([@#])(?=[\p{L}\p{N}_-])/gu;

/**
 * For Markdown prose (a table cell, a list item, a heading): HTML tags and entities, `<details>`,
 * markers (`<!-- -->`), links and images, emphasis, backticks, table pipes, @mentions and #references
 * all shown as text; line breaks and control characters shown as `\u{…}`.
 */
export function escapeMarkdown(text: string, limit = VALUE_LIMIT): string {
  return escapeTerminal(text, limit)
    .replace(MARKDOWN_PUNCTUATION, (char) => HTML_ENTITIES[char] ?? `\\${char}`)
    .replace(MENTION_OR_REFERENCE, "$1\u2060");
}

/**
 * As a Markdown code span, for identifiers (serials, UPNs): the fence is one backtick longer than
 * any run inside, so nothing breaks out; `|` is escaped, which GitHub's table parser needs even in
 * code; inside code, GitHub links no mention, reference, URL or tag.
 */
export function escapeMarkdownCode(text: string, limit = VALUE_LIMIT): string {
  const shown = escapeTerminal(text, limit).replace(/\|/g, "\\|");
  if (shown === "") return "` `";
  const longestRun = Math.max(0, ...Array.from(shown.matchAll(/`+/g), (m) => m[0].length));
  const fence = "`".repeat(longestRun + 1);
  // CommonMark strips one space on each side when both are there: pad so edge backticks survive.
  const pad = shown.startsWith("`") || shown.endsWith("`") || (shown.startsWith(" ") && shown.endsWith(" ")) ? " " : "";
  return `${fence}${pad}${shown}${pad}${fence}`;
}

const HTML_TEXT_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

/**
 * HTML text and quoted attribute values: the markup characters (and the backtick old IE took for a
 * quote) become entities; control, bidi and invisible characters are shown as `\u{…}` so a value
 * cannot hide or reorder what an admin reads. Not for unquoted attributes, URLs, scripts or styles.
 */
export function escapeHtml(value: string): string {
  return showEscaped(value).replace(/[&<>"'`]/g, (char) => HTML_TEXT_ENTITIES[char] ?? char);
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, quotes doubled. A
 * value a spreadsheet would run as a formula (leading = + - @, tab or CR; OWASP "CSV injection")
 * gets a leading apostrophe, so opening the export never runs a value from the tenant.
 */
export function escapeCsv(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
