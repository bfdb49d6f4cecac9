import type { HashFunction, LiveStatus, LiveToken, LiveUser, OddDevice, TimeInterval, TokenAttributes, UserMethods } from "../model/index.js";
import { collectionPage, forEachConcurrently, Slots, type BatchItem, type BatchOutcome, type CallPurpose, type GraphClient } from "./client.js";
import { GraphFailure, GraphRejectedError, NotFoundError, PermissionError, UnexpectedResponseError, UnsupportedDeviceError } from "./errors.js";
import { NEEDS } from "./permissions.js";

// Typed operations on the hardware OATH endpoints of docs/graph-api.md. No policy here:
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
/** `$top` for /users goes up to 999 (user-list.md, "Optional query parameters"). */
export const USER_PAGE_SIZE = 999;

/**
 * Which route finds users for fewer throttle units: `in` filters (one unit per 15 users asked
 * for) or listing the whole directory (one unit per 999 users in the tenant). `filterUnits` is
 * what filters have cost this session so far plus what this look-up would cost: once that
 * exceeds one listing, listing wins, and every later look-up is free. The user count is an
 * estimate (eventually consistent): it only picks the route, it never decides who exists.
 */
export function listingIsCheaper(filterUnits: number, userCount: number): boolean {
  return Math.max(1, Math.ceil(userCount / USER_PAGE_SIZE)) < filterUnits;
}

