import { availableParallelism } from "node:os";
import { GraphSession, tokensOnly, type ChangeResult, type TokenChange } from "../apply/session.js";
import { checkDesiredData } from "../desired/load.js";
import { connectionFromSettings } from "./connection-env.js";
import { checkProviderTenant } from "./provider-tenant.js";
import { stackSettings } from "./stack-settings.js";
import type { DesiredToken, LiveToken, LiveUser, PlanProblem, TokenAttributes, TokenState } from "../model/index.js";
import { serialKey } from "../plan/compare.js";
import { MAX_BULK_CREATE } from "../graph/repository.js";
import { booleanSetting } from "../safety/settings.js";
import { plan } from "../plan/plan.js";
import { publishableFingerprint, seedFingerprint } from "../seeds/fingerprint.js";
import { normalizeSecret } from "../seeds/normalize.js";
import { Secret } from "../seeds/secret.js";

// What the dynamic providers do, in the provider process the engine starts. One Graph session per
// process: the engine's concurrent calls are gathered into the same bulk requests as the CLI's
// apply, and every token goes through the same planner as `entra-tokens plan`.
//
// `v1` is a versioned interface: the provider text stored in every resource's state calls it, so
// its names and arguments stay as they are; a change in meaning needs a `v2` beside it.

export interface TokenInputs {
  serial: string;
  state: TokenState;
  upn?: string;
  displayName?: string;
  /** A pool token handed back by this user (a leaver): unassigned from them even when claims are kept. */
  returnedBy?: string;
  manufacturer: string;
  model: string;
  timeIntervalInSeconds: 30 | 60;
  hashFunction: "hmacsha1" | "hmacsha256";
  /** Secret input; never an output. */
  secretKey?: string;
  /**
   * The seed's fingerprint as the seed file states it in clear: a preview opens no seed, and still
   * sees a changed one (seeds/fingerprint.ts).
   */
  seedFingerprint?: string;
}

export interface TokenOutputs extends Omit<TokenInputs, "secretKey" | "seedFingerprint" | "state" | "returnedBy"> {
  /** The state the token is in now (`absent` once deleted). */
  state: TokenState | "absent";
  /** Graph's status, failedActivation included; `absent` when the device does not exist. */
  status: string;
  deviceId: string;
  /** The holder's object id, so a later diff knows who holds it without asking Graph. */
  userId?: string;
  /**
   * SHA-256 of serial and seed, to notice a changed seed without storing it: in clear for a seed of
   * 128 bits or more, as the encrypted seed store publishes it (seeds/fingerprint.ts), ...
   */
  seedFingerprint?: string;
  /** ... a secret output for a shorter seed, whose hash could be searched. */
  secretFingerprint?: string;
  /** The stack took over a device that already existed in Entra instead of creating it. */
  adopted?: true;
}

export interface InventoryInputs {
  /** Every serial of tokens.yaml and its desired state. */
  tokens: Record<string, string>;
  unmanaged: string;
  maxDeletes: number;
}

interface CheckFailure {
  property: string;
  reason: string;
}

type Props = Record<string, unknown>;
type DiffResult = { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean };

/** What the SDK's plugin calls on a provider: `configure` once, awaited, then the methods (cmd/dynamic-provider getProvider). */
export type PluginProvider = { configure(request: { config: { get(key: string): unknown } }): Promise<void> } & Partial<ProviderRuntimeV1["token"]>;

export interface ProviderRuntimeV1 {
  /** The stack's whole configuration, as the engine gives dynamic providers (pkg/resource/deploy/target.go). */
  configure(get: (key: string) => unknown): void;
  /** The provider of one kind, as the plugin takes it from `handler()`: what the stored text of the current version calls. */
  provider(kind: "token" | "inventory"): PluginProvider;
  token: {
    check(olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }>;
    diff(id: string, olds: Props, news: Props): Promise<DiffResult>;
    create(inputs: Props): Promise<{ id: string; outs: Props }>;
    read(id: string, props: Props): Promise<{ id?: string; props?: Props }>;
    update(id: string, olds: Props, news: Props): Promise<{ outs: Props }>;
    delete(id: string, props: Props): Promise<void>;
  };
  inventory: {
    check(olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }>;
    diff(id: string, olds: Props, news: Props): Promise<DiffResult>;
    /** Added after the first release: provider texts stored before do not call it. */
    read(id: string, props: Props): Promise<{ id?: string; props?: Props }>;
    create(inputs: Props): Promise<{ id: string; outs: Props }>;
    update(id: string, olds: Props, news: Props): Promise<{ outs: Props }>;
  };
}

