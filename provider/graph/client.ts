import type { AccessToken, TokenCredential } from "@azure/identity";
import { AuthenticationHandler, Client, GraphError, HTTPMessageHandler, type Context, type Middleware, type MiddlewareOptions } from "@microsoft/microsoft-graph-client";
import { TokenCredentialAuthenticationProvider } from "@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js";
import {
  AuthenticationError,
  GraphConnectionError,
  GraphFailure,
  GraphRejectedError,
  GraphUnavailableError,
  CredentialConfigError,
  InterruptedError,
  NotFoundError,
  PermissionError,
  ThrottledError,
  UnexpectedResponseError,
} from "./errors.js";
import { connectionProblem, usableUrl, type Endpoint } from "./connection.js";
import { isWriteScope, WriteQuota } from "./write-quota.js";

// Transport only: retries, paging, $batch and error typing. Which calls to make is decided elsewhere.

export const DEFAULT_GRAPH_URL = "https://graph.microsoft.com/beta";
export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";
export const MAX_BATCH_REQUESTS = 20;

export interface RetryPolicy {
  /** Attempts after the first, per request (and per $batch item). */
  maxRetries: number;
  /** First backoff when the server gives no Retry-After; doubles per attempt. */
  baseDelayMs: number;
  /** The longest single wait we accept; a longer Retry-After fails fast as ThrottledError. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 8, baseDelayMs: 500, maxDelayMs: 120_000 };
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

export interface GraphClientOptions {
  credential: TokenCredential;
  /** e.g. https://graph.microsoft.com/beta or the emulator's https://127.0.0.1:PORT/beta */
  graphUrl?: string;
  /** Where graphUrl came from (a variable or flag), named when Graph cannot be reached. */
  graphUrlSetting?: string;
  retry?: Partial<RetryPolicy>;
  /** Called before each wait, for progress output ("throttled, waiting 3 s"). */
  onRetry?: (info: RetryInfo) => void;
  /** Once aborted, no new request is sent (those in flight finish): they fail as InterruptedError. */
  signal?: AbortSignal;
  /** Called after each answer (every attempt), for --verbose: what was asked, what came back, how fast. */
  onResponse?: (info: ResponseInfo) => void;
}

/** One answer Graph gave, as --verbose shows it: never a header but the two ids, never a body. */
export interface ResponseInfo {
  method: string;
  /** The request's path and query on the Graph host (no credentials ever travel in it). */
  path: string;
  status: number;
  ms: number;
  /** Graph's `request-id` and `client-request-id` response headers: what Microsoft support asks for. */
  requestId?: string;
  clientRequestId?: string;
}

export interface RetryInfo {
  /** What Graph answered; "network" for a dropped connection. */
  status: number | "network";
  /** Inside a $batch: how many requests answered what, e.g. "3 × 429, 1 × 503". */
  items?: string;
  /** The connection failure, for "network". */
  reason?: string;
  delayMs: number;
  /** This retry's number, 1 to maxRetries. */
  attempt: number;
  maxRetries: number;
}

/** What a call is for: names the operation in errors and the permission a 403 means. */
export interface CallPurpose {
  operation: string;
  permission: string;
}

export interface BatchItem {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Relative to the Graph version root, e.g. /users/x/authentication/hardwareOathMethods */
  url: string;
  body?: unknown;
  /** Request headers, e.g. `ConsistencyLevel: eventual` for an advanced query. */
  headers?: Record<string, string>;
}

export type BatchOutcome = { ok: true; status: number; body: unknown } | { ok: false; error: GraphFailure };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function backoff(policy: RetryPolicy, attempt: number): number {
  // Full jitter keeps many clients from retrying in lockstep.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2));
}