const READ_DEVICES: CallPurpose = { operation: "list the hardware OATH token inventory", permission: NEEDS.readDevices.least };
const WRITE_DEVICES = (operation: string): CallPurpose => ({ operation, permission: NEEDS.writeDevices.least });
const WRITE_METHODS = (operation: string): CallPurpose => ({ operation, permission: NEEDS.writeHardwareMethods.least });
const READ_USERS: CallPurpose = { operation: "look up users", permission: NEEDS.readUsers.least };
const READ_METHODS: CallPurpose = { operation: "read users' hardware OATH methods", permission: NEEDS.readHardwareMethods.least };
/** concept-authentication-oath-tokens.md: five "OATH hardware tokens or authenticator applications" per user, counted together. */
const APP_METHOD_TYPES = ["#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "#microsoft.graph.softwareOathAuthenticationMethod"];
const HARDWARE_METHOD_TYPE = "#microsoft.graph.hardwareOathAuthenticationMethod";

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
  /** Throttle units `in` filters have spent in this session. */
  private filterUnitsSpent = 0;
  /** The tenant's user count (`$count`), asked once, when it could change the route. */
  private userCount: Promise<number | undefined> | undefined;
  /** Every user of the tenant by lower-case id and UPN, once listing was the cheaper route. */
  private directory: Promise<Map<string, LiveUser>> | undefined;
  /** Whether Graph lets this app list all of a user's methods; unknown until it answered one such list. */
  private mayListAllMethods: boolean | undefined;

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

  /**
   * The inventory, with the devices we cannot model set apart instead of failing the whole read:
   * `status` is an evolvable enum (`unknownFutureValue` in the beta metadata), and a new interval
   * or hash may appear; such a device is reported and left alone.
   */
  async listInventory(): Promise<{ devices: LiveToken[]; odd: OddDevice[] }> {
    const devices: LiveToken[] = [];
    const odd: OddDevice[] = [];
    for await (const page of this.client.pages(`${DEVICES}?$top=${PAGE_SIZE}`, READ_DEVICES)) {
      for (const item of page) {
        try {
          devices.push(parseDevice(item, READ_DEVICES.operation));
        } catch (error: unknown) {
          if (!(error instanceof UnsupportedDeviceError)) throw error;
          odd.push(oddDevice(item, error));
        }
      }
    }
    return { devices, odd };
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
    for await (const page of this.client.pages(bySerial(serial), READ_DEVICES)) {
      const match = page.map((item) => parseDevice(item, READ_DEVICES.operation)).find((d) => d.serial.toUpperCase() === serial.toUpperCase());
      if (match) return match;
    }
    return undefined;
  }

  /**
   * Reads devices back by serial (batched): what is true after a write whose answer we cannot rely
   * on. `value` is undefined where Graph has no such serial; a failed read is an error result.
   */
  async readBackBySerial(serials: readonly string[]): Promise<ItemResult<LiveToken | undefined>[]> {
    const outcomes = await this.run(serials.map((serial) => ({ method: "GET" as const, url: bySerial(serial) })), READ_DEVICES);
    const results = outcomes.map((outcome, index): ItemResult<LiveToken | undefined> => {
      if (!outcome.ok) return outcome;
      const page = typeof outcome.body === "object" && outcome.body !== null && "value" in outcome.body && Array.isArray(outcome.body.value) ? outcome.body.value : [];
      const serial = serials[index]!.toUpperCase();
      return { ok: true, value: page.map((item) => parseDevice(item, READ_DEVICES.operation)).find((d) => d.serial.toUpperCase() === serial) };
    });
    // Serials are unique whatever their case, but whether `serialNumber eq` ignores case is not
    // documented: a filter that found nothing proves nothing, so the inventory listing decides.
    const unresolved = results.flatMap((r, index) => (r.ok && r.value === undefined ? [index] : []));
    if (unresolved.length === 0) return results;
    const bySerialKey = new Map((await this.listInventory()).devices.map((d) => [d.serial.toUpperCase(), d]));
    for (const index of unresolved) results[index] = { ok: true, value: bySerialKey.get(serials[index]!.toUpperCase()) };
    return results;
  }

  /** Reads devices back by id (batched); `value` is undefined where the device does not exist. */
  async readBackById(ids: readonly string[]): Promise<ItemResult<LiveToken | undefined>[]> {
    const outcomes = await this.run(ids.map((id) => ({ method: "GET" as const, url: `${DEVICES}/${encodeURIComponent(id)}` })), READ_DEVICES);
    return outcomes.map((outcome): ItemResult<LiveToken | undefined> => {
      if (outcome.ok) return { ok: true, value: parseDevice(outcome.body, READ_DEVICES.operation) };
      return outcome.error instanceof NotFoundError ? { ok: true, value: undefined } : outcome;
    });
  }

  /**
   * The methods of these users (ids) that share Entra's five-method limit with inventory tokens,
   * in $batch. One request per user as a rule: GET …/authentication/methods lists every method the
   * API version supports (authentication-list-methods.md), hardware OATH ones included (beta's
   * authenticationmethods-overview.md lists hardwareOathAuthenticationMethod, which "Inherits from
   * authenticationMethod", hardwareoathauthenticationmethod.md). That list gives no serial, so only a
   * user holding a hardware method that is no inventory device's (a portal upload,
   * how-to-mfa-manage-oath-tokens.md, "User has two tokens with the same serial number") costs a
   * second request, GET …/hardwareOathMethods. An app that may not list all methods (it holds only
   * UserAuthMethod-HardwareOATH.*) reads that list instead, once one user's list of all was refused.
   */
  async userMethods(userIds: readonly string[], inventoryIds: ReadonlySet<string>): Promise<Map<string, UserMethods>> {
    const unique = [...new Set(userIds.map((id) => id.toLowerCase()))];
    const listAll = (ids: readonly string[]) => this.run(ids.map((id) => ({ method: "GET" as const, url: `/users/${encodeURIComponent(id)}/authentication/methods` })), READ_METHODS);
    // Until Graph has answered one list of all methods, one user goes first: an app that may not list
    // them (the narrowest permissions, README's) then costs no refused request for every other user.
    let outcomes: BatchOutcome[] = [];
    if (this.mayListAllMethods === undefined && unique.length > 1) {
      outcomes = await listAll(unique.slice(0, 1));
      const probe = outcomes[0]!;
      if (probe.ok || probe.error instanceof PermissionError) this.mayListAllMethods = probe.ok;
    }
    const rest = unique.slice(outcomes.length);
    const forbidden: BatchOutcome = { ok: false, error: new PermissionError(READ_METHODS.operation, NEEDS.readAllMethods.least) };
    outcomes = outcomes.concat(this.mayListAllMethods === false ? rest.map(() => forbidden) : await listAll(rest));
    const apps = new Map<string, string[]>();
    const needHardwareList: string[] = [];
    unique.forEach((id, index) => {
      const all = outcomes[index]!;
      if (all.ok) this.mayListAllMethods = true;
      // Listing every method needs UserAuthenticationMethod.Read.All, which an app holding only
      // UserAuthMethod-HardwareOATH.* lacks: its apps are then not counted, and the plan says so.
      if (!all.ok) {
        if (!(all.error instanceof PermissionError)) throw all.error;
        needHardwareList.push(id);
        return;
      }
      const userApps: string[] = [];
      let unknownHardware = false;
      for (const m of collectionPage(all.body, READ_METHODS.operation).value) {
        const type = member(m, "@odata.type");
        if (typeof type === "string" && APP_METHOD_TYPES.includes(type)) userApps.push(type.slice("#microsoft.graph.".length));
        else if (type === HARDWARE_METHOD_TYPE) {
          const methodId = member(m, "id");
          unknownHardware ||= typeof methodId !== "string" || !inventoryIds.has(methodId);
        }
      }
      apps.set(id, userApps);
      if (unknownHardware) needHardwareList.push(id);
    });
    const portal = needHardwareList.length === 0 ? new Map<string, { id: string; serial: string }[]>() : await this.portalTokens(needHardwareList, inventoryIds);
    const result = new Map<string, UserMethods>();
    for (const id of unique) {
      const portalTokens = portal.get(id) ?? [];
      const userApps = apps.get(id);
      result.set(id, userApps === undefined ? { apps: [], appsUncounted: NEEDS.readAllMethods.least, portalTokens } : { apps: userApps, portalTokens });
    }
    return result;
  }

  /** The portal-uploaded tokens of these users (ids), as userMethods finds them: one request per user, in $batch. */
  async portalTokens(userIds: readonly string[], inventoryIds: ReadonlySet<string>): Promise<Map<string, { id: string; serial: string }[]>> {
    const unique = [...new Set(userIds.map((id) => id.toLowerCase()))];
    const outcomes = await this.run(unique.map((id) => ({ method: "GET" as const, url: methods(id) })), READ_METHODS);
    const found = new Map<string, { id: string; serial: string }[]>();
    unique.forEach((id, index) => {
      const outcome = outcomes[index]!;
      if (!outcome.ok) throw outcome.error;
      const tokens = portalTokensIn(outcome.body, inventoryIds);
      if (tokens.length > 0) found.set(id, tokens);
    });
    return found;
  }

  /**
   * lastUsedDateTime of each hardware method of these users (ids), by method id (= device id):
   * Entra may set the date on the user's method while the device's stays null. One request per user, in $batch.
   */
  async methodLastUse(userIds: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(userIds.map((id) => id.toLowerCase()))];
    const outcomes = await this.run(unique.map((id) => ({ method: "GET" as const, url: methods(id) })), READ_METHODS);
    const lastUse = new Map<string, string>();
    for (const outcome of outcomes) {
      if (!outcome.ok) throw outcome.error;
      for (const method of collectionPage(outcome.body, READ_METHODS.operation).value) {
        const id: unknown = member(method, "id");
        const used: unknown = member(method, "lastUsedDateTime");
        if (typeof id === "string" && typeof used === "string") lastUse.set(id, used);
      }
    }
    return lastUse;
  }

  /**
   * Looks users up by UPN or id, by the cheaper route (see listingIsCheaper): the directory
   * listed at 999 a page, or `userPrincipalName in (…)` and `id in (…)` filters of 15 values,
   * 20 to a $batch. Found users are keyed by both their lower-case id and UPN; a key nobody
   * answers to maps to `null`. Either route gives the same answer (the listing is read without
   * `ConsistencyLevel`, as consistent as a filter).
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
    if (this.directory === undefined && items.length > 0 && (await this.listingPays(this.filterUnitsSpent + items.length))) this.directory ??= this.listDirectory();
    if (this.directory !== undefined) {
      const directory = await this.directory;
      for (const key of unique) {
        const user = directory.get(key);
        if (user) found(user);
      }
      return users;
    }
    this.filterUnitsSpent += items.length;
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

  /**
   * Frees the listed directory (every user of the tenant, 120,000 at a 100,000-token tenant): a run
   * that has read the users it needs keeps them in its LiveState, not twice. A later look-up lists again.
   */
  forgetDirectory(): void {
    this.directory = undefined;
  }

  /** Whether listing the directory beats `filterUnits` of filters; asks for the user count the first time it could. */
  private async listingPays(filterUnits: number): Promise<boolean> {
    // A count costs a unit and a listing at least one more: below three units filters always win.
    if (this.userCount === undefined && filterUnits <= 2) return false;
    this.userCount ??= this.countUsers();
    const count = await this.userCount;
    return count !== undefined && listingIsCheaper(filterUnits, count);
  }

  /**
   * The tenant's user count: `$count=true` with `ConsistencyLevel: eventual`, an advanced query
   * (concepts/aad-advanced-queries.md). Without that header Graph ignores `$count`, and B2C
   * tenants have no advanced queries: then there is no estimate and filters stay the route.
   */
  private async countUsers(): Promise<number | undefined> {
    try {
      const answer = await this.client.send("GET", "/users?$count=true&$top=1&$select=id", READ_USERS, undefined, 1, { ConsistencyLevel: "eventual" });
      const count: unknown = typeof answer === "object" && answer !== null && "@odata.count" in answer ? answer["@odata.count"] : undefined;
      return typeof count === "number" && Number.isInteger(count) && count >= 0 ? count : undefined;
    } catch (error: unknown) {
      if (error instanceof GraphRejectedError) return undefined;
      throw error;
    }
  }

  /** Every user, 999 a page; pages follow one another, as Graph pages users only through the opaque nextLink. */
  private listDirectory(): Promise<Map<string, LiveUser>> {
    const load = async () => {
      const directory = new Map<string, LiveUser>();
      for await (const page of this.client.pages(`/users?$select=${USER_SELECT}&$top=${USER_PAGE_SIZE}`, READ_USERS)) {
        for (const item of page) {
          const user = parseUser(item);
          directory.set(user.id.toLowerCase(), user);
          directory.set(user.userPrincipalName.toLowerCase(), user);
        }
      }
      return directory;
    };
    return load().catch((error: unknown) => {
      this.directory = undefined; // a later look-up may try again
      throw error;
    });
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
      const items: unknown[] = typeof answer === "object" && answer !== null && "value" in answer && Array.isArray(answer.value) ? answer.value : [];
      matchBulkAnswer(items, chunk, requests).forEach((item, position) => {
        if (item === undefined) return;
        const index = chunk[position]!;
        if (typeof item === "object" && item !== null && "error" in item && item.error) {
          results[index] = { ok: false, error: this.client.typedStatus(itemStatus(item.error), { error: item.error }, purpose) };
        } else {
          results[index] = { ok: true, value: parseDevice(item, purpose.operation) };
        }
      });
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
      ? { operation: "create and assign tokens", permission: `${NEEDS.writeDevices.least} and ${NEEDS.writeHardwareMethods.least}` }
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

function bySerial(serial: string): string {
  return `${DEVICES}?$filter=${encodeURIComponent(`serialNumber eq '${serial.replace(/'/g, "''")}'`)}`;
}