/** Stack configuration keys (namespace entra-tokens). */
export const CONFIG_ADOPT_EXISTING = "entra-tokens:adoptExisting";
export const CONFIG_ALLOW_DELETES = "entra-tokens:allowDeletes";

// This process's knowledge: the stack config, the Graph session, whether its credentials sign in
// to the stack's tenant, and which deletions the inventory's Check allowed in this run.
let readConfig: (key: string) => unknown = () => undefined;
let session: GraphSession | undefined;
let tenantChecked: Promise<void> | undefined;
let allowedDeletions: ReadonlySet<string> = new Set();

/** A yes/no stack config key: true or false only, so `yes` or `1` is an error, never a silent "no". */
function configFlag(key: string, fallback: boolean): boolean {
  return booleanSetting(key, readConfig(key), fallback);
}

/**
 * The provider's front: credentials and Graph from the stack's config over the environment (read
 * once), as the engine configured this process. Gathering calls (changeDecided, expectChanges)
 * send nothing; what sends a request waits for `connected`.
 */
function graph(): GraphSession {
  if (session) return session;
  const connection = connectionFromSettings(stackSettings(readConfig, process.env), ({ status, delayMs, attempt }) =>
    note(`Graph ${status === "network" ? "connection dropped" : `answered ${status}`}; retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt})`),
  );
  // Every operation, a refresh or destroy run on its own included, refuses another tenant's credentials.
  tenantChecked = checkProviderTenant(readConfig, connection.credential);
  // Awaited by `connected`; a refusal must not end the process as an unhandled rejection meanwhile.
  tenantChecked.catch(() => undefined);
  session = GraphSession.forTenant(connection);
  return session;
}

/** The session, once the credentials are known to sign in to the stack's tenant. */
async function connected(): Promise<GraphSession> {
  const ready = graph();
  await tenantChecked;
  return ready;
}

/**
 * How many Create/Update/Delete calls the engine runs at once: `--parallel`, which the provider
 * cannot see, defaults to PULUMI_PARALLEL or 4 × CPUs (pkg/cmd/pulumi/operations/up.go
 * defaultParallel); the plugin inherits the variable.
 */
function engineParallelism(): number {
  const given = Number(process.env["PULUMI_PARALLEL"]);
  return Number.isSafeInteger(given) && given > 0 ? given : 4 * availableParallelism();
}

/** A gathering that still expects calls runs after this long with no call and no decision (an engine run with a lower `--parallel`). */
const GATHER_FALLBACK_MS = 500;

/** The engine shows a provider's stderr lines to the user (sdk/go/common/resource/plugin/plugin.go runtrace). */
function note(text: string): void {
  process.stderr.write(`entra-tokens: ${text}\n`);
}

function warn(problem: PlanProblem): void {
  note(`warning: ${problem.serial}: ${problem.message}. Fix: ${problem.fix}`);
}

/** Properties a resource carries that are not token fields: the SDK's and our outputs. */
const NOT_TOKEN_FIELDS = new Set(["__provider", "deviceId", "status", "userId", "secretFingerprint", "secretKey", "seedFingerprint", "adopted"]);

/** The token, checked by the very loader `validate` uses (JSON is YAML), or why it is not one. */
function validate(props: Props): { token?: DesiredToken; failures: CheckFailure[] } {
  const fields = Object.fromEntries(Object.entries(props).filter(([key, value]) => !NOT_TOKEN_FIELDS.has(key) && value !== undefined));
  const result = checkDesiredData({ version: 1, tokens: [fields] }, `HardwareOathToken ${String(fields["serial"] ?? "")}`);
  if (result.ok) {
    const token = result.desired.tokens[0];
    return token ? { token, failures: [] } : { failures: [{ property: "serial", reason: "no token" }] };
  }
  return {
    failures: result.diagnostics.map((d) => ({
      property: /field "?(\w+)/.exec(d.message)?.[1] ?? (d.code === "upn-state" ? "upn" : "serial"),
      reason: `${d.message}. Fix: ${d.fix}`,
    })),
  };
}

