import { Document } from "yaml";
import type { LiveState, LiveToken, TokenState } from "../model/index.js";
import { lookupUser, serialKey } from "../plan/compare.js";
import { appendToken, ATTRIBUTES, defaultsOf, finishEdit, openTokens, tokenNode, type Attribute } from "./edit.js";

// `entra-tokens import`: the tenant as tokens.yaml, so that `plan` afterwards has nothing to do.
// Pure: the caller reads the tenant and writes the file.

export interface ImportOptions {
  /** Also record pool tokens users claimed by self-service as theirs. */
  selfService: boolean;
  /** For a new file: the `$schema` path for the editor line. */
  schemaPath?: string;
}

export interface ImportResult {
  text: string;
  added: { serial: string; state: TokenState; upn?: string }[];
  claimed: { serial: string; upn: string }[];
  /** Devices held by someone Graph could not name (a deleted or hidden account): added as pool tokens. */
  unresolved: string[];
}

/** `existing`: the current tokens.yaml text, or undefined to write a new file. */
export function importTenant(file: string, existing: string | undefined, live: LiveState, options: ImportOptions): ImportResult {
  const edit = openTokens(existing ?? newFileText(live.devices, options.schemaPath), file);
  const defaults = defaultsOf(edit);
  const declared = new Map(edit.desired.tokens.map((t) => [serialKey(t.serial), t]));
  const result: Omit<ImportResult, "text"> = { added: [], claimed: [], unresolved: [] };

  for (const device of [...live.devices].sort((a, b) => a.serial.localeCompare(b.serial))) {
    const token = declared.get(serialKey(device.serial));
    const holder = holderOf(device, live);
    if (token) {
      if (options.selfService && token.state === "available" && holder) {
        const node = tokenNode(edit, token.serial);
        node.delete("returnedBy");
        node.set("state", holder.state);
        node.set("upn", holder.upn);
        result.claimed.push({ serial: token.serial, upn: holder.upn });
      }
      continue;
    }
    if (device.assignedTo && !holder) result.unresolved.push(device.serial);
    const state: TokenState = holder?.state ?? "available";
    const fields: Record<string, string | number> = { serial: device.serial, state };
    if (holder) fields["upn"] = holder.upn;
    if (device.displayName !== undefined && device.displayName !== "") fields["displayName"] = device.displayName;
    for (const attribute of ATTRIBUTES) {
      const value = device[attribute];
      if (value !== "" && value !== defaults[attribute]) fields[attribute] = value;
    }
    appendToken(edit, fields);
    result.added.push({ serial: device.serial, state, ...(holder ? { upn: holder.upn } : {}) });
  }
  return { text: finishEdit(edit), ...result };
}

function holderOf(device: LiveToken, live: LiveState): { upn: string; state: "assigned" | "activated" } | undefined {
  if (!device.assignedTo) return undefined;
  const user = lookupUser(live.directory, device.assignedTo.id);
  if (!user) return undefined;
  // failedActivation: the holder has to activate again, which `assigned` leaves to them.
  return { upn: user.userPrincipalName, state: device.status === "activated" ? "activated" : "assigned" };
}

/** A new tokens.yaml whose `defaults` hold the most common value of each attribute. */
function newFileText(devices: readonly LiveToken[], schemaPath: string | undefined): string {
  const defaults: Partial<Record<Attribute, string | number>> = {};
  for (const attribute of ATTRIBUTES) {
    const common = mostCommon(devices.map((d) => d[attribute]).filter((v) => v !== ""));
    if (common !== undefined) defaults[attribute] = common;
  }
  const doc = new Document({
    version: 1,
    ...(Object.keys(defaults).length > 0 ? { defaults } : {}),
    policy: { unmanaged: "report", maxDeletes: 5, selfService: "keep" },
    tokens: [],
  });
  const header = ["Hardware OATH tokens of this tenant, imported with `entra-tokens import`. No secrets here: seeds live in encrypted seed files."];
  if (schemaPath !== undefined) header.unshift(` yaml-language-server: $schema=${schemaPath}`);
  doc.commentBefore = header.map((line) => (line.startsWith(" ") ? line : ` ${line}`)).join("\n");
  return doc.toString({ lineWidth: 0 });
}

function mostCommon<T>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  let best: T | undefined;
  for (const value of values) {
    const count = (counts.get(value) ?? 0) + 1;
    counts.set(value, count);
    if (best === undefined || count > (counts.get(best) ?? 0)) best = value;
  }
  return best;
}