function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * One pause and one pace for every request of a client. When Graph throttles, nothing else is
 * sent until the Retry-After has passed (Graph's guidance), instead of each request walking into
 * its own 429. And since Graph throttles every request, each request inside a $batch included
 * (throttling.md, "JSON batching"), requests are paced in those units: after a 429 the pace drops
 * to what the tenant accepted lately, then creeps up again while nothing is throttled (AIMD), so a
 * high --concurrency does not spend itself on 429s.
 */
class ThrottleGate {
  private until = 0;
  /** Throttle units per second; unlimited until Graph first throttles us. */
  private rate = Infinity;
  private nextSlot = 0;
  private lastCut = 0;
  private lastRaise = 0;
  private lastNear = 0;
  /** Units Graph accepted, per send time, over the last few seconds. */
  private readonly accepted: { at: number; units: number }[] = [];

  pause(ms: number): void {
    this.until = Math.max(this.until, Date.now() + ms);
  }

  openNow(): boolean {
    return this.until <= Date.now();
  }

  /** Writes are spent at the write quota's pace (write-quota.ts), apart from the pace of all requests. */
  readonly writes = new WriteQuota();

  async wait(units = 1, writes = 0): Promise<void> {
    // A write takes its place in the write quota's queue first; a Retry-After that began meanwhile still holds it.
    const writeWait = this.writes.reserve(writes);
    if (writeWait > 0) await sleep(writeWait);
    for (let left = this.until - Date.now(); left > 0; left = this.until - Date.now()) await sleep(left);
    if (this.rate === Infinity) return;
    const now = Date.now();
    if (now - this.lastRaise >= 1000 && now - this.lastCut >= 1000 && now - this.lastNear >= 1000) {
      this.rate += Math.max(1, this.rate * 0.05);
      this.lastRaise = now;
    }
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + (units * 1000) / this.rate;
    if (at > now) await sleep(at - now);
  }

  /** Graph took `units` requests (and throttled `throttled` of them). */
  record(units: number, throttled: number): void {
    const now = Date.now();
    if (units > throttled) this.accepted.push({ at: now, units: units - throttled });
    while (this.accepted.length > 0 && now - this.accepted[0]!.at > PACE_WINDOW_MS) this.accepted.shift();
    if (throttled === 0) return;
    // What the tenant accepted over the window, a little less; never below one request a second.
    this.cut(0.8);
  }

  /**
   * Graph says we used more than 0.8 of a quota (`x-ms-throttle-limit-percentage`, 0.8 to 1.8,
   * concepts/throttling-limits.md): stop speeding up, and slow down a little once it is spent, before
   * the 429s begin. Without the header (Graph sends it only near the limit) the 429s still pace us.
   */
  nearLimit(share: number): void {
    // Hold the pace from 0.8 on; slow down only once the quota is spent, or every answer near the
    // limit would cut again and the pace would spiral down to nothing.
    this.lastNear = Date.now();
    if (share >= 1) this.cut(0.9);
  }

  private cut(factor: number): void {
    const now = Date.now();
    if (now - this.lastCut < 1000) return;
    const first = this.accepted[0]?.at ?? now;
    let sum = 0;
    for (const a of this.accepted) sum += a.units;
    const observed = (sum * 1000) / Math.max(1000, now - first);
    this.rate = Math.max(1, Math.min(this.rate, observed) * factor);
    this.lastCut = now;
  }
}

/** `x-ms-throttle-limit-percentage` (0.8 to 1.8 when present) as a number; 0 when absent or unreadable. */
function quotaShare(value: string | null | undefined): number {
  const share = value === null || value === undefined ? NaN : Number(value);
  return Number.isFinite(share) ? share : 0;
}

const PACE_WINDOW_MS = 5000;

/** Graph throttles with 429, and sometimes with 503 and a Retry-After. */
function isThrottle(status: number, retryAfter: string | undefined): boolean {
  return status === 429 || (status === 503 && retryAfter !== undefined);
}

/** Tells the retry middleware how many throttle units a request costs (a $batch: one per item, and itself), and how many writes. */
class ThrottleUnits implements MiddlewareOptions {
  constructor(
    readonly units: number,
    readonly writes: number,
  ) {}
}

/** At most `size` callers at once, in the order they asked. */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = Math.max(1, size);
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** What an item of a $batch came to: its response (undefined when Graph left it out), or why its envelope failed. */
type PackedAnswer = { response: BatchResponse | undefined } | { error: unknown };

interface PackedItem {
  item: BatchItem;
  purpose: CallPurpose;
  settle: (answer: PackedAnswer) => void;
}

/**
 * Packs the items of every call that shares a set of slots into $batch envelopes of up to 20:
 * an apply's unassignments, updates and activations travel together instead of in an envelope
 * per kind (Graph executes each inner request on its own, concepts/json-batching.md; callers only
 * hand over items that depend on nothing still in flight). Items handed over in the same turn of
 * the event loop are packed before any envelope goes out; an envelope takes what is waiting when
 * its slot frees, so items that arrive meanwhile join it.
 */
class BatchPacker {
  private queue: PackedItem[] = [];
  private head = 0;
  /** Envelopes waiting for a slot; each takes up to 20 items when it gets one. */
  private waiting = 0;
  private scheduled = false;

  constructor(
    private readonly slots: Slots,
    private readonly sendEnvelope: (entries: readonly PackedItem[]) => Promise<void>,
  ) {}

  /** Sends `items`, calling `answered(position, answer)` once for each; resolves when all are answered. */
  send(items: readonly BatchItem[], purpose: CallPurpose, answered: (position: number, answer: PackedAnswer) => void): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let left = items.length;
      items.forEach((item, position) => {
        this.queue.push({
          item,
          purpose,
          settle: (answer) => {
            answered(position, answer);
            if (--left === 0) resolve();
          },
        });
      });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    const needed = Math.ceil((this.queue.length - this.head) / MAX_BATCH_REQUESTS) - this.waiting;
    for (let i = 0; i < needed; i++) {
      this.waiting++;
      void this.slots.run(async () => {
        this.waiting--;
        const entries = this.take();
        if (entries.length > 0) await this.sendEnvelope(entries);
      });
    }
  }

  private take(): PackedItem[] {
    const entries = this.queue.slice(this.head, this.head + MAX_BATCH_REQUESTS);
    this.head += entries.length;
    // Drop what was taken now and then, not per envelope (a 100,000-item queue would be copied each time).
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return entries;
  }
}

