import type { HashFunction, LiveStatus, LiveToken, LiveUser, TimeInterval, TokenAttributes } from "../model/index.js";
import { collectionPage, forEachConcurrently, Slots, type BatchItem, type BatchOutcome, type CallPurpose, type GraphClient } from "./client.js";
import { GraphFailure, GraphRejectedError, NotFoundError, UnexpectedResponseError } from "./errors.js";

// Typed operations on the hardware OATH endpoints of ../shared/graph-api.md. No policy here:
// callers decide what to do; this module only knows how to ask Graph.

const DEVICES = "/directory/authenticationMethodDevices/hardwareOathDevices";
/** The emulator's documented cap; Graph documents none, so we stay within it. */
export const MAX_BULK_CREATE = 100;
/** Graph's page-size cap for the inventory. */
const PAGE_SIZE = 999;
const USER_SELECT = "id,userPrincipalName,displayName,userType,accountEnabled";
/**
 * Values one `in` filter may hold: "When using the `in` operator, the request is limited to 15
 * expressions in the filter clause by default" (Graph known issues, "Some limitations apply to
 * query parameters", linked from concepts/filter-query-parameter.md). `id` and
 * `userPrincipalName` take `in` without advanced queries (concepts/aad-advanced-queries.md).
 */
export const MAX_IN_VALUES = 15;

const READ_DEVICES: CallPurpose = { operation: "list the hardware OATH token inventory", permission: "Policy.Read.All" };
const WRITE_DEVICES = (operation: string): CallPurpose => ({ operation, permission: "Policy.ReadWrite.AuthenticationMethod" });
const WRITE_METHODS = (operation: string): CallPurpose => ({ operation, permission: "UserAuthenticationMethod.ReadWrite.All" });
const READ_USERS: CallPurpose = { operation: "look up users", permission: "User.Read.All" };

export type ItemResult<T = undefined> = { ok: true; value: T } | { ok: false; error: GraphFailure };

export interface CreateRequest extends TokenAttributes {
  serial: string;
  secretKey: string;
  displayName?: string;
  assignToUserId?: string;
}

export interface RepositoryOptions {
  /** $batch and bulk creates (default). false: one request per operation, for comparison. */
  batching?: boolean;
  /** Requests in flight at once. */
  concurrency?: number;
}

export class TokenRepository {
  private readonly batching: boolean;
  readonly concurrency: number;
  /** Requests in flight, shared by every operation running at once (phases of an apply overlap). */
  private readonly slots: Slots;

  constructor(
    readonly client: GraphClient,
    options: RepositoryOptions = {},
  ) {
    this.batching = options.batching ?? true;
    this.concurrency = options.concurrency ?? 4;
    this.slots = new Slots(this.concurrency);
  }

  async listDevices(): Promise<LiveToken[]> {
    const devices: LiveToken[] = [];
    for await (const page of this.client.pages(`${DEVICES}?$top=${PAGE_SIZE}`, READ_DEVICES)) {
      for (const item of page) devices.push(parseDevice(item, READ_DEVICES.operation));
    }
    return devices;
  }

