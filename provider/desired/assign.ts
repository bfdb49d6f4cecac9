import { isMap, isSeq, parseDocument } from "yaml";
import { parseDesired } from "./load.js";

// The vendor enrolment assistant's "Apply & Assign" as an edit of tokens.yaml: each listed user
// gets a free serial from the pool. Comments and layout stay, so the change reviews as a PR.

export interface UserLine {
  upn: string;
  displayName?: string;
  line: number;
}

export class AssignError extends Error {}

const UPN = /^[^\s@,]+@[^\s@,]+\.[^\s@.,]+$/;

/** `upn` or `upn,display name` per line; blank lines and # comments are skipped. */
export function parseUsersFile(text: string, file: string): UserLine[] {
  const users: UserLine[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const [upnPart = "", ...rest] = line.split(",");
    const upn = upnPart.trim();
    const displayName = rest.join(",").trim();
    if (!UPN.test(upn)) throw new AssignError(`${file}:${index + 1}: "${upn}" is not a user principal name; write upn or upn,display name per line`);
    if (seen.has(upn.toLowerCase())) throw new AssignError(`${file}:${index + 1}: ${upn} is listed twice`);
    seen.add(upn.toLowerCase());
    users.push({ upn, ...(displayName === "" ? {} : { displayName }), line: index + 1 });
  });
  return users;
}

export interface AssignResult {
  text: string;
  assigned: { serial: string; upn: string }[];
  skipped: { upn: string; reason: string }[];
}

/** Pure: returns the new tokens.yaml text; all or nothing when the pool is too small. */
export function assignFromPool(tokensText: string, file: string, users: readonly UserLine[], state: "assigned" | "activated"): AssignResult {
  const before = parseDesired(tokensText, file);
  if (!before.ok) throw new AssignError(`${file} is invalid; run \`entra-tokens validate ${file}\` and fix it first`);
  const holders = new Map<string, string[]>();
  for (const t of before.desired.tokens) if (t.upn) holders.set(t.upn.toLowerCase(), [...(holders.get(t.upn.toLowerCase()) ?? []), t.serial]);
  const skipped: AssignResult["skipped"] = [];
  const wanting = users.filter((u) => {
    const held = holders.get(u.upn.toLowerCase());
    if (held) skipped.push({ upn: u.upn, reason: `already holds ${held.join(", ")}` });
    return !held;
  });
  const pool = before.desired.tokens.map((t, index) => ({ t, index })).filter(({ t }) => t.state === "available");
  if (pool.length < wanting.length) {
    throw new AssignError(`the pool has ${pool.length} available tokens for ${wanting.length} users; add tokens (with their seeds) to ${file} first. Nothing was changed.`);
  }
  const doc = parseDocument(tokensText.replace(/^\uFEFF/, ""));
  const tokens = doc.get("tokens", true);
  if (!isSeq(tokens)) throw new AssignError(`${file} has no tokens list`);
  const assigned: AssignResult["assigned"] = [];
  wanting.forEach((user, i) => {
    const free = pool[i]!;
    const node = tokens.items[free.index];
    if (!isMap(node)) throw new AssignError(`${file}: token ${free.t.serial} is not a mapping`);
    node.delete("returnedBy");
    node.set("state", state);
    node.set("upn", user.upn);
    if (user.displayName !== undefined) node.set("displayName", user.displayName);
    assigned.push({ serial: free.t.serial, upn: user.upn });
  });
  const text = doc.toString({ lineWidth: 0 });
  const after = parseDesired(text, file);
  if (!after.ok) throw new AssignError(`the edit would make ${file} invalid (${after.diagnostics[0]?.message ?? "unknown"}); nothing was changed`);
  return { text, assigned, skipped };
}