/** The purpose of an envelope: every operation its items serve, and every permission they need. */
function jointPurpose(purposes: readonly CallPurpose[]): CallPurpose {
  const operations = [...new Set(purposes.map((p) => p.operation))];
  const permissions = [...new Set(purposes.map((p) => p.permission))];
  return operations.length === 1 && permissions.length === 1 ? purposes[0]! : { operation: operations.join(" and "), permission: permissions.join(" and ") };
}

/**
 * Requests that start together would each ask the token endpoint (the credential does not share
 * an acquisition in flight): they share one, and reuse it until five minutes before it expires.
 */
function sharedToken(credential: TokenCredential): TokenCredential {
  let cached: AccessToken | null = null;
  let pending: Promise<AccessToken | null> | undefined;
  return {
    getToken: async (scopes, options) => {
      if (cached && cached.expiresOnTimestamp - Date.now() > 5 * 60_000) return cached;
      pending ??= credential.getToken(scopes, options).finally(() => (pending = undefined));
      cached = await pending;
      return cached;
    },
  };
}

/** Retries 429/5xx (honouring Retry-After) and dropped connections, and counts what goes on the wire. */
class RetryMiddleware implements Middleware {
  private next: Middleware | undefined;
  requestsSent = 0;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly gate: ThrottleGate,
    private readonly onRetry: GraphClientOptions["onRetry"],
    private readonly endpoint: Endpoint,
    private readonly signal: AbortSignal | undefined,
    private readonly onResponse: GraphClientOptions["onResponse"],
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const next = this.next;
    if (!next) throw new Error("RetryMiddleware needs a next handler");
    const option = context.middlewareControl?.getMiddlewareOptions(ThrottleUnits);
    const units = option instanceof ThrottleUnits ? option.units : 1;
    const writes = option instanceof ThrottleUnits ? option.writes : 0;
    for (let attempt = 0; ; attempt++) {
      let status: number | "network";
      let reason: string | undefined;
      await this.gate.wait(units, writes);
      if (this.signal?.aborted) throw new InterruptedError("not sent: the run was interrupted", "send a request");
      this.requestsSent++;
      try {
        const started = Date.now();
        await next.execute(context);
        status = context.response?.status ?? 0;
        if (this.onResponse) this.onResponse(responseInfo(context, status, Date.now() - started));
        // A whole request refused counts as throttled; a $batch reports its items itself.
        const throttled = isThrottle(status, context.response?.headers.get("retry-after") ?? undefined);
        // A write refused for the write quota empties our copy of it; it says nothing of the pace of reads.
        const writeLimited = throttled && isWriteScope(context.response?.headers.get("x-ms-throttle-scope"));
        if (writeLimited) this.gate.writes.exhausted();
        if (units === 1 || throttled) this.gate.record(units, throttled && !writeLimited ? units : 0);
        // The share does not say which limit it measures; a write's is most likely the write quota, paced apart.
        const share = quotaShare(context.response?.headers.get("x-ms-throttle-limit-percentage"));
        if (share >= 0.8 && writes === 0) this.gate.nearLimit(share);
        if (!RETRYABLE.has(status) || attempt >= this.policy.maxRetries) return;
      } catch (error: unknown) {
        const problem = connectionProblem("Graph", this.endpoint, error);
        // Refused, unknown host, untrusted certificate: no retry can help, so say it at once.
        if (problem?.permanent) throw new GraphConnectionError(`Graph unreachable: ${problem.message}`, "send a request");
        if (attempt >= this.policy.maxRetries) {
          const what = problem?.message ?? `the connection to Graph at ${this.endpoint.url} failed (${error instanceof Error ? error.message : String(error)})`;
          throw new GraphConnectionError(`Graph unreachable after ${attempt + 1} attempts: ${what}`, "send a request");
        }
        status = "network";
        reason = connectionReason(error);
      }
      const retryAfter = status !== "network" ? retryAfterMs(context.response?.headers.get("retry-after")) : undefined;
      const delayMs = retryAfter ?? backoff(this.policy, attempt);
      if (delayMs > this.policy.maxDelayMs) return;
      this.onRetry?.({ status, delayMs, attempt: attempt + 1, maxRetries: this.policy.maxRetries, ...(reason ? { reason } : {}) });
      // A Retry-After speaks for the whole tenant; a backoff only for this request.
      if (retryAfter !== undefined) this.gate.pause(delayMs);
      else await sleep(delayMs);
    }
  }
}

