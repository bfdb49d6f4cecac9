import { createTwoFilesPatch, diffArrays } from "diff";
import { Document, isMap, isSeq, parseDocument, Scalar, type YAMLMap, type YAMLSeq } from "yaml";
import type { Desired, TokenAttributes } from "../model/index.js";
import { AssignError } from "./assign.js";
import { parseDesired } from "./load.js";

// Reviewable edits of tokens.yaml: parse with comments kept, change nodes in place, check that the
// result is still valid. Every lifecycle command (import, add, replace, leaver, retire) goes through here.

/** An edit that cannot be made; nothing is written. (An AssignError, so the CLI reports it as one.) */
export class EditError extends AssignError {}

export interface TokensEdit {
  /** The file as written, to which the edit is applied as a patch. */
  original: string;
  doc: Document;
  desired: Desired;
  tokens: YAMLSeq;
  file: string;
}

export function openTokens(text: string, file: string): TokensEdit {
  const before = parseDesired(text, file);
  if (!before.ok) throw new EditError(`${file} is invalid; run \`entra-tokens validate ${file}\` and fix it first. Nothing was changed.`);
  const doc = parseDocument(text.replace(/^\uFEFF/, ""));
  const tokens = doc.get("tokens", true);
  if (!isSeq(tokens)) throw new EditError(`${file} has no tokens list`);
  return { original: text, doc, desired: before.desired, tokens, file };
}

/** The mapping of the token at `index` of desired.tokens (the same order as the file). */
export function tokenNode(edit: TokensEdit, serial: string): YAMLMap {
  const index = edit.desired.tokens.findIndex((t) => t.serial.toUpperCase() === serial.toUpperCase());
  const node = index < 0 ? undefined : edit.tokens.items[index];
  if (!isMap(node)) throw new EditError(`${edit.file} declares no token with serial ${serial}`);
  return node;
}

/** A new token entry, in the style of the file's last entry (flow `{ … }` or block). Serials are always quoted. */
export function appendToken(edit: TokensEdit, fields: Record<string, string | number>): void {
  const node = edit.doc.createNode(fields) as YAMLMap;
  const serial = new Scalar(fields["serial"]);
  serial.type = Scalar.QUOTE_DOUBLE;
  node.set("serial", serial);
  const last = edit.tokens.items[edit.tokens.items.length - 1];
  if (isMap(last) && last.flow) node.flow = true;
  edit.tokens.items.push(node);
  // An empty `tokens: []` written as flow would keep new entries on one line.
  if (edit.tokens.flow && !node.flow) edit.tokens.flow = false;
}

/**
 * The new text, checked: an edit never leaves tokens.yaml invalid. The yaml library re-prints the
 * whole file (moving comments, spacing), so only the lines the edit changed are patched into the
 * file as written; where that cannot be done exactly, the re-printed file is used.
 */
export function finishEdit(edit: TokensEdit): string {
  const printed = edit.doc.toString({ lineWidth: 0 });
  const unchanged = parseDocument(edit.original.replace(/^\uFEFF/, "")).toString({ lineWidth: 0 });
  const patched = patchAsWritten(edit.original, unchanged, printed);
  const text = patched !== undefined && sameData(patched, printed) ? patched : printed;
  const after = parseDesired(text, edit.file);
  if (!after.ok) throw new EditError(`the edit would make ${edit.file} invalid (${after.diagnostics[0]?.message ?? "unknown"}); nothing was changed`);
  return text;
}

/**
 * Applies the change unchanged → printed (both re-printed by the library) to the original text.
 * Lines are located through a diff of original → unchanged; a change touching a line the library
 * re-printed differently gives up (undefined).
 */
function patchAsWritten(original: string, unchanged: string, printed: string): string | undefined {
  const source = original.split("\n");
  const before: number[] = [];
  const after: number[] = [];
  const exact: boolean[] = [];
  let at = 0;
  let removedFrom: number | undefined;
  for (const part of diffArrays(source, unchanged.split("\n"))) {
    if (part.removed) {
      removedFrom = at;
      at += part.count ?? part.value.length;
      continue;
    }
    for (let k = 0; k < part.value.length; k++) {
      if (part.added) {
        before.push(removedFrom ?? at);
        after.push(at);
        exact.push(false);
      } else {
        before.push(at);
        after.push(++at);
        exact.push(true);
      }
    }
    removedFrom = undefined;
  }
  const operations: { from: number; to: number; lines: string[] }[] = [];
  let line = 0;
  for (const part of diffArrays(unchanged.split("\n"), printed.split("\n"))) {
    const count = part.value.length;
    if (part.added) {
      const position = line === 0 ? 0 : after[line - 1]!;
      const last = operations[operations.length - 1];
      if (last && last.to === position && last.lines.length === 0) last.lines = part.value;
      else operations.push({ from: position, to: position, lines: part.value });
    } else if (part.removed) {
      for (let k = line; k < line + count; k++) if (!exact[k]) return undefined;
      operations.push({ from: before[line]!, to: after[line + count - 1]!, lines: [] });
      line += count;
    } else {
      line += count;
    }
  }
  for (const op of operations.reverse()) source.splice(op.from, op.to - op.from, ...op.lines);
  return source.join("\n");
}

/** The patch is only trusted when it says exactly what the re-printed file says. */
function sameData(patched: string, printed: string): boolean {
  const a = parseDocument(patched);
  return a.errors.length === 0 && JSON.stringify(a.toJS()) === JSON.stringify(parseDocument(printed).toJS());
}

/** What --dry-run prints: a unified diff of the file. */
export function unifiedDiff(file: string, before: string, after: string): string {
  if (before === after) return `(no changes to ${file})\n`;
  return createTwoFilesPatch(`a/${file}`, `b/${file}`, before, after, undefined, undefined, { context: 2 });
}

export const ATTRIBUTES = ["manufacturer", "model", "timeIntervalInSeconds", "hashFunction"] as const;
export type Attribute = (typeof ATTRIBUTES)[number];
/** What the loader assumes when neither the token nor `defaults` says (see load.ts). */
const IMPLICIT: Partial<TokenAttributes> = { timeIntervalInSeconds: 30, hashFunction: "hmacsha1" };

/** The attributes a token gets without overriding them, as the loader computes them. */
export function defaultsOf(edit: TokensEdit): Partial<Record<Attribute, string | number>> {
  const file: unknown = edit.doc.toJS();
  const js: unknown = typeof file === "object" && file !== null ? Reflect.get(file, "defaults") : undefined;
  const values: Partial<Record<Attribute, string | number>> = { ...IMPLICIT };
  if (typeof js === "object" && js !== null) {
    for (const attribute of ATTRIBUTES) {
      const value: unknown = Reflect.get(js, attribute);
      if (typeof value === "string" || typeof value === "number") values[attribute] = value;
    }
  }
  return values;
}