function tokenOf(props: Props): DesiredToken {
  const { token, failures } = validate(props);
  if (!token) throw new Error(`HardwareOathToken inputs are invalid: ${failures.map((f) => f.reason).join("; ")}`);
  return token;
}

function seedOf(props: Props): Secret | undefined {
  const value = props["secretKey"];
  if (typeof value !== "string") return undefined;
  const normalized = normalizeSecret(value);
  return normalized.ok ? normalized.secret : undefined;
}

/** How the state records a seed's fingerprint (TokenOutputs). */
type FingerprintOutput = Pick<TokenOutputs, "seedFingerprint" | "secretFingerprint">;

function fingerprintOutput(serial: string, seed: Secret): FingerprintOutput {
  const published = publishableFingerprint(serial, seed.reveal());
  return published === undefined ? { secretFingerprint: seedFingerprint(serial, seed.reveal()) } : { seedFingerprint: published };
}

/** The fingerprint a state recorded, carried over by a refresh. */
function recordedFingerprint(props: Props): FingerprintOutput {
  const { seedFingerprint: inClear, secretFingerprint: secret } = props;
  return { ...(typeof inClear === "string" ? { seedFingerprint: inClear } : {}), ...(typeof secret === "string" ? { secretFingerprint: secret } : {}) };
}

/** What the state records of a token: the device as it is, or the wanted attributes once it is gone. */
function outputs(serial: string, wanted: TokenAttributes, device: LiveToken | undefined, holder: LiveUser | undefined, fingerprint: FingerprintOutput, adopted: boolean): TokenOutputs {
  return {
    serial,
    state: !device ? "absent" : device.status === "activated" ? "activated" : device.status === "available" ? "available" : "assigned",
    status: device?.status ?? "absent",
    deviceId: device?.id ?? "",
    manufacturer: device?.manufacturer ?? wanted.manufacturer,
    model: device?.model ?? wanted.model,
    timeIntervalInSeconds: device?.timeIntervalInSeconds ?? wanted.timeIntervalInSeconds,
    hashFunction: device?.hashFunction ?? wanted.hashFunction,
    ...(device?.displayName === undefined ? {} : { displayName: device.displayName }),
    ...(device?.assignedTo ? { userId: device.assignedTo.id, upn: holder?.userPrincipalName ?? device.assignedTo.displayName ?? device.assignedTo.id } : {}),
    ...fingerprint,
    ...(adopted ? { adopted: true as const } : {}),
  };
}

/** The device a resource's state describes, for a diff that asks Graph nothing. */
function deviceOf(token: DesiredToken, olds: Props): { device?: LiveToken; holder?: LiveUser } {
  const status = olds["status"];
  const deviceId = olds["deviceId"];
  if (typeof deviceId !== "string" || deviceId === "" || (status !== "available" && status !== "assigned" && status !== "activated" && status !== "failedActivation")) return {};
  const text = (key: string): string | undefined => (typeof olds[key] === "string" ? (olds[key] as string) : undefined);
  const upn = text("upn");
  const holderId = text("userId") ?? (upn === undefined ? undefined : `upn:${upn}`);
  const interval = olds["timeIntervalInSeconds"];
  const hash = olds["hashFunction"];
  const device: LiveToken = {
    id: deviceId,
    serial: token.serial,
    status,
    manufacturer: text("manufacturer") ?? "",
    model: text("model") ?? "",
    timeIntervalInSeconds: interval === 60 ? 60 : 30,
    hashFunction: hash === "hmacsha256" ? "hmacsha256" : "hmacsha1",
    ...(text("displayName") === undefined ? {} : { displayName: text("displayName")! }),
    ...(holderId === undefined ? {} : { assignedTo: { id: holderId } }),
  };
  const holder: LiveUser | undefined = holderId === undefined ? undefined : { id: holderId, userPrincipalName: upn ?? holderId, userType: "Member", accountEnabled: true };
  return holder ? { device, holder } : { device };
}