export class GraphClient {
  private readonly client: Client;
  private readonly retry: RetryMiddleware;
  readonly policy: RetryPolicy;
  readonly graphUrl: string;
  private readonly onRetry: GraphClientOptions["onRetry"];
  private readonly gate = new ThrottleGate();
  private readonly packers = new WeakMap<Slots, BatchPacker>();

  constructor(options: GraphClientOptions) {
    this.onRetry = options.onRetry;
    this.graphUrl = (options.graphUrl ?? DEFAULT_GRAPH_URL).replace(/\/+$/, "");
    const endpoint = { url: this.graphUrl, setting: options.graphUrlSetting ?? `the default Graph URL (${DEFAULT_GRAPH_URL}; ENTRA_TOKENS_GRAPH_URL or --graph-url change it)` };
    const url = usableUrl("Microsoft Graph", endpoint, DEFAULT_GRAPH_URL);
    const version = url.pathname.replace(/^\/+/, "");
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
    this.retry = new RetryMiddleware(this.policy, this.gate, options.onRetry, endpoint, options.signal, options.onResponse);
    const auth = new AuthenticationHandler(new TokenCredentialAuthenticationProvider(sharedToken(options.credential), { scopes: [GRAPH_SCOPE] }));
    auth.setNext(this.retry);
    this.retry.setNext(new HTTPMessageHandler());
    this.client = Client.initWithMiddleware({
      middleware: auth,
      baseUrl: `${url.protocol}//${url.host}/`,
      defaultVersion: version,
      // The SDK attaches the bearer token only to hosts it knows as Graph.
      customHosts: new Set([url.hostname]),
    });
  }

