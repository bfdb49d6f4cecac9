import { applyPatch, createTwoFilesPatch, structuredPatch } from "diff";
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
 * file as written; where that patch does not apply cleanly, the re-printed file is used.
 */
export function finishEdit(edit: TokensEdit): string {
  const printed = edit.doc.toString({ lineWidth: 0 });
  const unchanged = parseDocument(edit.original.replace(/^\uFEFF/, "")).toString({ lineWidth: 0 });
  const patched = applyPatch(edit.original, structuredPatch("a", "b", unchanged, printed, undefined, undefined, { context: 1 }), { fuzzFactor: 1 });
  const text = patched !== false && sameData(patched, printed) ? patched : printed;
  const after = parseDesired(text, edit.file);
  if (!after.ok) throw new EditError(`the edit would make ${edit.file} invalid (${after.diagnostics[0]?.message ?? "unknown"}); nothing was changed`);
  return text;
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
