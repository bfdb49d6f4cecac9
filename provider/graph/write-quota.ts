// Graph's documented write quota for an app in a tenant: "3,000 requests per 2 minutes and 30
// seconds" (microsoft-graph-docs-contrib concepts/throttling-limits.md, "Identity and access service
// limits"; every POST, PATCH, PUT and DELETE costs 1 write, each one inside a $batch on its own).
// "Throttling is based on a token bucket algorithm": the client keeps the same bucket and spends
// writes at the rate it refills, instead of bursting into 429s and waiting out Retry-After.

export const WRITE_QUOTA_PER_APP = 3_000;
export const WRITE_QUOTA_WINDOW_SECONDS = 150;

/**
 * Our copy of the app's write bucket. It starts full (what a fresh app has); a 429 whose scope is
 * a write limit (`x-ms-throttle-scope` `…/Write/…`) says it is empty now (earlier runs or other
 * work of the app spent it). `x-ms-throttle-limit-percentage` does not say which limit it measures,
 * so it does not move this bucket. Reservations may take it below zero: the debt is how long the
 * next write waits, so callers queue in order.
 */
export class WriteQuota {
  private tokens: number;
  private last: number;
  private readonly perMs: number;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly capacity = WRITE_QUOTA_PER_APP,
    windowSeconds = WRITE_QUOTA_WINDOW_SECONDS,
  ) {
    this.tokens = capacity;
    this.last = now();
    this.perMs = capacity / (windowSeconds * 1000);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
  }

  /** Takes `writes` from the bucket; the milliseconds to wait before sending them (0: send now). */
  reserve(writes: number): number {
    if (writes <= 0) return 0;
    this.refill();
    this.tokens -= writes;
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.perMs);
  }

  /** Graph refused writes for the write limit: the bucket is empty now. */
  exhausted(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
  }
}

/** Whether a 429's `x-ms-throttle-scope` (`<Scope>/<Limit>/<ApplicationId>/<TenantId>`) names a write limit. */
export function isWriteScope(scope: string | null | undefined): boolean {
  return scope?.split("/")[1] === "Write";
}