  /** HTTP requests put on the wire so far, retries included. */
  get requestsSent(): number {
    return this.retry.requestsSent;
  }

  /** `writes`: what the request costs of the write quota (a $batch: its write items); one for any other write. */
  async send(method: BatchItem["method"], path: string, purpose: CallPurpose, body?: unknown, units = 1, headers?: Record<string, string>, writes = method === "GET" ? 0 : 1): Promise<unknown> {
    const request = this.client.api(path);
    if (units !== 1 || writes !== 0) request.middlewareOptions([new ThrottleUnits(units, writes)]);
    if (headers) request.headers(headers);
    try {
      switch (method) {
        case "GET":
          return await request.get();
        case "POST":
          return await request.post(body ?? {});
        case "PATCH":
          return await request.patch(body ?? {});
        case "DELETE":
          return await request.delete();
      }
    } catch (error: unknown) {
      throw this.typed(error, purpose);
    }
  }

  /** Every page of a collection, following @odata.nextLink. */
  async *pages(path: string, purpose: CallPurpose): AsyncGenerator<unknown[]> {
    let next: string | undefined = path;
    while (next !== undefined) {
      const page = collectionPage(await this.send("GET", next, purpose), purpose.operation);
      yield page.value;
      next = page.nextLink;
    }
  }

  /**
   * Sends items through /$batch, 20 per request, as many batches at a time as `slots` allows;
   * items that are throttled or fail with 5xx inside a batch are sent again after their
   * Retry-After. Calls sharing `slots` (the phases of an apply that run at once) share envelopes:
   * what they hand over in the same turn of the event loop is packed together (see BatchPacker).
   */
  async batch(items: readonly BatchItem[], purpose: CallPurpose, concurrency: Slots | number = 4): Promise<BatchOutcome[]> {
    const packer = this.packerFor(typeof concurrency === "number" ? new Slots(concurrency) : concurrency);
    const outcomes: (BatchOutcome | undefined)[] = new Array(items.length);
    let pending = items.map((_, index) => index);
    // `attempt` counts rounds that settled nothing: under heavy throttling most rounds still make
    // progress, and giving up on those would fail runs that are merely slow.
    for (let attempt = 0; pending.length > 0; ) {
      const pendingBefore = pending.length;
      const retry = new Set<number>();
      const retriedStatuses = new Map<number, number>();
      let waitMs = 0;
      let failure: unknown;
      await packer.send(pending.map((index) => items[index]!), purpose, (position, answer) => {
        const index = pending[position]!;
        if ("error" in answer) {
          // Interrupted before its batch went out: the item is reported as not sent.
          if (answer.error instanceof InterruptedError) outcomes[index] = { ok: false, error: answer.error };
          else failure ??= answer.error;
          return;
        }
        const response = answer.response;
        if (response === undefined) {
          outcomes[index] = { ok: false, error: new UnexpectedResponseError(`Graph's $batch answer had no response for item ${index}`, purpose.operation) };
        } else if (response.status < 400) {
          outcomes[index] = { ok: true, status: response.status, body: response.body };
        } else if (RETRYABLE.has(response.status) && attempt < this.policy.maxRetries) {
          retry.add(index);
          retriedStatuses.set(response.status, (retriedStatuses.get(response.status) ?? 0) + 1);
          const retryAfter = retryAfterMs(response.retryAfter);
          // Hold back the batches not yet sent, rather than let them be throttled too.
          if (retryAfter !== undefined && retryAfter <= this.policy.maxDelayMs) this.gate.pause(retryAfter);
          waitMs = Math.max(waitMs, retryAfter ?? backoff(this.policy, attempt));
        } else {
          outcomes[index] = { ok: false, error: this.typedStatus(response.status, response.body, purpose, response.requestId) };
        }
      });
      if (failure !== undefined) throw failure;
      pending = [...retry].sort((a, b) => a - b);
      if (pending.length === pendingBefore) attempt++;
      if (pending.length > 0) {
        if (waitMs > this.policy.maxDelayMs) {
          for (const index of pending) outcomes[index] = { ok: false, error: new ThrottledError(`Graph asked us to wait ${Math.round(waitMs / 1000)} s, longer than the ${this.policy.maxDelayMs / 1000} s we accept`, purpose.operation, 429) };
          break;
        }
        const [mostCommon] = [...retriedStatuses.entries()].sort((a, b) => b[1] - a[1]);
        const items = [...retriedStatuses.entries()].map(([status, count]) => `${count} × ${status}`).join(", ");
        // `attempt` counts rounds that settled nothing; a round that made progress is not one more strike.
        this.onRetry?.({ status: mostCommon?.[0] ?? 429, items, delayMs: waitMs, attempt: Math.max(1, attempt), maxRetries: this.policy.maxRetries });
        // Throttled items wait at the gate; only a plain backoff needs its own sleep.
        if (this.gate.openNow()) await sleep(waitMs);
      }
    }
    return outcomes.map((o) => o ?? { ok: false, error: new UnexpectedResponseError("no outcome", purpose.operation) });
  }

