import { createHash } from "node:crypto";
import { applyPlan } from "../apply/apply.js";
import { parseDesired } from "../desired/load.js";
import { GraphClient } from "../graph/client.js";
import { credentialFromEnv } from "../graph/credentials.js";
import { TokenRepository } from "../graph/repository.js";
import type { Desired, DesiredToken, LiveState, LiveToken, LiveUser, TokenState } from "../model/index.js";
import { plan } from "../plan/plan.js";
import { SeedStore } from "../seeds/model.js";
import { normalizeSecret } from "../seeds/normalize.js";

// What the HardwareOathToken dynamic provider does, one token at a time, on the same planner,
// Graph client and apply code as the CLI. Loaded by the provider process at call time; every
// credential and URL is read from that process's environment when a call arrives.

export interface TokenInputs {
  serial: string;
  state: TokenState;
  upn?: string;
  displayName?: string;
  manufacturer: string;
  model: string;
  timeIntervalInSeconds: 30 | 60;
  hashFunction: "hmacsha1" | "hmacsha256";
  /** Secret input; never an output. */
  secretKey?: string;
}

export interface TokenOutputs extends Omit<TokenInputs, "secretKey"> {
  deviceId: string;
  /** Graph's status, failedActivation included. */
  status: string;
  /** SHA-256 of serial and seed, to notice a changed seed without storing it (a secret output too). */
  secretFingerprint?: string;
}

interface CheckFailure {
  property: string;
  reason: string;
}

type Props = Record<string, unknown>;

const ATTRIBUTE_FIELDS = ["manufacturer", "model", "timeIntervalInSeconds", "hashFunction"] as const;

export function fingerprint(serial: string, secretKey: string): string {
  return createHash("sha256").update(`${serial.toUpperCase()}\n${secretKey}`).digest("hex");
}

/** The same rules as tokens.yaml: the token is checked by the very loader `validate` uses. */
/** Properties the resource carries that are not token fields: the SDK's and our outputs. */
const NOT_TOKEN_FIELDS = new Set(["__provider", "deviceId", "status", "secretFingerprint", "secretKey"]);

export function check(news: Props): { inputs: Props; failures: CheckFailure[] } {
  const secretKey = news["secretKey"];
  const token = Object.fromEntries(Object.entries(news).filter(([key, value]) => !NOT_TOKEN_FIELDS.has(key) && value !== undefined));
  const failures: CheckFailure[] = [];
  // JSON is YAML: the token goes through the schema and the semantic checks unchanged.
  const document = JSON.stringify({ version: 1, tokens: [token] });
  const result = parseDesired(document, `HardwareOathToken ${String(token["serial"] ?? "")}`);
  if (!result.ok) {
    for (const d of result.diagnostics) {
      const property = /field "?(\w+)/.exec(d.message)?.[1] ?? (d.code === "upn-state" ? "upn" : "serial");
      failures.push({ property, reason: `${d.message}. Fix: ${d.fix}` });
    }
  }
  const inputs: Props = { ...news };
  if (secretKey !== undefined) {
    const normalized = typeof secretKey === "string" ? normalizeSecret(secretKey) : { ok: false as const, reason: "the secret key must be a string" };
    if (normalized.ok) inputs["secretKey"] = normalized.secret.reveal();
    else failures.push({ property: "secretKey", reason: `${normalized.reason} (the value is not shown)` });
  }
  return { inputs, failures };
}

export function diff(olds: Props, news: Props): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces: string[] = [];
  const changed: string[] = [];
  if (String(olds["serial"]).toUpperCase() !== String(news["serial"]).toUpperCase()) replaces.push("serial");
  const newSecret = news["secretKey"];
  if (typeof newSecret === "string" && olds["secretFingerprint"] !== undefined && olds["secretFingerprint"] !== fingerprint(String(news["serial"]), newSecret)) {
    replaces.push("secretKey");
  }
  // Graph changes attributes only on unassigned tokens; on an assigned one they mean a new token.
  const assigned = olds["status"] !== "available";
  for (const field of ATTRIBUTE_FIELDS) {
    if (olds[field] !== news[field]) (assigned ? replaces : changed).push(field);
  }
  const satisfied = olds["state"] === "activated" && news["state"] === "assigned";
  if (olds["state"] !== news["state"] && !satisfied) changed.push("state");
  if ((olds["upn"] ?? "").toString().toLowerCase() !== (news["upn"] ?? "").toString().toLowerCase()) changed.push("upn");
  if (news["displayName"] !== undefined && olds["displayName"] !== news["displayName"]) changed.push("displayName");
  return { changes: replaces.length + changed.length > 0, replaces, deleteBeforeReplace: true };
}

function repository(): TokenRepository {
  const { credential } = credentialFromEnv(process.env);
  const graphUrl = process.env["ENTRA_TOKENS_GRAPH_URL"];
  return new TokenRepository(new GraphClient({ credential, ...(graphUrl ? { graphUrl } : {}) }));
}

function desiredToken(inputs: TokenInputs): DesiredToken {
  return {
    serial: inputs.serial,
    state: inputs.state,
    ...(inputs.upn === undefined ? {} : { upn: inputs.upn }),
    ...(inputs.displayName === undefined ? {} : { displayName: inputs.displayName }),
    manufacturer: inputs.manufacturer,
    model: inputs.model,
    timeIntervalInSeconds: inputs.timeIntervalInSeconds,
    hashFunction: inputs.hashFunction,
    location: { file: "pulumi", line: 1, column: 1 },
  };
}

