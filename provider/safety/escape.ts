import { showEscaped } from "./characters.js";

// One escaper per output kind: every value from tokens.yaml, a seed file or the tenant goes through
// the escaper of the output it lands in.

const HTML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

/**
 * HTML text and quoted attribute values: the markup characters (and the backtick old IE took for a
 * quote) become entities; control, bidi and invisible characters are shown as `\u{…}` so a value
 * cannot hide or reorder what an admin reads. Not for unquoted attributes, URLs, scripts or styles.
 */
export function escapeHtml(value: string): string {
  return showEscaped(value).replace(/[&<>"'`]/g, (char) => HTML_ENTITIES[char] ?? char);
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