  /** One packer per set of slots: the calls that share slots share envelopes. */
  private packerFor(slots: Slots): BatchPacker {
    let packer = this.packers.get(slots);
    if (!packer) {
      packer = new BatchPacker(slots, (entries) => this.sendEnvelope(entries));
      this.packers.set(slots, packer);
    }
    return packer;
  }

  /** One $batch request of up to 20 items, which may come from several calls; each item hears its own answer. */
  private async sendEnvelope(entries: readonly PackedItem[]): Promise<void> {
    const purpose = jointPurpose(entries.map((e) => e.purpose));
    const body = {
      requests: entries.map(({ item }, position) => {
        // concepts/json-batching.md: a write whose target needs no body must still carry one (`{}`)
        // and its Content-Type, or Graph refuses the whole batch.
        const itemBody = item.body ?? (item.method === "POST" || item.method === "PATCH" ? {} : undefined);
        return {
          id: String(position),
          method: item.method,
          url: item.url,
          ...(itemBody === undefined && item.headers === undefined ? {} : { headers: { ...item.headers, ...(itemBody === undefined ? {} : { "content-type": "application/json" }) } }),
          ...(itemBody === undefined ? {} : { body: itemBody }),
        };
      }),
    };
    let responses: BatchResponse[];
    try {
      const writes = entries.filter(({ item }) => item.method !== "GET").length;
      responses = parseBatchResponses(await this.send("POST", "/$batch", purpose, body, entries.length + 1, undefined, writes), purpose);
    } catch (error: unknown) {
      for (const entry of entries) entry.settle({ error });
      return;
    }
    const throttled = responses.filter((r) => isThrottle(r.status, r.retryAfter));
    const writeLimited = throttled.filter((r) => isWriteScope(r.throttleScope)).length;
    if (writeLimited > 0) this.gate.writes.exhausted();
    this.gate.record(entries.length + 1, throttled.length - writeLimited);
    const isRead = (r: BatchResponse) => /^\d+$/.test(r.id) && entries[Number(r.id)]?.item.method === "GET";
    const share = Math.max(0, ...responses.filter(isRead).map((r) => quotaShare(r.limitPercentage)));
    if (share >= 0.8) this.gate.nearLimit(share);
    const answered = new Array<BatchResponse | undefined>(entries.length);
    for (const response of responses) {
      const position = /^\d+$/.test(response.id) ? Number(response.id) : -1;
      if (position < entries.length && position >= 0) answered[position] ??= response;
    }
    entries.forEach((entry, position) => entry.settle({ response: answered[position] }));
  }