/** The fingerprint of the seed the inputs carry: from the seed itself, or as its seed file states it. */
function seedFingerprintOf(news: Props): string | undefined {
  const secret = seedOf(news);
  if (secret) return seedFingerprint(String(news["serial"]), secret.reveal());
  const stated = news["seedFingerprint"];
  return typeof stated === "string" ? stated : undefined;
}

function seedChanged(olds: Props, news: Props): boolean {
  const before = olds["seedFingerprint"] ?? olds["secretFingerprint"];
  const now = seedFingerprintOf(news);
  return now !== undefined && typeof before === "string" && before !== now;
}

function mayDelete(serial: string): boolean {
  return allowedDeletions.has(serialKey(serial)) || configFlag(CONFIG_ALLOW_DELETES, false);
}

function report(token: DesiredToken, result: ChangeResult): void {
  for (const problem of result.warnings) warn(problem);
  const done = result.adopted ? [`adopted the existing device ${result.device?.id ?? ""}`.trim(), ...result.actions] : result.actions;
  if (done.length > 0) note(`${token.serial}: ${done.join(", ")}`);
}

async function converge(token: DesiredToken, props: Props, adoptedBefore: boolean, options: Omit<Extract<TokenChange, { kind: "converge" }>, "kind" | "token" | "seed" | "mayDelete">): Promise<TokenOutputs> {
  const seed = seedOf(props);
  const result = await (await connected()).change({ kind: "converge", token, ...(seed ? { seed } : {}), mayDelete: mayDelete(token.serial), ...options });
  report(token, result);
  return outputs(token.serial, token, result.device, result.holder, seed ? fingerprintOutput(token.serial, seed) : {}, adoptedBefore || result.adopted);
}

