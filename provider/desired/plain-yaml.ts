import type { SourceLocation } from "../model/index.js";

// A reader of the plain subset of YAML that tokens.yaml files are written in: block mappings and
// sequences indented with spaces, one-line `{ key: value }` mappings, plain, "double" and 'single'
// quoted scalars on one line, comments, blank lines, LF or CRLF. It reads 100,000 tokens in a tenth
// of js-yaml's time because it builds the values straight from the text, nothing in between.
//
// Its one promise: what it returns is exactly what the full reader (the `yaml` library, YAML 1.2
// core schema, unique keys) returns for the same text, positions of the tokens included. Anything
// outside the subset, or where the two could disagree, it declines (undefined) and the caller asks
// another reader: anchors, aliases, tags, escapes, block scalars, multi-line scalars and flows,
// tabs, directives, document markers, duplicate keys, null values, numbers other than plain
// integers, and any character beyond printable ASCII outside a comment. test/plain-yaml.test.ts
// checks the promise against the `yaml` library on tricky and on randomly altered files.

export interface PlainRead {
  data: { [key: string]: unknown };
  /** Where each entry of `tokens` starts (1-based line and column), in order: the tokens' locations. */
  tokenStarts: SourceLocation[];
}

/** tokens.yaml nests 5 levels (file, seeds, entry, csv, value); deeper is not ours to read fast. */
const MAX_DEPTH = 8;
/** The schema's widest mapping has 12 keys: more sends the file to the full reader and its caps. */
const MAX_KEYS = 64;

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;
const CR = 0x0d;

function table(chars: string): Uint8Array {
  const allowed = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) allowed[chars.charCodeAt(i)] = 1;
  return allowed;
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Characters a plain scalar may hold here: none of them has a meaning in YAML inside a plain scalar. */
const PLAIN = table(`${ALNUM} _@.-/+'()`);
/** How a plain scalar may start: no indicator (`-`, `?`, `'`, `+` read as signs, …). */
const PLAIN_FIRST = table(`${ALNUM}_./`);
const KEY_FIRST = table(ALNUM.slice(0, 52));
const KEY = table(`${ALNUM}_`);

/** The core schema's numbers (yaml/dist/schema/core/int.js, float.js): only plain integers are read here. */
const CORE_NUMBER = /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const PLAIN_INTEGER = /^(?:0|[1-9][0-9]{0,14})$/;
/** The core schema's booleans and nulls (core/bool.js, common/null.js). */
const CORE_BOOLEANS: ReadonlyMap<string, boolean> = new Map([..."true True TRUE".split(" ").map((w) => [w, true] as const), ..."false False FALSE".split(" ").map((w) => [w, false] as const)]);
const CORE_NULLS: ReadonlySet<string> = new Set(["null", "Null", "NULL", "~"]);

/**
 * The field names of tokens.yaml, returned as these very strings: a key sliced from the text would
 * be a new string per token for the engine to hash. Other keys are read as well (and then refused
 * by the schema).
 */
const FIELD_NAMES = ["version", "tenant", "id", "name", "seeds", "file", "format", "passphraseEnv", "allowPlaintext", "defaults", "policy", "unmanaged", "maxDeletes", "selfService", "staleAfterDays", "tokens", "serial", "state", "upn", "returnedBy", "displayName", "manufacturer", "model", "timeIntervalInSeconds", "hashFunction"];
/** Values every token repeats, likewise. */
const COMMON_VALUES = ["available", "assigned", "activated", "retired", "hmacsha1", "hmacsha256"];
function byLength(names: readonly string[]): string[][] {
  const table: string[][] = [];
  for (const name of names) (table[name.length] ??= []).push(name);
  return table;
}
const FIELDS_BY_LENGTH = byLength(FIELD_NAMES);
const VALUES_BY_LENGTH = byLength(COMMON_VALUES);

/** Thrown inside the reader only, to leave it from any depth; never escapes plainYaml. */
class Declined {}
const DECLINED = new Declined();