  private typed(error: unknown, purpose: CallPurpose): GraphFailure {
    if (error instanceof GraphFailure) return error;
    if (error instanceof GraphError && error.statusCode === -1) {
      // The SDK wraps what our middleware and credentials throw, keeping its name as `code` and its message:
      // a refused connection, an interrupted run, a credential file our guards refused (no sign-in was tried).
      const ours = error.code === null ? undefined : REWRAPPED.get(error.code);
      if (ours) return new ours(error.message, purpose.operation);
      // Otherwise no HTTP answer from Graph at all, because Entra refused the sign-in.
      return signInFailure(`${error.message}\n${String(error.body)}`, purpose.operation);
    }
    if (error instanceof GraphError) {
      let body: unknown = error.body;
      if (typeof body === "string") {
        try {
          body = JSON.parse(body);
        } catch {
          // keep the text
        }
      }
      return this.typedStatus(error.statusCode, body, purpose, error.requestId ?? undefined);
    }
    const name = error instanceof Error ? error.name : "";
    const message = error instanceof Error ? error.message : String(error);
    if (/Credential|Authentication/i.test(name)) return signInFailure(message, purpose.operation);
    return new GraphUnavailableError(`Could not ${purpose.operation}: ${firstLine(message)}`, purpose.operation);
  }

  typedStatus(status: number, body: unknown, purpose: CallPurpose, requestId?: string): GraphFailure {
    const { code, message } = errorFields(body);
    const where = requestId ? ` (request-id ${requestId})` : "";
    if (status === 403) return new PermissionError(purpose.operation, purpose.permission, requestId);
    if (status === 401) {
      return new AuthenticationError(`Graph rejected our token while trying to ${purpose.operation}: ${message}${where}. Check AZURE_TENANT_ID and the app's credentials.`, purpose.operation, status, code, requestId);
    }
    if (status === 404) return new NotFoundError(`Could not ${purpose.operation}: not found (${message})${where}`, purpose.operation, status, code, requestId);
    if (status === 429 || (status === 503 && code !== "generalException")) {
      return new ThrottledError(`Graph kept throttling while trying to ${purpose.operation} after ${this.policy.maxRetries} retries${where}; run again later or lower --concurrency`, purpose.operation, status, code, requestId);
    }
    if (status >= 500) return new GraphUnavailableError(`Graph failed to ${purpose.operation} (HTTP ${status} ${code}: ${message})${where}; run again: applying is safe to repeat`, purpose.operation, status, code, requestId);
    return new GraphRejectedError(`Graph refused to ${purpose.operation} (HTTP ${status} ${code}: ${message})${where}`, purpose.operation, status, code, requestId);
  }
}

/** Our failures that pass through the Graph SDK, by the name it keeps (each class names itself). */
const REWRAPPED = new Map<string, new (message: string, operation: string) => GraphFailure>([
  ["GraphConnectionError", GraphConnectionError],
  ["InterruptedError", InterruptedError],
  ["CredentialConfigError", CredentialConfigError],
]);

// What to do about Entra's most common sign-in refusals (AADSTS codes).
const SIGN_IN_FIXES: Record<string, string> = {
  "7000215": "AZURE_CLIENT_SECRET is wrong or expired: use the secret's value (not its ID), or create a new one",
  "700016": "AZURE_CLIENT_ID names no app in AZURE_TENANT_ID: check both",
  "90002": "AZURE_TENANT_ID names no tenant: check it",
  "700211": "the app has no federated credential for this issuer: add one (App registration → Certificates & secrets → Federated credentials)",
  "700212": "the federated credential's audience differs: use api://AzureADTokenExchange",
  "700213": "the app has no federated credential for this subject: add one whose subject is exactly the one above (for GitHub: repo:OWNER/REPO:environment:NAME)",
  "700024": "the federated token expired: run the job again",
};

/** Entra's own reason (the AADSTS line) and the fix for it; never the credential itself. */
function signInFailure(text: string, operation: string): AuthenticationError {
  const aadsts = /AADSTS(\d+):[^\n]*?(?=\s+-?\s*(?:Trace ID|Correlation ID|Timestamp):|\n|$)/.exec(text);
  const reason = (aadsts ? aadsts[0] : firstLine(text)).replace(/\.$/, "");
  const fix = aadsts?.[1] ? SIGN_IN_FIXES[aadsts[1]] : undefined;
  return new AuthenticationError(`Entra did not issue a token to ${operation}: ${reason}${fix ? `. Fix: ${fix}` : ""}`, operation);
}

