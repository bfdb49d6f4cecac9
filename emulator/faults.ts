// Fault injection: latency, throttling (token bucket → 429/503 + Retry-After), 5xx and dropped
// connections, per run and per route. Random choices come from a seeded PRNG so a run repeats.

export interface ThrottleConfig {
  /** Requests the bucket holds when full. */
  capacity: number;
  /** Requests added back per second. */
  refillPerSecond: number;
  /** 429 or 503, both of which Graph uses for throttling; unset, the response variant decides (429 by default). */
  status?: 429 | 503;
}

export interface FaultRule {
  /** Added to every response, in milliseconds. */
  latencyMs?: number;
  throttle?: ThrottleConfig;
  /** Probability (0..1) of answering 5xx instead of handling the request. */
  errorRate?: number;
  errorStatus?: 500 | 502 | 503 | 504;
  /** Probability (0..1) of destroying the connection without an answer. */
  dropRate?: number;
}

export interface FaultConfig extends FaultRule {
  seed?: number;
  /** Overrides by route name (e.g. "activate", "listDevices", "batch"); they replace the run-wide values they set. */
  routes?: Record<string, FaultRule>;
  /** Deterministic one-shot faults: the next `count` calls to `route` fail as given. */
  script?: ScriptedFault[];
}

export interface ScriptedFault {
  route: string;
  count: number;
  outcome: "drop" | 429 | 500 | 502 | 503 | 504;
  /** Applies from the nth matching call on (1-based); default 1. */
  after?: number;
}

export type FaultDecision =
  | { kind: "none"; latencyMs: number }
  | { kind: "drop"; latencyMs: number }
  | { kind: "throttle"; latencyMs: number; status: 429 | 503 | undefined; retryAfterSeconds: number }
  | { kind: "error"; latencyMs: number; status: number };

class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly config: ThrottleConfig,
    now: number,
  ) {
    this.tokens = config.capacity;
    this.last = now;
  }

  /** Takes one token, or says how many seconds until one is available. */
  take(now: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    this.tokens = Math.min(this.config.capacity, this.tokens + ((now - this.last) / 1000) * this.config.refillPerSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.config.refillPerSecond)) };
  }
}

/** mulberry32: small, fast and good enough to make fault patterns repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Faults {
  private readonly random: () => number;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly calls = new Map<string, number>();

  constructor(
    private readonly config: FaultConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.random = seededRandom(config.seed ?? 1);
  }

  decide(route: string): FaultDecision {
    const rule: FaultRule = { ...this.config, ...(this.config.routes?.[route] ?? {}) };
    const latencyMs = rule.latencyMs ?? 0;
    const call = (this.calls.get(route) ?? 0) + 1;
    this.calls.set(route, call);

    for (const scripted of this.config.script ?? []) {
      const from = scripted.after ?? 1;
      if ((scripted.route === route || scripted.route === "*") && call >= from && call < from + scripted.count) {
        if (scripted.outcome === "drop") return { kind: "drop", latencyMs };
        if (scripted.outcome === 429) return { kind: "throttle", latencyMs, status: 429, retryAfterSeconds: 1 };
        return { kind: "error", latencyMs, status: scripted.outcome };
      }
    }
    if (rule.throttle) {
      // Routes with their own throttle get their own bucket; the rest share the tenant's.
      const key = this.config.routes?.[route]?.throttle ? route : "*";
      let bucket = this.buckets.get(key);
      if (!bucket) {
        bucket = new TokenBucket(rule.throttle, this.now());
        this.buckets.set(key, bucket);
      }
      const taken = bucket.take(this.now());
      if (!taken.ok) return { kind: "throttle", latencyMs, status: rule.throttle.status, retryAfterSeconds: taken.retryAfterSeconds };
    }
    if (rule.dropRate && this.random() < rule.dropRate) return { kind: "drop", latencyMs };
    if (rule.errorRate && this.random() < rule.errorRate) return { kind: "error", latencyMs, status: rule.errorStatus ?? 503 };
    return { kind: "none", latencyMs };
  }
}