class Reader {
  /** The content line under the cursor (after blank and comment lines): its bounds and indentation. */
  private lineStart = 0;
  private lineEnd = 0;
  private content = 0;
  private lineNumber = 0;
  /** Offset of the next line not yet looked at. */
  private next = 0;
  private nextLineNumber = 1;
  private atEnd = false;
  /** Where the scalar last read ends (past its closing quote). */
  private scalarEnd = 0;
  readonly tokenStarts: SourceLocation[] = [];

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    this.advance();
  }

  /** The document: one mapping at column 0, and nothing after it. */
  document(): { [key: string]: unknown } {
    if (this.atEnd || this.indent !== 0) throw DECLINED;
    const data = this.mapping(0, this.content, 1);
    if (!this.atEnd) throw DECLINED;
    return data;
  }

  private get indent(): number {
    return this.content - this.lineStart;
  }

  private code(at: number): number {
    return this.text.charCodeAt(at);
  }

  /** Moves the cursor to the next line holding more than spaces and a comment. */
  private advance(): void {
    const text = this.text;
    while (this.next < text.length) {
      const start = this.next;
      const newline = text.indexOf("\n", start);
      let end = newline < 0 ? text.length : newline;
      this.next = newline < 0 ? text.length + 1 : newline + 1;
      const number = this.nextLineNumber++;
      if (end > start && text.charCodeAt(end - 1) === CR) end--;
      let at = start;
      while (at < end && text.charCodeAt(at) === SPACE) at++;
      if (at === end || text.charCodeAt(at) === HASH) continue;
      this.lineStart = start;
      this.lineEnd = end;
      this.content = at;
      this.lineNumber = number;
      return;
    }
    this.atEnd = true;
  }

  /** The entries of a block mapping at `indent`, the first starting at `at` on the current line. */
  private mapping(indent: number, at: number, depth: number): { [key: string]: unknown } {
    if (depth > MAX_DEPTH) throw DECLINED;
    const result: { [key: string]: unknown } = {};
    let keys = 0;
    for (let start = at; ; start = this.content) {
      let end = start;
      if (start >= this.lineEnd || KEY_FIRST[this.code(start)] !== 1) throw DECLINED;
      while (end < this.lineEnd && KEY[this.code(end)] === 1) end++;
      if (this.code(end) !== COLON || end >= this.lineEnd || (end + 1 < this.lineEnd && this.code(end + 1) !== SPACE)) throw DECLINED;
      const key = this.key(start, end);
      if (Object.prototype.hasOwnProperty.call(result, key) || ++keys > MAX_KEYS) throw DECLINED;
      let value = end + 1;
      while (value < this.lineEnd && this.code(value) === SPACE) value++;
      if (value === this.lineEnd || this.code(value) === HASH) {
        result[key] = this.nestedBlock(indent, depth, depth === 1 && key === "tokens");
      } else {
        result[key] = this.inlineValue(value);
        this.advance();
        if (!this.atEnd && this.indent > indent) throw DECLINED; // a continuation line, or an error
      }
      if (this.atEnd || this.indent !== indent) return result;
    }
  }

  /** The value of a key written alone on its line: the block below it. */
  private nestedBlock(indent: number, depth: number, tokens: boolean): unknown {
    this.advance();
    if (this.atEnd) throw DECLINED; // a null value
    const inner = this.indent;
    // A sequence may stand at its key's own indentation; a mapping must be deeper.
    if (this.code(this.content) === DASH && inner >= indent) return this.sequence(inner, depth + 1, tokens);
    if (inner > indent) return this.mapping(inner, this.content, depth + 1);
    throw DECLINED;
  }

  /** A block sequence at `indent` whose items are mappings (the schema has no other lists). */
  private sequence(indent: number, depth: number, tokens: boolean): unknown[] {
    if (depth > MAX_DEPTH) throw DECLINED;
    const items: unknown[] = [];
    while (!this.atEnd && this.indent === indent && this.code(this.content) === DASH) {
      let at = this.content + 1;
      if (at >= this.lineEnd || this.code(at) !== SPACE) throw DECLINED;
      while (at < this.lineEnd && this.code(at) === SPACE) at++;
      if (at === this.lineEnd || this.code(at) === HASH) throw DECLINED;
      if (tokens) this.tokenStarts.push({ file: this.file, line: this.lineNumber, column: at - this.lineStart + 1 });
      if (this.code(at) === OPEN_BRACE) {
        items.push(this.inlineValue(at));
        this.advance();
        if (!this.atEnd && this.indent > indent) throw DECLINED;
      } else {
        items.push(this.mapping(at - this.lineStart, at, depth + 1));
      }
    }
    return items;
  }

  /** A value that ends its line: a scalar, `{ … }` on one line, `{}` or `[]`; a comment may follow. */
  private inlineValue(at: number): unknown {
    const first = this.code(at);
    if (first === OPEN_BRACE) {
      const { value, end } = this.flowMapping(at);
      this.lineRest(end);
      return value;
    }
    if (first === OPEN_BRACKET) {
      let end = at + 1;
      while (end < this.lineEnd && this.code(end) === SPACE) end++;
      if (this.code(end) !== CLOSE_BRACKET || end >= this.lineEnd) throw DECLINED;
      this.lineRest(end + 1);
      return [];
    }
    if (first === DOUBLE_QUOTE || first === SINGLE_QUOTE) {
      const value = this.quoted(at);
      this.lineRest(this.scalarEnd);
      return value;
    }
    return this.plain(at, false);
  }

  /** After a value: nothing, or spaces and a comment. */
  private lineRest(at: number): void {
    let end = at;
    while (end < this.lineEnd && this.code(end) === SPACE) end++;
    if (end === this.lineEnd) return;
    if (this.code(end) !== HASH || end === at) throw DECLINED;
  }

  /** `{ key: value, … }` closed on the same line, values scalars. */
  private flowMapping(open: number): { value: { [key: string]: unknown }; end: number } {
    const result: { [key: string]: unknown } = {};
    let keys = 0;
    let at = this.skipSpaces(open + 1);
    if (this.code(at) === CLOSE_BRACE && at < this.lineEnd) return { value: result, end: at + 1 };
    for (;;) {
      const start = at;
      if (at >= this.lineEnd || KEY_FIRST[this.code(at)] !== 1) throw DECLINED;
      while (at < this.lineEnd && KEY[this.code(at)] === 1) at++;
      if (at + 1 >= this.lineEnd || this.code(at) !== COLON || this.code(at + 1) !== SPACE) throw DECLINED;
      const key = this.key(start, at);
      if (Object.prototype.hasOwnProperty.call(result, key) || ++keys > MAX_KEYS) throw DECLINED;
      at = this.skipSpaces(at + 1);
      if (at >= this.lineEnd) throw DECLINED;
      const first = this.code(at);
      result[key] = first === DOUBLE_QUOTE || first === SINGLE_QUOTE ? this.quoted(at) : this.plain(at, true);
      at = this.skipSpaces(this.scalarEnd);
      if (at >= this.lineEnd) throw DECLINED;
      const separator = this.code(at);
      if (separator === CLOSE_BRACE) return { value: result, end: at + 1 };
      if (separator !== COMMA) throw DECLINED;
      at = this.skipSpaces(at + 1);
    }
  }

  /** The key written at [start, end); the core schema's booleans and nulls are not read as keys here. */
  private key(start: number, end: number): string {
    const field = known(this.text, start, end, FIELDS_BY_LENGTH);
    if (field !== undefined) return field;
    const key = this.text.slice(start, end);
    if (CORE_BOOLEANS.has(key) || CORE_NULLS.has(key)) throw DECLINED;
    return key;
  }

  private skipSpaces(at: number): number {
    while (at < this.lineEnd && this.code(at) === SPACE) at++;
    return at;
  }

  /** A quoted scalar on one line, printable ASCII, no escape (`''` in single quotes is one `'`). */
  private quoted(open: number): string {
    const quote = this.code(open);
    let doubled = false;
    for (let at = open + 1; at < this.lineEnd; at++) {
      const c = this.code(at);
      if (c < SPACE || c > 0x7e || c === BACKSLASH) throw DECLINED;
      if (c !== quote) continue;
      if (quote === SINGLE_QUOTE && at + 1 < this.lineEnd && this.code(at + 1) === SINGLE_QUOTE) {
        doubled = true;
        at++;
        continue;
      }
      const inner = this.text.slice(open + 1, at);
      this.scalarEnd = at + 1;
      return doubled ? inner.replaceAll("''", "'") : inner;
    }
    throw DECLINED;
  }

  /**
   * A plain scalar: in a block it runs to the line's end or a ` #` comment, in a flow to `,` or `}`;
   * spaces after it are not part of it. Resolved as the core schema resolves it.
   */
  private plain(start: number, inFlow: boolean): unknown {
    if (PLAIN_FIRST[this.code(start)] !== 1) throw DECLINED;
    let last = start + 1;
    let at = start + 1;
    for (; at < this.lineEnd; at++) {
      const c = this.code(at);
      if (c === SPACE) continue;
      if (c === HASH && !inFlow && this.code(at - 1) === SPACE) break;
      if (inFlow && (c === COMMA || c === CLOSE_BRACE)) break;
      if (c > 0x7e || PLAIN[c] !== 1) throw DECLINED;
      last = at + 1;
    }
    this.scalarEnd = last;
    return known(this.text, start, last, VALUES_BY_LENGTH) ?? resolvePlain(this.text.slice(start, last));
  }
}

