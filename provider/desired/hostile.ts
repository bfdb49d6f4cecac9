import { isAscii } from "node:buffer";
import type { Document, Node as YamlNode } from "yaml";
import { yamlLibrary } from "./yaml-library.js";
import { allUnsafeCharacters, describeCodePoint, findUnsafeCharacter, showEscaped, type UnsafeCharacter } from "../safety/characters.js";
import type { Diagnostic } from "./diagnostics.js";

// The checks that stand between a hostile tokens.yaml and the parser, the schema and the terminal:
// bytes that are not UTF-8, characters a reviewer cannot see, nesting that would exhaust the stack,
// tags, aliases and documents the loader must not silently reinterpret. Each gives its own code.

type At = { file: string; line: number; column: number };
type Locate = (offset: number) => At;

/** A tokens.yaml needs 5 levels; the yaml library's recursive composer overflows the stack near 1,000. */
export const MAX_NESTING = 64;
/**
 * Parsed YAML costs far more memory and time than its text: 8 MiB of `[1,1,1,…]` (4 million
 * values) takes minutes and gigabytes. 50,000 tokens need about as many as this.
 */
export const MAX_YAML_VALUES = 500_000;
/** One diagnostic per line is enough to find them all; a file full of them should not flood the terminal. */
const MAX_CHARACTER_DIAGNOSTICS = 20;

/** The first byte that is not UTF-8 (overlong forms, surrogates and values above U+10FFFF included), or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > bytes.length) return i;
    for (let k = 1; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    const second = bytes[i + 1]!;
    if ((lead === 0xe0 && second < 0xa0) || (lead === 0xed && second >= 0xa0) || (lead === 0xf0 && second < 0x90) || (lead === 0xf4 && second >= 0x90)) return i;
    i += length;
  }
  return -1;
}

/** The file's text, or where it stops being UTF-8 (Node would otherwise read such bytes as U+FFFD, silently). */
export function decodeUtf8(bytes: Uint8Array, file: string): { ok: true; text: string } | { ok: false; diagnostic: Diagnostic } {
  // ASCII is UTF-8: most files are answered by one native pass.
  const bad = isAscii(bytes) ? -1 : firstInvalidUtf8(bytes);
  if (bad < 0) return { ok: true, text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8") };
  const before = Buffer.from(bytes.buffer, bytes.byteOffset, bad);
  const lineStart = before.lastIndexOf(0x0a) + 1;
  let line = 1;
  for (const byte of before) if (byte === 0x0a) line++;
  const column = before.subarray(lineStart).toString("utf8").length + 1;
  return {
    ok: false,
    diagnostic: {
      file,
      line,
      column,
      code: "invalid-utf8",
      message: `the file is not valid UTF-8: byte 0x${bytes[bad]!.toString(16).toUpperCase().padStart(2, "0")} at offset ${bad} cannot start or continue a character`,
      fix: "save the file as UTF-8 (no other encoding); the byte was probably written by an editor in Latin-1 or Windows-1252",
    },
  };
}

function characterDiagnostic(unsafe: UnsafeCharacter, at: At, where: string): Diagnostic {
  const fixes = {
    "control-character": "delete it: control characters (NUL, ESC, BEL, line breaks inside a value…) are never part of a serial, user or name, and can rewrite what a terminal shows",
    "bidi-control": "delete it: bidirectional controls make text display in a different order than it is read (Trojan Source), so a review cannot be trusted",
    "invisible-character": "delete it: it renders as nothing, so two values that look the same differ (retype the value by hand)",
  } as const;
  return { ...at, code: unsafe.kind, message: `${where} holds ${unsafe.description}, ${unsafe.kind === "control-character" ? "a control character" : unsafe.kind === "bidi-control" ? "a bidirectional control" : "an invisible character"}`, fix: fixes[unsafe.kind] };
}

/** Unsafe characters as written in the file (comments included: Trojan Source hides in comments too). */
export function rawCharacterDiagnostics(text: string, locate: Locate): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  let lastLine = 0;
  for (const unsafe of allUnsafeCharacters(text, true)) {
    const at = locate(unsafe.index);
    if (at.line === lastLine) continue;
    lastLine = at.line;
    diagnostics.push(characterDiagnostic(unsafe, at, `line ${at.line}`));
    if (diagnostics.length === MAX_CHARACTER_DIAGNOSTICS) break;
  }
  return diagnostics;
}

/**
 * How deep block and flow collections nest, and how many values there are, from the yaml lexer
 * (iterative, unlike the composer): refused before parsing, at the first place past a limit.
 */
