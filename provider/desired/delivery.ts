import { isMap, isScalar, isSeq } from "yaml";
import type { SeedFileRef } from "../model/index.js";
import { serialKey } from "../plan/compare.js";
import type { UserLine } from "./assign.js";
import { appendToken, ATTRIBUTES, defaultsOf, EditError, finishEdit, openTokens } from "./edit.js";

// `entra-tokens add`: a vendor delivery into tokens.yaml. Every serial of the seed file becomes a
// token with the attributes the seed file states (they describe the physical token), in the pool
// or given to the users listed. Pure: the caller reads the seed file (secrets stay there).

/** What a seed says about a token, without its secret. */
export interface DeliveredToken {
  serial: string;
  timeIntervalInSeconds?: 30 | 60;
  hashFunction?: "hmacsha1" | "hmacsha256";
  manufacturer?: string;
  model?: string;
}

/** The `seeds:` entry naming the seed file (path relative to tokens.yaml), as tokens.yaml writes it. */
export type SeedEntry = Omit<SeedFileRef, "path"> & { file: string };

export interface DeliveryOptions {
  seedEntry: SeedEntry;
  /** Users to give the new tokens to, in order; the rest go to the pool. */
  users?: readonly UserLine[];
  state: "assigned" | "activated";
}

export interface DeliveryResult {
  text: string;
  added: { serial: string; upn?: string }[];
  /** Serials tokens.yaml already declares: left as they are. */
  alreadyDeclared: string[];
  seedEntryAdded: boolean;
}

export function addDelivery(file: string, text: string, delivered: readonly DeliveredToken[], options: DeliveryOptions): DeliveryResult {
  const edit = openTokens(text, file);
  const declared = new Set(edit.desired.tokens.map((t) => serialKey(t.serial)));
  const fresh = delivered.filter((t) => !declared.has(serialKey(t.serial)));
  const alreadyDeclared = delivered.filter((t) => declared.has(serialKey(t.serial))).map((t) => t.serial);
  const users = options.users ?? [];
  if (users.length > fresh.length) {
    throw new EditError(`the delivery has ${fresh.length} new tokens for ${users.length} users; nothing was changed`);
  }
  const defaults = defaultsOf(edit);
  const added: DeliveryResult["added"] = [];
  fresh.forEach((token, index) => {
    const user = users[index];
    const fields: Record<string, string | number> = { serial: token.serial, state: user ? options.state : "available" };
    if (user) fields["upn"] = user.upn;
    if (user?.displayName !== undefined) fields["displayName"] = user.displayName;
    for (const attribute of ATTRIBUTES) {
      const value = token[attribute];
      if (value !== undefined && value !== defaults[attribute]) fields[attribute] = value;
    }
    appendToken(edit, fields);
    added.push({ serial: token.serial, ...(user ? { upn: user.upn } : {}) });
  });
  const seedEntryAdded = addSeedEntry(edit.doc, options.seedEntry);
  return { text: finishEdit(edit), added, alreadyDeclared, seedEntryAdded };
}

/** Adds the seed file to `seeds:` unless tokens.yaml already names it. */
function addSeedEntry(doc: ReturnType<typeof openTokens>["doc"], entry: SeedEntry): boolean {
  const seeds = doc.get("seeds", true);
  const normalise = (path: string) => path.replace(/^\.\//, "");
  if (isSeq(seeds)) {
    const named = seeds.items.some((item) => isMap(item) && typeof item.get("file") === "string" && normalise(String(item.get("file"))) === normalise(entry.file));
    if (named) return false;
    seeds.items.push(doc.createNode(entry));
    return true;
  }
  // A new `seeds:` goes just before `tokens:`, where the example file has it.
  const root = doc.contents;
  if (!isMap(root)) throw new EditError("tokens.yaml is not a mapping");
  const at = root.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === "tokens");
  root.items.splice(at < 0 ? root.items.length : at, 0, doc.createPair("seeds", [entry]));
  return true;
}
