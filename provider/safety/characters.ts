// Characters that have no business in an identifier or a name a human reviews: they are invisible,
// reorder what is shown (Trojan Source, CVE-2021-42574), or drive terminals (ESC, BEL). Shared by
// tokens.yaml and the seed file readers, so both refuse the same things.

export type UnsafeCharacterKind = "control-character" | "bidi-control" | "invisible-character";

export interface UnsafeCharacter {
  kind: UnsafeCharacterKind;
  /** UTF-16 index in the text. */
  index: number;
  /** e.g. "U+202E (right-to-left override)" */
  description: string;
}

// C0 (NUL included), DEL, C1, and the line/paragraph separators, which break lines invisibly.
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029]/u;
// Unicode's bidirectional formatting characters (UAX #9): embeddings, overrides, isolates, marks.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
// Zero-width and other default-ignorable characters that render as nothing (Unicode's Default_Ignorable_Code_Point, the visible-to-no-one part).
const INVISIBLE = /[\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200D\u2060-\u2064\u206A-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF9-\uFFFB\u{E0000}-\u{E0FFF}]/u;
const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;
const ASCII_LINES = /^[\t\n\r\x20-\x7E]*$/;
const ANY = new RegExp(`${CONTROL.source}|${BIDI.source}|${INVISIBLE.source}`, "gu");

const NAMES: Record<number, string> = {
  0x00: "NUL", 0x07: "BEL", 0x08: "backspace", 0x09: "tab", 0x0a: "line feed", 0x0d: "carriage return", 0x1b: "ESC", 0x7f: "DEL",
  0x2028: "line separator", 0x2029: "paragraph separator", 0x200b: "zero-width space", 0x200c: "zero-width non-joiner",
  0x200d: "zero-width joiner", 0x2060: "word joiner", 0xfeff: "zero-width no-break space", 0x00ad: "soft hyphen",
  0x200e: "left-to-right mark", 0x200f: "right-to-left mark", 0x202a: "left-to-right embedding", 0x202b: "right-to-left embedding",
  0x202c: "pop directional formatting", 0x202d: "left-to-right override", 0x202e: "right-to-left override",
  0x2066: "left-to-right isolate", 0x2067: "right-to-left isolate", 0x2068: "first strong isolate", 0x2069: "pop directional isolate",
};

export function describeCodePoint(codePoint: number): string {
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
  const name = NAMES[codePoint];
  return name === undefined ? hex : `${hex} (${name})`;
}

/**
 * The first unsafe character of `text`, or undefined. `allowLineBreaks` lets tab, LF and CR through,
 * for whole files whose lines they separate.
 */
export function findUnsafeCharacter(text: string, allowLineBreaks = false): UnsafeCharacter | undefined {
  // Printable ASCII holds none of them: most values, answered without a generator per value.
  if (PRINTABLE_ASCII.test(text)) return undefined;
  return allUnsafeCharacters(text, allowLineBreaks).next().value ?? undefined;
}

export function* allUnsafeCharacters(text: string, allowLineBreaks = false): Generator<UnsafeCharacter, void> {
  // Printable ASCII (and line breaks, where allowed) holds none: a whole file answered by one plain scan.
  if ((allowLineBreaks ? ASCII_LINES : PRINTABLE_ASCII).test(text)) return;
  for (const match of text.matchAll(ANY)) {
    const char = match[0];
    if (allowLineBreaks && (char === "\t" || char === "\n" || char === "\r")) continue;
    const codePoint = char.codePointAt(0) ?? 0;
    const kind: UnsafeCharacterKind = CONTROL.test(char) ? "control-character" : BIDI.test(char) ? "bidi-control" : "invisible-character";
    yield { kind, index: match.index, description: describeCodePoint(codePoint) };
  }
}

/** `text` with unsafe characters shown as \u{…}, for messages that must name a value without replaying it. */
export function showEscaped(text: string): string {
  return text.replace(ANY, (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16).toUpperCase()}}`);
}