  /** One device by id; undefined when Graph says it does not exist. */
  async getDevice(id: string): Promise<LiveToken | undefined> {
    try {
      return parseDevice(await this.client.send("GET", `${DEVICES}/${encodeURIComponent(id)}`, READ_DEVICES), READ_DEVICES.operation);
    } catch (error: unknown) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async deviceBySerial(serial: string): Promise<LiveToken | undefined> {
    const filter = encodeURIComponent(`serialNumber eq '${serial.replace(/'/g, "''")}'`);
    for await (const page of this.client.pages(`${DEVICES}?$filter=${filter}`, READ_DEVICES)) {
      const match = page.map((item) => parseDevice(item, READ_DEVICES.operation)).find((d) => d.serial.toUpperCase() === serial.toUpperCase());
      if (match) return match;
    }
    return undefined;
  }

  /**
   * Looks users up by UPN or id: `userPrincipalName in (…)` and `id in (…)` filters of 15 values,
   * 20 to a $batch. Found users are keyed by both their lower-case id and UPN; a key nobody
   * answers to maps to `null`.
   */
  async resolveUsers(keys: readonly string[]): Promise<Map<string, LiveUser | null>> {
    const unique = [...new Set(keys.map((k) => k.toLowerCase()))];
    const users = new Map<string, LiveUser | null>();
    for (const key of unique) users.set(key, null);
    const found = (user: LiveUser) => {
      users.set(user.id.toLowerCase(), user);
      users.set(user.userPrincipalName.toLowerCase(), user);
    };
    if (!this.batching) {
      const outcomes = await this.run(unique.map((key) => ({ method: "GET" as const, url: `/users/${encodeURIComponent(key)}?$select=${USER_SELECT}` })), READ_USERS);
      outcomes.forEach((outcome) => {
        if (outcome.ok) found(parseUser(outcome.body));
        else if (!(outcome.error instanceof NotFoundError)) throw outcome.error;
      });
      return users;
    }
    // A UPN always holds an "@"; an object id (a GUID) never does.
    const upns = unique.filter((k) => k.includes("@"));
    const ids = unique.filter((k) => !k.includes("@"));
    const items = [...inFilters("userPrincipalName", upns), ...inFilters("id", ids)];
    const outcomes = await this.run(items, READ_USERS);
    for (const outcome of outcomes) {
      if (!outcome.ok) throw outcome.error;
      const first = collectionPage(outcome.body, READ_USERS.operation);
      for (const item of first.value) found(parseUser(item));
      // 15 values cannot fill a page, but a nextLink is followed all the same.
      if (first.nextLink !== undefined) for await (const page of this.client.pages(first.nextLink, READ_USERS)) for (const item of page) found(parseUser(item));
    }
    return users;
  }

  /** Creates devices (with assignTo where given); one result per request, in order. */
  async createDevices(requests: readonly CreateRequest[], onProgress?: (done: number) => void): Promise<ItemResult<LiveToken>[]> {
    const body = (r: CreateRequest, contentId?: string) => ({
      ...(contentId === undefined ? {} : { "@contentId": contentId }),
      serialNumber: r.serial,
      manufacturer: r.manufacturer,
      model: r.model,
      secretKey: r.secretKey,
      timeIntervalInSeconds: r.timeIntervalInSeconds,
      hashFunction: r.hashFunction,
      ...(r.displayName === undefined ? {} : { displayName: r.displayName }),
      ...(r.assignToUserId === undefined ? {} : { assignTo: { id: r.assignToUserId } }),
    });
    const results: ItemResult<LiveToken>[] = new Array(requests.length);
    let done = 0;
    if (!this.batching) {
      await forEachConcurrently(requests, this.concurrency, (request, index) => this.slots.run(async () => {
        const purpose = this.createPurpose([request]);
        try {
          results[index] = { ok: true, value: parseDevice(await this.client.send("POST", DEVICES, purpose, body(request)), purpose.operation) };
        } catch (error: unknown) {
          results[index] = { ok: false, error: asFailure(error, purpose.operation) };
        }
        onProgress?.(++done);
      }));
      return results;
    }
    const chunks: number[][] = [];
    for (let i = 0; i < requests.length; i += MAX_BULK_CREATE) chunks.push(requests.slice(i, i + MAX_BULK_CREATE).map((_, j) => i + j));
    await forEachConcurrently(chunks, this.concurrency, (chunk) => this.slots.run(async () => {
      const chunkRequests = chunk.map((index) => requests[index]!);
      const purpose = this.createPurpose(chunkRequests);
      let answer: unknown;
      try {
        answer = await this.client.send("PATCH", DEVICES, purpose, { "@context": "#$delta", value: chunk.map((index) => body(requests[index]!, String(index))) });
      } catch (error: unknown) {
        for (const index of chunk) results[index] = { ok: false, error: asFailure(error, purpose.operation) };
        onProgress?.((done += chunk.length));
        return;
      }
      const items = typeof answer === "object" && answer !== null && "value" in answer && Array.isArray(answer.value) ? answer.value : [];
      for (const item of items) {
        const contentId = typeof item === "object" && item !== null && "@contentId" in item ? Number(item["@contentId"]) : NaN;
        if (!chunk.includes(contentId)) continue;
        if ("error" in item && item.error) {
          results[contentId] = { ok: false, error: this.client.typedStatus(itemStatus(item.error), { error: item.error }, purpose) };
        } else {
          results[contentId] = { ok: true, value: parseDevice(item, purpose.operation) };
        }
      }
      for (const index of chunk) {
        results[index] ??= { ok: false, error: new UnexpectedResponseError(`Graph's bulk create answer had no entry for serial ${requests[index]!.serial}`, purpose.operation) };
      }
      onProgress?.((done += chunk.length));
    }));
    return results;
  }

  assign(items: readonly { userId: string; deviceId: string }[], onProgress?: (done: number) => void): Promise<ItemResult[]> {
    return this.unit(
      items.map((i) => ({ method: "POST", url: `${methods(i.userId)}`, body: { device: { id: i.deviceId } } })),
      WRITE_METHODS("assign tokens to users"),
      onProgress,
    );
  }

  activate(items: readonly { userId: string; deviceId: string; verificationCode: string; displayName?: string }[], onProgress?: (done: number) => void): Promise<ItemResult[]> {
    return this.unit(
      items.map((i) => ({
        method: "POST",
        url: `${methods(i.userId)}/${encodeURIComponent(i.deviceId)}/activate`,
        body: { verificationCode: i.verificationCode, ...(i.displayName === undefined ? {} : { displayName: i.displayName }) },
      })),
      WRITE_METHODS("activate tokens"),
      onProgress,
    );
  }

  unassign(items: readonly { userId: string; deviceId: string }[], onProgress?: (done: number) => void): Promise<ItemResult[]> {
    return this.unit(
      items.map((i) => ({ method: "DELETE", url: `${methods(i.userId)}/${encodeURIComponent(i.deviceId)}` })),
      WRITE_METHODS("unassign tokens"),
      onProgress,
    );
  }

  update(items: readonly { deviceId: string; changes: Record<string, unknown> }[], onProgress?: (done: number) => void): Promise<ItemResult[]> {
    return this.unit(
      items.map((i) => ({ method: "PATCH", url: `${DEVICES}/${encodeURIComponent(i.deviceId)}`, body: i.changes })),
      WRITE_DEVICES("update tokens"),
      onProgress,
    );
  }

  delete(items: readonly { deviceId: string }[], onProgress?: (done: number) => void): Promise<ItemResult[]> {
    return this.unit(
      items.map((i) => ({ method: "DELETE", url: `${DEVICES}/${encodeURIComponent(i.deviceId)}` })),
      WRITE_DEVICES("delete tokens"),
      onProgress,
    );
  }

  private createPurpose(requests: readonly CreateRequest[]): CallPurpose {
    // Creating with assignTo also needs the user-method permission; a 403 should name that one.
    return requests.some((r) => r.assignToUserId !== undefined)
      ? { operation: "create and assign tokens", permission: "Policy.ReadWrite.AuthenticationMethod and UserAuthenticationMethod.ReadWrite.All" }
      : WRITE_DEVICES("create tokens");
  }

  private async unit(items: BatchItem[], purpose: CallPurpose, onProgress?: (done: number) => void): Promise<ItemResult[]> {
    const outcomes = await this.run(items, purpose, onProgress);
    return outcomes.map((o) => (o.ok ? { ok: true, value: undefined } : o));
  }

  /** One outcome per item, through $batch or one request each. */
  private async run(items: readonly BatchItem[], purpose: CallPurpose, onProgress?: (done: number) => void): Promise<BatchOutcome[]> {
    if (this.batching) {
      const outcomes = await this.client.batch(items, purpose, this.slots);
      onProgress?.(items.length);
      return outcomes;
    }
    const outcomes: BatchOutcome[] = new Array(items.length);
    let done = 0;
    await forEachConcurrently(items, this.concurrency, (item, index) => this.slots.run(async () => {
      try {
        outcomes[index] = { ok: true, status: 200, body: await this.client.send(item.method, item.url, purpose, item.body) };
      } catch (error: unknown) {
        outcomes[index] = { ok: false, error: asFailure(error, purpose.operation) };
      }
      onProgress?.(++done);
    }));
    return outcomes;
  }
}

/** `GET /users?$filter=<property> in ('a','b',…)`, at most MAX_IN_VALUES values each. */
function inFilters(property: "id" | "userPrincipalName", values: readonly string[]): BatchItem[] {
  const items: BatchItem[] = [];
  for (let i = 0; i < values.length; i += MAX_IN_VALUES) {
    // OData string literals double their quotes; the whole filter is then URL-encoded (# & + in UPNs).
    const list = values.slice(i, i + MAX_IN_VALUES).map((v) => `'${v.replace(/'/g, "''")}'`).join(",");
    items.push({ method: "GET", url: `/users?$filter=${encodeURIComponent(`${property} in (${list})`)}&$select=${USER_SELECT}` });
  }
  return items;
}

function methods(userId: string): string {
  return `/users/${encodeURIComponent(userId)}/authentication/hardwareOathMethods`;
}

function asFailure(error: unknown, operation: string): GraphFailure {
  if (error instanceof GraphFailure) return error;
  return new UnexpectedResponseError(`Could not ${operation}: ${error instanceof Error ? error.message : String(error)}`, operation);
}

/** Per-item bulk errors carry a code but no status; 409 for duplicates keeps them recognisable. */
function itemStatus(error: unknown): number {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  if (code === "Request_ResourceNotFound") return 404;
  if (code === "Authorization_RequestDenied") return 403;
  if (code === "serialNumberAlreadyExists") return 409;
  return 400;
}

export function isAlreadyExists(error: GraphFailure): boolean {
  return error instanceof GraphRejectedError && (error.status === 409 || error.code === "serialNumberAlreadyExists");
}

const STATUSES: readonly LiveStatus[] = ["available", "assigned", "activated", "failedActivation"];

/** A device from a list/get/create answer, in either documented shape (plain, or wrapped in `device`). */
export function parseDevice(value: unknown, operation: string): LiveToken {
  const bad = (why: string) => new UnexpectedResponseError(`Graph answered ${operation} with a device we cannot read (${why})`, operation);
  if (typeof value !== "object" || value === null) throw bad("not an object");
  const wrapped = "device" in value && typeof value.device === "object" && value.device !== null ? value.device : value;
  const field = (name: string): unknown => Reflect.get(wrapped, name);
  const id = field("id") ?? ("id" in value ? value.id : undefined);
  const serial = field("serialNumber");
  const status = field("status");
  if (typeof id !== "string" || id === "") throw bad("no id");
  if (typeof serial !== "string") throw bad("no serialNumber");
  const liveStatus = STATUSES.find((s) => s === status);
  if (!liveStatus) throw bad(`unknown status ${JSON.stringify(status)}`);
  const interval = Number(field("timeIntervalInSeconds") ?? 30);
  const hash = field("hashFunction") === "hmacsha256" ? "hmacsha256" : "hmacsha1";
  const assignedTo = field("assignedTo");
  const assigneeId = typeof assignedTo === "object" && assignedTo !== null && "id" in assignedTo && typeof assignedTo.id === "string" ? assignedTo.id : undefined;
  const assigneeName = typeof assignedTo === "object" && assignedTo !== null && "displayName" in assignedTo && typeof assignedTo.displayName === "string" ? assignedTo.displayName : undefined;
  const text = (name: string): string | undefined => {
    const v = field(name);
    return typeof v === "string" ? v : undefined;
  };
  const displayName = text("displayName");
  const lastUsed = text("lastUsedDateTime");
  return {
    id,
    serial,
    status: liveStatus,
    manufacturer: text("manufacturer") ?? "",
    model: text("model") ?? "",
    timeIntervalInSeconds: (interval === 60 ? 60 : 30) satisfies TimeInterval,
    hashFunction: hash satisfies HashFunction,
    ...(displayName === undefined ? {} : { displayName }),
    ...(assigneeId === undefined ? {} : { assignedTo: assigneeName === undefined ? { id: assigneeId } : { id: assigneeId, displayName: assigneeName } }),
    ...(lastUsed === undefined ? {} : { lastUsedDateTime: lastUsed }),
  };
}

function parseUser(value: unknown): LiveUser {
  const bad = () => new UnexpectedResponseError("Graph answered a user lookup with a user we cannot read", READ_USERS.operation);
  if (typeof value !== "object" || value === null) throw bad();
  const get = (name: string): unknown => Reflect.get(value, name);
  const id = get("id");
  const upn = get("userPrincipalName");
  if (typeof id !== "string" || typeof upn !== "string") throw bad();
  const displayName = get("displayName");
  return {
    id,
    userPrincipalName: upn,
    ...(typeof displayName === "string" ? { displayName } : {}),
    userType: get("userType") === "Guest" ? "Guest" : "Member",
    accountEnabled: get("accountEnabled") !== false,
  };
}