/** Converges one token with the shared planner and apply; fails with the plan's own words. */
async function converge(repo: TokenRepository, inputs: TokenInputs, device: LiveToken | undefined): Promise<void> {
  const desired: Desired = { file: "pulumi", version: 1, policy: { unmanaged: "ignore", maxDeletes: 0 }, seedFiles: [], tokens: [desiredToken(inputs)] };
  const keys = [...(inputs.upn ? [inputs.upn] : []), ...(device?.assignedTo ? [device.assignedTo.id] : [])];
  const users = await repo.resolveUsers(keys);
  for (const user of [...users.values()]) if (user) users.set(user.id.toLowerCase(), user);
  const live: LiveState = { devices: device ? [device] : [], directory: { users } };
  const seeds = new SeedStore();
  if (inputs.secretKey) {
    const secret = normalizeSecret(inputs.secretKey);
    if (secret.ok) seeds.add({ serial: inputs.serial, secret: secret.secret });
  }
  const steps = plan(desired, live, { seeds: seeds.serials() });
  if (steps.errors.length > 0) throw new Error(steps.errors.map((e) => `${e.message}. Fix: ${e.fix}`).join("; "));
  const report = await applyPlan(steps, repo, { seeds });
  const failed = report.outcomes.filter((o) => o.status !== "succeeded");
  if (failed.length > 0) throw new Error(failed.map((o) => `${o.step.kind} ${o.step.serial}: ${o.message ?? o.status}`).join("; "));
}

async function outputsOf(repo: TokenRepository, device: LiveToken, previous: Props): Promise<TokenOutputs> {
  let upn: string | undefined;
  if (device.assignedTo) {
    const users = await repo.resolveUsers([device.assignedTo.id]);
    const user: LiveUser | null | undefined = users.get(device.assignedTo.id.toLowerCase());
    upn = user?.userPrincipalName;
  }
  const state: TokenState = device.status === "activated" ? "activated" : device.status === "available" ? "available" : "assigned";
  const fingerprintOut = previous["secretFingerprint"];
  return {
    deviceId: device.id,
    serial: device.serial,
    state,
    status: device.status,
    ...(upn === undefined ? {} : { upn }),
    ...(device.displayName === undefined ? {} : { displayName: device.displayName }),
    manufacturer: device.manufacturer,
    model: device.model,
    timeIntervalInSeconds: device.timeIntervalInSeconds,
    hashFunction: device.hashFunction,
    ...(typeof fingerprintOut === "string" ? { secretFingerprint: fingerprintOut } : {}),
  };
}

function inputsOf(props: Props): TokenInputs {
  // check() has validated these with the tokens.yaml rules before any of the calls below.
  return props as unknown as TokenInputs;
}

export async function create(props: Props): Promise<{ id: string; outs: TokenOutputs }> {
  const inputs = inputsOf(props);
  if (!inputs.secretKey) throw new Error(`token ${inputs.serial}: no secretKey; pass the seed (as a secret) to create it`);
  const repo = repository();
  const existing = await repo.deviceBySerial(inputs.serial);
  if (existing) {
    throw new Error(`token ${inputs.serial} already exists in Entra (device ${existing.id}); adopt it with: pulumi import entra-tokens:index:HardwareOathToken ${inputs.serial} ${existing.id}`);
  }
  await converge(repo, inputs, undefined);
  const device = await repo.deviceBySerial(inputs.serial);
  if (!device) throw new Error(`token ${inputs.serial} was created but cannot be read back; run pulumi refresh`);
  return { id: device.id, outs: await outputsOf(repo, device, { secretFingerprint: fingerprint(inputs.serial, inputs.secretKey) }) };
}

/** Refresh and `pulumi import` (by device id or by serial). */
export async function read(id: string, props: Props): Promise<{ id?: string; props?: TokenOutputs }> {
  const repo = repository();
  const isGuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
  const device = isGuid ? await repo.getDevice(id) : await repo.deviceBySerial(id);
  if (!device) return {};
  return { id: device.id, props: await outputsOf(repo, device, props) };
}

export async function update(id: string, olds: Props, news: Props): Promise<{ outs: TokenOutputs }> {
  const inputs = inputsOf(news);
  const repo = repository();
  const device = await repo.getDevice(id);
  if (!device) throw new Error(`token ${inputs.serial} (device ${id}) is gone from Entra; run pulumi refresh`);
  await converge(repo, inputs, device);
  const after = (await repo.getDevice(id)) ?? device;
  const secretFingerprint = inputs.secretKey ? fingerprint(inputs.serial, inputs.secretKey) : olds["secretFingerprint"];
  return { outs: await outputsOf(repo, after, { secretFingerprint }) };
}

/** Unassign, then delete; a token already gone counts as deleted. */
export async function remove(id: string): Promise<void> {
  const repo = repository();
  const device = await repo.getDevice(id);
  if (!device) return;
  if (device.assignedTo) {
    const [unassigned] = await repo.unassign([{ userId: device.assignedTo.id, deviceId: id }]);
    if (unassigned && !unassigned.ok) throw unassigned.error;
  }
  const [deleted] = await repo.delete([{ deviceId: id }]);
  if (deleted && !deleted.ok) throw deleted.error;
}