function shapeDiagnostic(text: string, locate: Locate): Diagnostic | undefined {
  const { CST, Lexer } = yamlLibrary();
  const columns: number[] = [];
  let flow = 0;
  let offset = 0;
  let lineStart = 0;
  let atLineStart = true;
  let scalarNext = false;
  let values = 0;
  const markers = new Set<string>([CST.BOM, CST.DOCUMENT, CST.FLOW_END]);
  const enterBlock = (column: number) => {
    while (columns.length > 0 && columns[columns.length - 1]! > column) columns.pop();
    if (columns.length === 0 || columns[columns.length - 1]! < column) columns.push(column);
  };
  for (const token of new Lexer().lex(text)) {
    if (token === CST.SCALAR) {
      scalarNext = true;
      if (++values > MAX_YAML_VALUES) {
        return {
          ...locate(offset),
          code: "yaml-too-many-values",
          message: `the file holds more than ${MAX_YAML_VALUES.toLocaleString("en")} YAML values (about 50,000 tokens)`,
          fix: "this is not a tokens.yaml of one tenant: check that the right file is named",
        };
      }
      continue;
    }
    if (markers.has(token)) continue;
    const start = offset;
    offset += token.length;
    const type = scalarNext ? "scalar" : CST.tokenType(token);
    scalarNext = false;
    const lastNewline = token.lastIndexOf("\n");
    if (type === "newline" || (type === "scalar" && lastNewline >= 0)) {
      lineStart = start + lastNewline + 1;
      atLineStart = lastNewline === token.length - 1;
      continue;
    }
    if (type === "space" || type === "comment") continue;
    if (flow === 0 && (atLineStart || type === "seq-item-ind" || type === "explicit-key-ind")) enterBlock(start - lineStart);
    atLineStart = false;
    if (type === "flow-seq-start" || type === "flow-map-start") flow++;
    if ((type === "flow-seq-end" || type === "flow-map-end") && flow > 0) flow--;
    if (columns.length + flow > MAX_NESTING) {
      return {
        ...locate(start),
        code: "yaml-too-deep",
        message: `lists and mappings nest more than ${MAX_NESTING} levels deep here (${flow > 0 ? "[ ] and { } brackets" : "indentation"}); tokens.yaml needs 5`,
        fix: "this is not a tokens.yaml: check that the right file is named; a real one has version, defaults, policy, seeds and a tokens list",
      };
    }
  }
  return undefined;
}

/** Checks on the raw text, before the yaml library sees it. */
export function hostileTextDiagnostics(text: string, locate: Locate): Diagnostic[] {
  const characters = rawCharacterDiagnostics(text, locate);
  if (characters.length > 0) return characters;
  const shape = shapeDiagnostic(text, locate);
  return shape ? [shape] : [];
}

/** The YAML 1.2 core schema's own tags: anything else (!!js/function, !!binary, !!set, !local) is refused. */
const CORE_TAGS = new Set(["str", "int", "float", "bool", "null", "map", "seq"].map((name) => `tag:yaml.org,2002:${name}`));

/** Where the tag written before a value starts (the value's own position when it cannot be told). */
function tagStart(text: string, valueStart: number): number {
  let start = valueStart;
  while (start > 0 && /[ \t]/.test(text[start - 1]!)) start--;
  const end = start;
  while (start > 0 && !/[\s,[{]/.test(text[start - 1]!)) start--;
  return text[start] === "!" && start < end ? start : valueStart;
}

/** Checks on the parsed document, before it becomes data: tags, aliases, and what escapes produce. */
export function hostileDocumentDiagnostics(doc: Document, text: string, locate: Locate, maxAliases: number): Diagnostic[] {
  const { isScalar, visit } = yamlLibrary();
  const diagnostics: Diagnostic[] = [];
  let aliases = 0;
  const checkTag = (node: YamlNode) => {
    if (node.tag === undefined || CORE_TAGS.has(node.tag)) return;
    diagnostics.push({
      ...locate(tagStart(text, node.range?.[0] ?? 0)),
      code: "unknown-tag",
      message: `the YAML tag ${showEscaped(node.tag.replace(/^tag:yaml\.org,2002:/, "!!"))} is not accepted: tokens.yaml holds plain text, numbers and lists, and a tag would change how the value is read`,
      fix: "remove the tag; quote the value if it must start with !",
    });
  };
  visit(doc, {
    Collection(_, collection) {
      checkTag(collection);
    },
    Alias(_, alias) {
      // Past the limit the alias-count check reports; resolving more would cost time for nothing.
      if (++aliases > maxAliases) return visit.BREAK;
      if (alias.resolve(doc) === undefined) {
        diagnostics.push({
          ...locate(alias.range?.[0] ?? 0),
          code: "yaml-undefined-alias",
          message: `the alias *${showEscaped(alias.source)} refers to no anchor &${showEscaped(alias.source)} defined before it`,
          fix: `define \`&${showEscaped(alias.source)}\` on a value above this line, or write the value out here`,
        });
      }
      return undefined;
    },
    Scalar(_, scalar) {
      checkTag(scalar);
      // Escapes ("\e", "\u200B") produce characters the raw-text check cannot see.
      if (typeof scalar.value !== "string") return;
      const unsafe = allUnsafeCharacters(scalar.value).next().value;
      // The value is not shown: it could be a secret pasted where it does not belong.
      if (unsafe) diagnostics.push(characterDiagnostic(unsafe, locate(scalar.range?.[0] ?? 0), "this value (written with an escape)"));
    },
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value !== "upn" || !isScalar(pair.value) || typeof pair.value.value !== "string") return;
      const upn = pair.value.value;
      // Control and invisible characters have their own, more telling, diagnostic (from Scalar).
      const index = upn.search(/[^\u0000-\u007F]/u);
      if (index < 0 || findUnsafeCharacter(upn) !== undefined) return;
      const codePoint = upn.codePointAt(index) ?? 0;
      const quoted = pair.value.type === "QUOTE_DOUBLE" || pair.value.type === "QUOTE_SINGLE" ? 1 : 0;
      diagnostics.push({
        ...locate((pair.value.range?.[0] ?? 0) + quoted + index),
        code: "upn-not-ascii",
        message: `the upn ${JSON.stringify(showEscaped(upn))} holds ${describeCodePoint(codePoint)} ${JSON.stringify(String.fromCodePoint(codePoint))}; Entra user principal names are ASCII, so this is a look-alike of another address`,
        fix: "retype the address by hand in plain ASCII, as it appears in Entra (userPrincipalName)",
      });
    },
  });
  return diagnostics;
}