function connectionReason(error: unknown): string {
  for (let e: unknown = error, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    if ("code" in e && typeof e.code === "string") return e.code;
    e = "cause" in e ? e.cause : undefined;
  }
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}

/**
 * Code and message of a Graph error body: `{"error":{code,message}}` as Graph sends it (and as a
 * $batch item carries it), or the inner `{code,message}` the Graph client library hands over for a
 * direct request.
 */
function errorFields(body: unknown): { code: string; message: string } {
  const error = typeof body === "object" && body !== null && "error" in body && typeof body.error === "object" && body.error !== null ? body.error : body;
  if (typeof error === "object" && error !== null && ("code" in error || "message" in error)) {
    const code = "code" in error && typeof error.code === "string" ? error.code : "unknown";
    const message = "message" in error && typeof error.message === "string" ? error.message : "no message";
    return { code, message };
  }
  return { code: "unknown", message: typeof body === "string" ? body.slice(0, 200) : "no message" };
}

interface BatchResponse {
  id: string;
  status: number;
  body: unknown;
  retryAfter?: string;
  requestId?: string;
  limitPercentage?: string;
  throttleScope?: string;
}

function parseBatchResponses(answer: unknown, purpose: CallPurpose): BatchResponse[] {
  if (typeof answer !== "object" || answer === null || !("responses" in answer) || !Array.isArray(answer.responses)) {
    throw new UnexpectedResponseError(`Graph answered a $batch to ${purpose.operation} without "responses"`, purpose.operation);
  }
  return answer.responses.map((r: unknown): BatchResponse => {
    if (typeof r !== "object" || r === null || !("id" in r) || !("status" in r) || typeof r.status !== "number") {
      throw new UnexpectedResponseError(`Graph's $batch answer to ${purpose.operation} holds a malformed response`, purpose.operation);
    }
    const headers: unknown = "headers" in r ? r.headers : undefined;
    const header = (name: string): string | undefined => {
      if (typeof headers !== "object" || headers === null) return undefined;
      const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name);
      return typeof entry?.[1] === "string" ? entry[1] : undefined;
    };
    const retryAfter = header("retry-after");
    const requestId = header("request-id");
    const limitPercentage = header("x-ms-throttle-limit-percentage");
    const throttleScope = header("x-ms-throttle-scope");
    return {
      id: String(r.id),
      status: r.status,
      body: "body" in r ? r.body : undefined,
      ...(retryAfter === undefined ? {} : { retryAfter }),
      ...(requestId === undefined ? {} : { requestId }),
      ...(limitPercentage === undefined ? {} : { limitPercentage }),
      ...(throttleScope === undefined ? {} : { throttleScope }),
    };
  });
}

function responseInfo(context: Context, status: number, ms: number): ResponseInfo {
  const request = context.request;
  const url = typeof request === "string" ? request : request.url;
  let path = url;
  try {
    const parsed = new URL(url);
    path = `${parsed.pathname}${parsed.search}`;
  } catch {
    // Not a URL: shown as it was asked.
  }
  const method = context.options?.method ?? (typeof request === "string" ? "GET" : request.method);
  const requestId = context.response?.headers.get("request-id") ?? undefined;
  const clientRequestId = context.response?.headers.get("client-request-id") ?? undefined;
  return { method, path, status, ms, ...(requestId ? { requestId } : {}), ...(clientRequestId ? { clientRequestId } : {}) };
}

/** A collection answer's items and its @odata.nextLink. */
export function collectionPage(body: unknown, operation: string): { value: unknown[]; nextLink?: string } {
  if (typeof body !== "object" || body === null || !("value" in body) || !Array.isArray(body.value)) {
    throw new UnexpectedResponseError(`Graph answered ${operation} without a "value" list`, operation);
  }
  const link: unknown = "@odata.nextLink" in body ? body["@odata.nextLink"] : undefined;
  return { value: body.value, ...(typeof link === "string" ? { nextLink: link } : {}) };
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  });
  await Promise.all(workers);
}
