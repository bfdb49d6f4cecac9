// The `graph-limits` throttling profile: Graph's documented identity and access quotas
// (microsoft-graph-docs-contrib concepts/throttling-limits.md, "Identity and access service limits"):
// "Throttling is based on a token bucket algorithm, which works by adding individual costs of
// requests." Every request is charged, each one inside a $batch on its own (concepts/json-batching.md).
//
// | limit type              | resource unit quota                      | write quota            |
// | application+tenant pair | S: 3500, M: 5000, L: 8000 per 10 seconds | 3000 per 2 min 30 s    |
// | tenant                  | not applicable                           | 18,000 per 5 minutes   |
// S: under 50 users, M: 50 to 500, L: above 500.

export const QUOTA_PROFILES = ["graph-limits"] as const;
export type QuotaProfile = (typeof QUOTA_PROFILES)[number];

/** The resource units per 10 s of an app in a tenant of this many users. */
export function resourceUnitQuota(users: number): number {
  return users < 50 ? 3_500 : users <= 500 ? 5_000 : 8_000;
}

export const WRITE_QUOTA = { perApp: 3_000, perAppWindowSeconds: 150, perTenant: 18_000, perTenantWindowSeconds: 300 } as const;
const RESOURCE_WINDOW_SECONDS = 10;

/**
 * A request's cost (the page's "base request costs"): 1 unless listed (`GET users` 2,
 * `checkMemberGroups` 4 for `me/` and so for `users/{id}/`); `$select` −1, `$expand` +1, `$top`
 * under 20 −1; never below 1. Writes (POST, PATCH, PUT, DELETE) also cost 1 write.
 */
export function requestCost(method: string, path: string, query: URLSearchParams): { units: number; writes: number } {
  let units = 1;
  if (method === "GET" && path === "/users") units = 2;
  if (method === "POST" && /^\/users\/[^/]+\/checkMemberGroups$/.test(path)) units = 4;
  if (query.has("$select")) units -= 1;
  if (query.has("$expand")) units += 1;
  const top = Number(query.get("$top"));
  if (query.has("$top") && Number.isFinite(top) && top < 20) units -= 1;
  return { units: Math.max(1, units), writes: method === "GET" ? 0 : 1 };
}

class Bucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: () => number,
    private readonly windowSeconds: number,
    now: number,
  ) {
    this.tokens = capacity();
    this.last = now;
  }

  private refill(now: number): void {
    const capacity = this.capacity();
    this.tokens = Math.min(capacity, this.tokens + ((now - this.last) / 1000) * (capacity / this.windowSeconds));
    this.last = now;
  }

  /** Seconds until `cost` fits, 0 when it fits now. */
  waitFor(cost: number, now: number): number {
    this.refill(now);
    if (this.tokens >= cost) return 0;
    return Math.max(1, Math.ceil((cost - this.tokens) / (this.capacity() / this.windowSeconds)));
  }

  take(cost: number): void {
    this.tokens -= cost;
  }

  /** Share of the quota used, as `x-ms-throttle-limit-percentage` reports it. */
  used(): number {
    return 1 - this.tokens / this.capacity();
  }
}

export type QuotaDecision =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; retryAfterSeconds: number; headers: Record<string, string> };

export class GraphLimits {
  private readonly units = new Map<string, Bucket>();
  private readonly appWrites = new Map<string, Bucket>();
  private readonly tenantWrites: Bucket;

  constructor(
    private readonly tenantId: string,
    private readonly userCount: () => number,
    private readonly now: () => number,
  ) {
    this.tenantWrites = new Bucket(() => WRITE_QUOTA.perTenant, WRITE_QUOTA.perTenantWindowSeconds, now());
  }

  private bucket(map: Map<string, Bucket>, appId: string, capacity: () => number, windowSeconds: number): Bucket {
    let bucket = map.get(appId);
    if (!bucket) {
      bucket = new Bucket(capacity, windowSeconds, this.now());
      map.set(appId, bucket);
    }
    return bucket;
  }

  /** Charges one request, or refuses it with the page's headers ("Additional headers"). */
  charge(appId: string, method: string, path: string, query: URLSearchParams): QuotaDecision {
    const cost = requestCost(method, path, query);
    const now = this.now();
    const units = this.bucket(this.units, appId, () => resourceUnitQuota(this.userCount()), RESOURCE_WINDOW_SECONDS);
    const writes = this.bucket(this.appWrites, appId, () => WRITE_QUOTA.perApp, WRITE_QUOTA.perAppWindowSeconds);
    const checks: { bucket: Bucket; cost: number; scope: string; information: string }[] = [
      { bucket: units, cost: cost.units, scope: `Tenant_Application/ReadWrite/${appId}/${this.tenantId}`, information: "ResourceUnitLimitExceeded" },
      ...(cost.writes > 0
        ? [
            { bucket: writes, cost: cost.writes, scope: `Tenant_Application/Write/${appId}/${this.tenantId}`, information: "WriteLimitExceeded" },
            { bucket: this.tenantWrites, cost: cost.writes, scope: `Tenant/Write/${appId}/${this.tenantId}`, information: "WriteLimitExceeded" },
          ]
        : []),
    ];
    for (const check of checks) {
      const wait = check.bucket.waitFor(check.cost, now);
      if (wait > 0) return { ok: false, retryAfterSeconds: wait, headers: { "x-ms-throttle-scope": check.scope, "x-ms-throttle-information": check.information } };
    }
    for (const check of checks) check.bucket.take(check.cost);
    const used = Math.max(...checks.map((c) => c.bucket.used()));
    // "Returned only when the application consumed more than 0.8 of its limit."
    return { ok: true, headers: { "x-ms-resource-unit": String(cost.units), ...(used > 0.8 ? { "x-ms-throttle-limit-percentage": used.toFixed(2) } : {}) } };
  }
}