/**
 * The answer item for each request of a bulk create chunk (undefined where none): by `@contentId`
 * when the item has one, else by serial, else by position when Graph answered one item per request.
 * The docs' own answer carries no `@contentId` (authenticationmethoddevice-update.md).
 */
function matchBulkAnswer(items: readonly unknown[], chunk: readonly number[], requests: readonly CreateRequest[]): (unknown | undefined)[] {
  const matched: (unknown | undefined)[] = new Array(chunk.length);
  const byPosition = items.length === chunk.length;
  items.forEach((item, position) => {
    const at = (where: number) => (where >= 0 && matched[where] === undefined ? where : -1);
    const contentId = typeof item === "object" && item !== null && "@contentId" in item ? Number(item["@contentId"]) : NaN;
    let where = at(chunk.indexOf(contentId));
    if (where < 0) {
      const serial = serialOf(item)?.toUpperCase();
      where = serial === undefined ? -1 : at(chunk.findIndex((index) => requests[index]!.serial.toUpperCase() === serial));
    }
    if (where < 0 && Number.isNaN(contentId) && byPosition) where = at(position);
    if (where >= 0) matched[where] = item;
  });
  return matched;
}

/** A member of a JSON value Graph answered, if it is an object. */
function member(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, name) : undefined;
}

