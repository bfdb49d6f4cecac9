// The records of a plain comma-separated file, read by splitting lines: the shape vendors and
// Entra's upload template use (no quotes, the same number of fields on every line). 100,000 rows
// take a fraction of csv-parse's time. Its one promise: what it gives is exactly what csv-parse
// returns with the options of entra-csv.ts (trim, skip_empty_lines, equal record lengths, the
// record size cap) for the same text. Anything else (quotes, a field with spaces or tabs around
// it, characters beyond printable ASCII, mixed or lone-CR line ends, unequal rows, an over-long
// line) it declines (undefined), and csv-parse decides, with its errors.
// test/plain-csv.test.ts checks the promise against csv-parse on tricky and random files.

/** A character outside printable ASCII and line ends, or a quote. */
const NOT_PLAIN = /[^ !#-~\r\n]/;
/** A space at either end of a field: csv-parse's trim would change it. */
const SPACE_AT_FIELD_END = /^ | $| ,|, | \r?\n|\n /m;

/**
 * The records of `text` (without a BOM), or undefined when csv-parse must read it. The whole text
 * is checked before the first record is given, so a caller sees no record of a file it declines;
 * records are split one at a time, so they need not all be held at once.
 */
export function plainCsvRows(text: string, maxRecordChars: number): Iterable<string[]> | undefined {
  if (NOT_PLAIN.test(text) || SPACE_AT_FIELD_END.test(text)) return undefined;
  const newline = text.includes("\r") ? "\r\n" : "\n";
  let width = -1;
  for (let start = 0; start < text.length; ) {
    const found = text.indexOf(newline, start);
    const end = found < 0 ? text.length : found;
    if (end > start) {
      if (end - start > maxRecordChars) return undefined;
      let fields = 1;
      for (let at = start; at < end; at++) {
        const c = text.charCodeAt(at);
        if (c === 0x2c) fields++;
        else if (c === 0x0d || c === 0x0a) return undefined; // a line end of the other kind
      }
      if (width < 0) width = fields;
      if (fields !== width) return undefined;
    }
    start = end + newline.length;
  }
  return records(text, newline);
}

function* records(text: string, newline: string): Generator<string[], void> {
  for (let start = 0; start < text.length; ) {
    const found = text.indexOf(newline, start);
    const end = found < 0 ? text.length : found;
    if (end > start) yield text.slice(start, end).split(",");
    start = end + newline.length;
  }
}