/** The string of `table` (by length) written at [start, end) of `text`, if there is one. */
function known(text: string, start: number, end: number, table: readonly (readonly string[] | undefined)[]): string | undefined {
  const candidates = table[end - start];
  if (candidates === undefined) return undefined;
  next: for (const name of candidates) {
    for (let k = 0; k < name.length; k++) if (name.charCodeAt(k) !== text.charCodeAt(start + k)) continue next;
    return name;
  }
  return undefined;
}

function resolvePlain(text: string): unknown {
  const first = text.charCodeAt(0);
  // Only these can start a number, a boolean or a null of the core schema.
  if (first >= 0x30 && first <= 0x39 ? false : first !== 0x2e && !/^[tTfFnN]/.test(text)) return text;
  if (CORE_NUMBER.test(text)) {
    if (PLAIN_INTEGER.test(text)) return Number(text);
    throw DECLINED;
  }
  const boolean = CORE_BOOLEANS.get(text);
  if (boolean !== undefined) return boolean;
  if (CORE_NULLS.has(text)) throw DECLINED;
  return text;
}

/** A lone CR breaks a line for YAML but not for this reader: such a file is declined. */
function hasLoneCarriageReturn(text: string): boolean {
  for (let at = text.indexOf("\r"); at >= 0; at = text.indexOf("\r", at + 1)) {
    if (text.charCodeAt(at + 1) !== 0x0a) return true;
  }
  return false;
}

/** The file as the full reader would read it, or undefined when it is not in the plain subset; `file` names it in locations. */
export function plainYaml(text: string, file: string): PlainRead | undefined {
  if (hasLoneCarriageReturn(text)) return undefined;
  try {
    const reader = new Reader(text, file);
    const data = reader.document();
    const tokens = data["tokens"];
    if (!Array.isArray(tokens) || tokens.length !== reader.tokenStarts.length) return undefined;
    return { data, tokenStarts: reader.tokenStarts };
  } catch (error: unknown) {
    if (error === DECLINED) return undefined;
    throw error;
  }
}