const methods: Omit<ProviderRuntimeV1, "provider"> = {
  configure(get) {
    readConfig = get;
  },

  token: {
    async check(olds, news) {
      // A resource new to the stack: the engine's Create follows (there is no Diff to wait for).
      if (Object.keys(olds).length === 0) graph().changeDecided(true);
      const { failures } = validate(news);
      const inputs: Props = { ...news };
      const secretKey = news["secretKey"];
      if (secretKey !== undefined) {
        const normalized = typeof secretKey === "string" ? normalizeSecret(secretKey) : { ok: false as const, reason: "the secret key must be a string" };
        if (normalized.ok) inputs["secretKey"] = normalized.secret.reveal();
        else failures.push({ property: "secretKey", reason: `${normalized.reason} (the value is not shown)` });
      }
      return { inputs, failures };
    },

    /**
     * The planner's verdict against the state, with no Graph call: a change is reported only when
     * the planner has steps for it (or the seed changed); what it cannot do is a warning, not a
     * diff that never goes away. Never a replacement: a new seed is handled by update.
     */
    async diff(_id, olds, news) {
      const token = tokenOf(news);
      const { device, holder } = deviceOf(token, olds);
      const users = new Map<string, LiveUser>();
      if (holder) for (const key of [holder.id, holder.userPrincipalName]) users.set(key.toLowerCase(), holder);
      // Someone new: whether they can hold a token is checked when the change is made.
      if (token.upn !== undefined && !users.has(token.upn.toLowerCase())) {
        users.set(token.upn.toLowerCase(), { id: `upn:${token.upn}`, userPrincipalName: token.upn, userType: "Member", accountEnabled: true });
      }
      const seeds = seedFingerprintOf(news) === undefined ? new Set<string>() : new Set([token.serial]);
      const verdict = plan(
        tokensOnly([token]),
        { devices: device ? [device] : [], directory: { users } },
        { seeds },
      );
      for (const problem of verdict.warnings) warn(problem);
      const changes = verdict.steps.length > 0 || verdict.errors.length > 0 || seedChanged(olds, news);
      graph().changeDecided(changes); // an Update follows a change
      return { changes, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
      const token = tokenOf(inputs);
      const outs = await converge(token, inputs, false, { expectNew: { adoptExisting: configFlag(CONFIG_ADOPT_EXISTING, true) } });
      return { id: token.serial, outs: { ...outs } };
    },

    /**
     * Refresh: the token as the tenant has it now. A device deleted behind our back is gone (the next
     * up creates it again); a retired token recorded as absent stays absent.
     */
    async read(id, props) {
      const serial = typeof props["serial"] === "string" ? props["serial"] : id;
      const { device, holder } = await (await connected()).token(serial);
      if (!device) return props["status"] === "absent" ? { id, props } : {};
      return { id, props: { ...outputs(serial, device, device, holder, recordedFingerprint(props), props["adopted"] === true) } };
    },

    async update(_id, olds, news) {
      const token = tokenOf(news);
      return { outs: { ...(await converge(token, news, olds["adopted"] === true, { replaceSeed: seedChanged(olds, news) })) } };
    },

    /** Only under policy.unmanaged: delete (otherwise the engine retains the token), and within the deletion budget. */
    async delete(id, props) {
      const serial = typeof props["serial"] === "string" ? props["serial"] : id;
      if (!mayDelete(serial)) {
        throw new Error(
          `entra-tokens refused to delete token ${serial} from Entra: deleting needs \`policy.unmanaged: delete\` in tokens.yaml within policy.maxDeletes, ` +
            `or, after review, \`pulumi config set ${CONFIG_ALLOW_DELETES} true\` for one run (pulumi destroy always needs it). Nothing was deleted.`,
        );
      }
      const result = await (await connected()).change({ kind: "remove", serial });
      if (result.actions.length > 0) note(`${serial}: ${result.actions.join(", ")}`);
    },
  },

  inventory: {
    /**
     * Before any token is touched: refuses a run that deletes more than policy.maxDeletes, or that
     * takes over existing devices when adoption is off, and says what the run releases and adopts.
     * What Entra holds decides: a retired token whose device is gone deletes nothing, whatever the
     * previous inventory says (there is none on a fresh stack, a new backend or after lost state).
     */
    async check(olds, news) {
      // Both flags first, used or not: a mistyped value is refused before Graph is asked anything.
      const deletesAllowed = configFlag(CONFIG_ALLOW_DELETES, false);
      const adoptionAllowed = configFlag(CONFIG_ADOPT_EXISTING, true);
      const before = stateMap(olds["tokens"]);
      const after = stateMap(news["tokens"]);
      const unmanaged = String(news["unmanaged"] ?? "report");
      const maxDeletes = typeof news["maxDeletes"] === "number" ? news["maxDeletes"] : 0;
      const inEntra = await (await connected()).inventory();
      const removed = [...before.keys()].filter((serial) => !after.has(serial));
      // Every token of the run is checked next, one at a time; under policy.unmanaged: delete each
      // removed one gets a Delete call, otherwise the engine retains it without one.
      graph().expectChanges({ undecided: after.size, calls: unmanaged === "delete" ? removed.length : 0, parallel: engineParallelism(), fallbackMs: GATHER_FALLBACK_MS });
      const retiring = [...after].filter(([serial, state]) => state === "retired" && inEntra.has(serial)).map(([serial]) => serial);
      const deleting = [...(unmanaged === "delete" ? removed.filter((serial) => inEntra.has(serial)) : []), ...retiring];
      const adopting = [...after].filter(([serial, state]) => state !== "retired" && !before.has(serial) && inEntra.has(serial)).map(([serial]) => serial);
      const allowed = deleting.length <= maxDeletes || deletesAllowed;
      allowedDeletions = new Set(allowed ? deleting : []);
      if (unmanaged !== "delete" && removed.length > 0) {
        note(
          `${removed.length} token(s) removed from tokens.yaml are released from the stack and left in Entra (policy.unmanaged: ${unmanaged}): ${sample(removed)}. ` +
            "`entra-tokens drift` reports them as unmanaged; retire a token with `state: retired` to delete it.",
        );
      }
      noteBulkCap([...after].filter(([serial, state]) => state !== "retired" && !inEntra.has(serial)).length);
      if (adopting.length > 0 && adoptionAllowed) note(`${adopting.length} token(s) already in Entra are adopted by the stack, not created: ${sample(adopting)}.`);
      if (deleting.length > 0 && allowed) note(`${deleting.length} token(s) will be deleted from Entra: ${sample(deleting)}.`);
      const failures: CheckFailure[] = [];
      if (!allowed) {
        failures.push({
          property: "tokens",
          reason:
            `this run would delete ${deleting.length} token(s) from Entra (${sample(deleting)}), above policy.maxDeletes (${maxDeletes}); nothing was changed. ` +
            `Review the change, then run once with \`pulumi config set ${CONFIG_ALLOW_DELETES} true\` (and remove it afterwards), or raise policy.maxDeletes`,
        });
      }
      if (adopting.length > 0 && !adoptionAllowed) {
        failures.push({
          property: "tokens",
          reason:
            `${sample(adopting)} already exist${adopting.length === 1 ? "s" : ""} in Entra and adoption is off for this stack; nothing was changed. ` +
            `Set \`pulumi config set ${CONFIG_ADOPT_EXISTING} true\` to take them over, or remove them from tokens.yaml`,
        });
      }
      return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
      const same = JSON.stringify([olds["tokens"], olds["unmanaged"], olds["maxDeletes"]]) === JSON.stringify([news["tokens"], news["unmanaged"], news["maxDeletes"]]);
      return { changes: !same, replaces: [], deleteBeforeReplace: false };
    },
    async create(inputs) {
      return { id: "tokens", outs: inputs };
    },
    /**
     * Refresh: the list is tokens.yaml's, nothing in Entra to read back. The engine reads it first
     * (it comes first in the state) and every token right after: their holders are looked up
     * together, as `entra-tokens plan` does.
     */
    async read(id, props) {
      // Once the credentials are known to be the stack's tenant's, like every request.
      void connected().then((ready) => ready.prefetchHolders(stateMap(props["tokens"]).keys()), () => undefined);
      return { id, props };
    },
    async update(_id, _olds, news) {
      return { outs: news };
    },
  },
};

/**
 * An error leaving the provider without its stack: the SDK's plugin writes `${error}: ${error.stack}`
 * to stderr when Check, Diff, Read or Delete fail (cmd/dynamic-provider/index.ts), and the engine
 * shows the plugin's stderr to the user. The message already says what failed and how to fix it.
 */
function withoutTrace<F extends (...args: never[]) => Promise<unknown>>(method: F): F {
  return (async (...args: Parameters<F>) => {
    try {
      return await method(...args);
    } catch (error) {
      if (error instanceof Error) Object.defineProperty(error, "stack", { value: "", configurable: true });
      throw error;
    }
  }) as F;
}

function tracelessMethods<T extends Record<string, (...args: never[]) => Promise<unknown>>>(kind: T): T {
  return Object.fromEntries(Object.entries(kind).map(([name, method]) => [name, withoutTrace(method)])) as T;
}

const token = tracelessMethods(methods.token);
const inventory = tracelessMethods(methods.inventory);

export const v1: ProviderRuntimeV1 = {
  configure: methods.configure,
  token,
  inventory,
  provider: (kind) => ({
    async configure(request) {
      methods.configure((key) => request.config.get(key));
    },
    ...(kind === "token" ? token : inventory),
  }),
};

function stateMap(value: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (typeof value === "object" && value !== null) for (const [serial, state] of Object.entries(value)) map.set(serialKey(serial), String(state));
  return map;
}

/**
 * The engine holds at most its parallelism of Create calls at once and generates no step until one
 * returns (pkg/resource/deploy/step_executor.go), so no provider can gather more devices per bulk
 * request than that: said once, with the setting that lifts it (the provider cannot see `--parallel`).
 */
function noteBulkCap(creating: number): void {
  const parallel = engineParallelism();
  if (creating <= parallel || parallel >= MAX_BULK_CREATE) return;
  note(
    `${creating} token(s) to create go to Graph in bulk requests of at most ${parallel} devices, as many as the engine runs at once ` +
      `(PULUMI_PARALLEL, or 4 × CPUs, unless --parallel says otherwise): ${Math.ceil(creating / parallel)} requests instead of ${Math.ceil(creating / MAX_BULK_CREATE)}. ` +
      `Run with PULUMI_PARALLEL=${MAX_BULK_CREATE} (deploy.yml does) to send ${MAX_BULK_CREATE} per request.`,
  );
}

function sample(serials: readonly string[]): string {
  return serials.length <= 10 ? serials.join(", ") : `${serials.slice(0, 10).join(", ")} and ${serials.length - 10} more`;
}
