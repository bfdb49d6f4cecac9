import type { YAMLMap } from "yaml";
import type { DesiredToken } from "../model/index.js";
import type { UserLine } from "./assign.js";
import { EditError, finishEdit, openTokens, tokenNode, type TokensEdit } from "./edit.js";

// The day-to-day jobs as reviewable edits of tokens.yaml: a lost or broken token is retired (Entra
// forgets it, git keeps it), a replacement gives the holder a pool token, a leaver's tokens go back
// to the pool or are retired. Pure; `today` (YYYY-MM-DD) only dates the history comment.

export interface LifecycleResult {
  text: string;
  changes: string[];
}

export interface AssignResult {
  text: string;
  assigned: { serial: string; upn: string }[];
  skipped: { upn: string; reason: string }[];
}

/**
 * The vendor enrolment assistant's "Apply & Assign": each listed user gets a free serial from the
 * pool. All or nothing when the pool is too small.
 */
export function assignFromPool(tokensText: string, file: string, users: readonly UserLine[], state: "assigned" | "activated"): AssignResult {
  const edit = openTokens(tokensText, file);
  const holders = new Map<string, string[]>();
  for (const t of edit.desired.tokens) if (t.upn) holders.set(t.upn.toLowerCase(), [...(holders.get(t.upn.toLowerCase()) ?? []), t.serial]);
  const skipped: AssignResult["skipped"] = [];
  const wanting = users.filter((u) => {
    const held = holders.get(u.upn.toLowerCase());
    if (held) skipped.push({ upn: u.upn, reason: `already holds ${held.join(", ")}` });
    return !held;
  });
  const pool = edit.desired.tokens.filter((t) => t.state === "available");
  if (pool.length < wanting.length) {
    throw new EditError(`the pool has ${pool.length} available ${pool.length === 1 ? "token" : "tokens"} for ${wanting.length} ${wanting.length === 1 ? "user" : "users"}; add a delivery first (\`entra-tokens add <seed file>\`). Nothing was changed.`);
  }
  const assigned = wanting.map((user, i) => {
    const free = pool[i]!;
    const node = tokenNode(edit, free.serial);
    node.delete("returnedBy");
    node.set("state", state);
    node.set("upn", user.upn);
    if (user.displayName !== undefined) node.set("displayName", user.displayName);
    return { serial: free.serial, upn: user.upn };
  });
  return { text: finishEdit(edit), assigned, skipped };
}

/** Marks tokens retired: the next apply unassigns and deletes them; the entry stays, with a dated note. */
export function retireTokens(file: string, text: string, serials: readonly string[], today: string, why = "lost or broken"): LifecycleResult {
  const edit = openTokens(text, file);
  // `retire P-1 P-1` retires once: one history note, not two.
  const changes = [...new Set(serials)].map((serial) => retire(edit, declared(edit, serial), today, why));
  return { text: finishEdit(edit), changes };
}

/** The holder of `serial` gets a free pool token (or `replacement`) in the same state; the old one is retired. */
export function replaceToken(file: string, text: string, serial: string, today: string, replacement?: string): LifecycleResult {
  const edit = openTokens(text, file);
  const old = declared(edit, serial);
  if ((old.state !== "assigned" && old.state !== "activated") || old.upn === undefined) {
    throw new EditError(`token ${old.serial} is ${old.state}, not held by anyone; to take it out of use, run \`entra-tokens retire ${old.serial}\``);
  }
  const fresh = replacement === undefined ? edit.desired.tokens.find((t) => t.state === "available") : declared(edit, replacement);
  if (!fresh) throw new EditError(`the pool in ${file} has no available token to replace ${old.serial} with; add a delivery first (\`entra-tokens add <seed file>\`). Nothing was changed.`);
  if (fresh.state !== "available") throw new EditError(`token ${fresh.serial} is ${fresh.state}; a replacement must come from the pool (state available)`);
  const node = tokenNode(edit, fresh.serial);
  node.delete("returnedBy");
  node.set("state", old.state);
  node.set("upn", old.upn);
  if (old.displayName !== undefined) node.set("displayName", old.displayName);
  const retired = retire(edit, old, today, `replaced by ${fresh.serial}`);
  return { text: finishEdit(edit), changes: [`${fresh.serial}: ${old.state} to ${old.upn}`, retired] };
}

/** A leaver's tokens: back to the pool (name cleared) or retired. */
export function leaver(file: string, text: string, upn: string, mode: "pool" | "retire", today: string): LifecycleResult {
  const edit = openTokens(text, file);
  const held = edit.desired.tokens.filter((t) => t.upn?.toLowerCase() === upn.toLowerCase());
  if (held.length === 0) throw new EditError(`${file} gives no token to ${upn}; nothing was changed`);
  const changes = held.map((token) => {
    if (mode === "retire") return retire(edit, token, today, `${upn} left`);
    const node = tokenNode(edit, token.serial);
    node.set("state", "available");
    node.delete("upn");
    node.delete("displayName");
    // Without it, policy.selfService: keep would take the leaver's holding for a self-service claim.
    node.set("returnedBy", token.upn ?? upn);
    return `${token.serial}: back to the pool (was ${token.state} to ${upn})`;
  });
  return { text: finishEdit(edit), changes };
}

function declared(edit: TokensEdit, serial: string): DesiredToken {
  const token = edit.desired.tokens.find((t) => t.serial.toUpperCase() === serial.toUpperCase());
  if (!token) throw new EditError(`${edit.file} declares no token with serial ${serial}; nothing was changed`);
  return token;
}

function retire(edit: TokensEdit, token: DesiredToken, today: string, why: string): string {
  if (token.state === "retired") throw new EditError(`token ${token.serial} is already retired; nothing was changed`);
  const node: YAMLMap = tokenNode(edit, token.serial);
  const was = token.upn === undefined ? token.state : `${token.state} to ${token.upn}`;
  node.set("state", "retired");
  node.delete("upn");
  node.delete("returnedBy");
  node.delete("displayName");
  const note = ` retired ${today}: ${why} (was ${was})`;
  node.commentBefore = node.commentBefore ? `${node.commentBefore}\n${note}` : note;
  return `${token.serial}: retired (${why}; was ${was})`;
}
