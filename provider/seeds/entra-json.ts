import type { HashFunction, TimeInterval } from "../model/index.js";
import { SeedFileError } from "./errors.js";
import type { Seed } from "./model.js";
import { normalizeSecret } from "./normalize.js";

// Entra's JSON: the Graph bulk body {"@context":"#$delta","value":[device…]}, or a plain array of devices.

export function looksLikeEntraJson(text: string): boolean {
  return /^\s*[[{]/.test(text);
}

export function readEntraJson(text: string, file: string): Seed[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SeedFileError(file, "not valid JSON", "export the file again as the Graph bulk body or a JSON array of devices");
  }
  const items: unknown = Array.isArray(parsed) ? parsed : typeof parsed === "object" && parsed !== null && "value" in parsed ? parsed.value : undefined;
  if (!Array.isArray(items)) throw new SeedFileError(file, 'expected {"value":[...]} or a JSON array', "use the Graph bulk body or a JSON array of devices");
  return items.map((item: unknown, index: number): Seed => {
    const at = index + 1;
    if (typeof item !== "object" || item === null) throw new SeedFileError(file, "an entry is not an object", "each entry needs serialNumber and secretKey", at);
    const field = (name: string): unknown => Reflect.get(item, name);
    const serial = field("serialNumber");
    if (typeof serial !== "string" || serial.trim() === "") throw new SeedFileError(file, "an entry has no serialNumber", "add the serial printed on the token", at);
    const raw = field("secretKey");
    const secret = normalizeSecret(typeof raw === "string" ? raw : "");
    if (!secret.ok) throw new SeedFileError(file, secret.reason, "use the secret exactly as the vendor sent it (base32)", at, serial);
    const interval = Number(field("timeIntervalInSeconds") ?? 30);
    if (interval !== 30 && interval !== 60) throw new SeedFileError(file, `time interval ${String(field("timeIntervalInSeconds"))} is not 30 or 60`, "Entra supports 30- and 60-second tokens only", at, serial);
    const hash = field("hashFunction");
    const manufacturer = field("manufacturer");
    const model = field("model");
    return {
      serial,
      secret: secret.secret,
      timeIntervalInSeconds: interval satisfies TimeInterval,
      ...(hash === "hmacsha1" || hash === "hmacsha256" ? { hashFunction: hash satisfies HashFunction } : {}),
      ...(typeof manufacturer === "string" ? { manufacturer } : {}),
      ...(typeof model === "string" ? { model } : {}),
    };
  });
}