function serialOf(item: unknown): string | undefined {
  if (typeof item !== "object" || item === null) return undefined;
  const device = "device" in item && typeof item.device === "object" && item.device !== null ? item.device : item;
  const serial: unknown = Reflect.get(device, "serialNumber");
  return typeof serial === "string" ? serial : undefined;
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

const STATUSES: readonly LiveStatus[] = ["available", "assigned", "activated", "failedActivation"];
const INTERVALS: readonly TimeInterval[] = [30, 60];
const HASHES: readonly HashFunction[] = ["hmacsha1", "hmacsha256"];

/**
 * A device from a list/get/create answer, in every documented shape: plain, wrapped in `device`
 * (list and bulk create examples), or in `value` (hardwareoathtokenauthenticationmethoddevice-get.md's example).
 */
export function parseDevice(answer: unknown, operation: string): LiveToken {
  const bad = (why: string) => new UnexpectedResponseError(`Graph answered ${operation} with a device we cannot read (${why})`, operation);
  if (typeof answer !== "object" || answer === null) throw bad("not an object");
  const value = "value" in answer && typeof answer.value === "object" && answer.value !== null && !Array.isArray(answer.value) ? answer.value : answer;
  const wrapped = "device" in value && typeof value.device === "object" && value.device !== null ? value.device : value;
  const field = (name: string): unknown => Reflect.get(wrapped, name);
  const id = field("id") ?? ("id" in value ? value.id : undefined);
  const serial = field("serialNumber");
  const status = field("status");
  if (typeof id !== "string" || id === "") throw bad("no id");
  if (typeof serial !== "string") throw bad("no serialNumber");
  const liveStatus = STATUSES.find((s) => s === status);
  if (typeof status !== "string") throw bad(`status ${JSON.stringify(status ?? null)}`);
  if (!liveStatus) {
    throw new UnsupportedDeviceError(
      `Graph reports token ${serial} (id ${id}) with status ${JSON.stringify(status)}, which entra-tokens does not know; it leaves the token alone. ` +
        `Fix: check the token in the Entra admin center (Protection → Authentication methods → Hardware OATH tokens).`,
      operation,
      { why: `status ${JSON.stringify(status)}` },
    );
  }
  const interval = INTERVALS.find((i) => i === field("timeIntervalInSeconds") || String(i) === field("timeIntervalInSeconds"));
  // hmacsha1 is the documented default when Graph leaves the hash out.
  const hashValue = field("hashFunction") ?? "hmacsha1";
  const hash = HASHES.find((h) => h === hashValue);
  if (interval === undefined || hash === undefined) {
    const what = interval === undefined ? `timeIntervalInSeconds ${JSON.stringify(field("timeIntervalInSeconds") ?? null)}` : `hashFunction ${JSON.stringify(hashValue)}`;
    throw new UnsupportedDeviceError(
      `Graph reports token ${serial} (id ${id}) with ${what}; entra-tokens knows only 30 or 60 second steps and hmacsha1 or hmacsha256, ` +
        `and stops rather than misread the token. Fix: check the token in the Entra admin center (Protection → Authentication methods → Hardware OATH tokens) and correct or delete it there.`,
      operation,
      { why: what },
    );
  }
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
    timeIntervalInSeconds: interval,
    hashFunction: hash,
    ...(displayName === undefined ? {} : { displayName }),
    ...(assigneeId === undefined ? {} : { assignedTo: assigneeName === undefined ? { id: assigneeId } : { id: assigneeId, displayName: assigneeName } }),
    ...(lastUsed === undefined ? {} : { lastUsedDateTime: lastUsed }),
  };
}

function oddDevice(item: unknown, error: UnsupportedDeviceError): OddDevice {
  const device = typeof item === "object" && item !== null && "device" in item && typeof item.device === "object" && item.device !== null ? item.device : item;
  const id: unknown = member(device, "id");
  return { id: typeof id === "string" ? id : "", serial: serialOf(item) ?? "", why: error.why };
}

/** A user's hardware methods whose id is no inventory device's: portal-uploaded tokens (how-to-mfa-manage-oath-tokens.md). */
function portalTokensIn(body: unknown, inventoryIds: ReadonlySet<string>): { id: string; serial: string }[] {
  return collectionPage(body, READ_METHODS.operation).value.flatMap((m) => {
    const methodId: unknown = member(m, "id");
    const serial = serialOf(m);
    return typeof methodId === "string" && serial !== undefined && !inventoryIds.has(methodId) ? [{ id: methodId, serial }] : [];
  });
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

