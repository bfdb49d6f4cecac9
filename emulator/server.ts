import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { AuditLog, type AuditActivity, type AuditInitiator, type AuditTarget } from "./audit.js";
import { Authority, instanceDiscovery, OAuthError, openIdConfiguration, type AccessClaims, type AppRegistration } from "./auth.js";
import { Faults, type FaultConfig } from "./faults.js";
import { GraphLimits, type QuotaProfile } from "./quotas.js";
import { forbidden, GraphError, isJson, Tenant, type Device, type Json, type TenantSnapshot, type User, type UserMethod } from "./tenant.js";
import { generateTls, type TlsMaterial } from "./tls.js";
import { Variants, type ResponseShape, type VariantSetting } from "./variants.js";

// A local Microsoft Graph (beta) for hardware OATH tokens, following docs/graph-api.md.

export const PERMISSIONS = {
  readDevices: ["Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"],
  writeDevices: ["Policy.ReadWrite.AuthenticationMethod"],
  // A user's hardwareOathMethods: UserAuthenticationMethod.* (each operation's table), or since October 2025 the
  // narrower UserAuthMethod-HardwareOATH.* (concepts/whats-new-overview.md: "lesser-privileged alternatives").
  readMethods: ["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-HardwareOATH.Read.All", "UserAuthMethod-HardwareOATH.ReadWrite.All"],
  writeMethods: ["UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-HardwareOATH.ReadWrite.All"],
  // authentication-list-methods.md: every method of a user; its table names no per-method permission.
  readAllMethods: ["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"],
  readUsers: ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
  // hardwareoathauthenticationmethodconfiguration-get.md
  readMethodPolicy: ["Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"],
  // directoryobject-checkmembergroups.md: a user's groups need a group-reading permission besides the user one.
  readGroupMembers: ["GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
  // directoryaudit-list.md: AuditLog.Read.All (least privileged).
  readAudit: ["AuditLog.Read.All"],
} as const;
type Permission = keyof typeof PERMISSIONS;

export interface EmulatorOptions {
  tenantId?: string;
  apps?: AppRegistration[];
  /** true: a CA and certificate are generated for this run; or give your own. Default: plain HTTP. */
  https?: boolean | TlsMaterial;
  host?: string;
  port?: number;
  faults?: FaultConfig;
  /** Page size when the client gives no $top; and the most a $top may ask for. */
  defaultPageSize?: number;
  maxPageSize?: number;
  maxBulkItems?: number;
  clock?: () => number;
  snapshot?: TenantSnapshot;
  /** Load the tenant from this JSON file if it exists, and save it there after each change. */
  statePath?: string;
  /** Which documented response shapes to serve (see variants.ts); default "canonical", the emulator's own. */
  variant?: VariantSetting;
  /** Seed of the "mix" variant's choices, so a run repeats. */
  variantSeed?: number;
  /**
   * false: a tenant without advanced queries, where `ConsistencyLevel: eventual` changes nothing
   * ("not available for Azure AD B2C tenants", concepts/aad-advanced-queries.md). Default true.
   */
  advancedQueries?: boolean;
  /** `graph-limits`: charge and enforce Graph's documented identity and access quotas (quotas.ts). */
  throttle?: QuotaProfile;
}

export interface RequestLogEntry {
  method: string;
  route: string;
  path: string;
  status: number;
  /** True for a request inside a $batch. */
  batched: boolean;
  /** Under a quota profile: the resource units Graph charged (its `x-ms-resource-unit` header). */
  resourceUnits?: number;
}

interface GraphResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

interface Route {
  name: string;
  method: string;
  pattern: RegExp;
  /** The OData query options the route implements; any other `$` option is refused as Graph refuses it. */
  options: readonly string[];
  handle: (ctx: RouteContext) => GraphResponse;
}

interface RouteContext {
  params: string[];
  query: URLSearchParams;
  body: unknown;
  claims: AccessClaims;
  /** The documented shape this answer takes. */
  shape: ResponseShape;
  /** The request asked for an advanced query: `ConsistencyLevel: eventual` (concepts/aad-advanced-queries.md). */
  eventual: boolean;
}

const DEVICES = "/directory/authenticationMethodDevices/hardwareOathDevices";
const METHODS = "/users/([^/]+)/authentication/hardwareOathMethods";
const DEVICE_TYPE = "microsoft.graph.hardwareOathTokenAuthenticationMethodDevice";
/** OData system query options Graph knows; the ones a route does not implement answer 400 (OData's wording). */
const ODATA_OPTIONS: Record<string, string> = {
  $filter: "Filter", $select: "Select", $top: "Top", $skip: "Skip", $skiptoken: "SkipToken", $expand: "Expand",
  $orderby: "OrderBy", $count: "Count", $search: "Search", $format: "Format", $apply: "Apply", $compute: "Compute",
};
const METHOD_TYPE = "#microsoft.graph.hardwareOathAuthenticationMethod";
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_BATCH = 20;
const USER_FIELDS = ["id", "userPrincipalName", "displayName", "userType", "accountEnabled"] as const;
const MAX_IN_VALUES = 15;

export class GraphEmulator {
  readonly tenant: Tenant;
  /** Every write served, as Entra's directory audit log records it (audit.ts). */
  readonly audit: AuditLog;
  readonly tenantId: string;
  readonly requests: RequestLogEntry[] = [];
  /** Set when serving HTTPS: the CA certificate clients must trust (PEM). */
  readonly caCert: string | undefined;
  private faults: Faults;
  private readonly limits: GraphLimits | undefined;
  private readonly variants: Variants;
  private readonly authority: Authority;
  private readonly routes: Route[];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private baseUrl = "";
  private saveTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: EmulatorOptions,
    private readonly tls: TlsMaterial | undefined,
  ) {
    const clock = options.clock ?? Date.now;
    this.tenantId = options.tenantId ?? "00000000-0000-4000-8000-00000000c0de";
    const snapshot = options.statePath && existsSync(options.statePath) ? readSnapshot(options.statePath) : options.snapshot;
    this.tenant = new Tenant(clock, snapshot);
    this.audit = new AuditLog(clock);
    this.authority = new Authority(this.tenantId, options.apps ?? [], clock);
    this.faults = new Faults(options.faults ?? {}, clock);
    this.limits = options.throttle === "graph-limits" ? new GraphLimits(this.tenantId, () => this.tenant.userCount(), clock) : undefined;
    this.variants = new Variants(options.variant ?? "canonical", options.variantSeed ?? 1);
    this.caCert = tls?.caCert;
    this.routes = this.buildRoutes();
  }

  static async start(options: EmulatorOptions = {}): Promise<GraphEmulator> {
    const tls = options.https === true ? generateTls() : options.https || undefined;
    const emulator = new GraphEmulator(options, tls);
    await emulator.listen();
    return emulator;
  }

  /** Root URL; the OAuth authority host as well. */
  get url(): string {
    return this.baseUrl;
  }

  /** The Graph base URL clients use instead of https://graph.microsoft.com/beta. */
  get graphUrl(): string {
    return `${this.baseUrl}/beta`;
  }

  setFaults(config: FaultConfig): void {
    this.faults = new Faults(config, this.options.clock ?? Date.now);
  }

  /** Requests per "METHOD route status", for tests and benchmarks. */
  counters(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of this.requests) {
      const key = `${r.method} ${r.route} ${r.status}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Top-level HTTP requests (what Graph counts for throttling and what a client pays in round trips). */
  httpRequestCount(): number {
    return this.requests.filter((r) => !r.batched).length;
  }

  async stop(): Promise<void> {
    this.flushState();
    const server = this.server;
    if (!server) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private async listen(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      // A bug in a handler must answer 500, as Graph would, not take the emulator down.
      this.onRequest(req, res).catch((error: unknown) => {
        const id = randomUUID();
        if (!res.headersSent) send(res, graphError(500, "generalException", `Emulator error: ${error instanceof Error ? error.message : String(error)}`, id, id));
      });
    };
    const server = this.tls ? createHttpsServer({ key: this.tls.key, cert: this.tls.cert }, handler) : createHttpServer(handler);
    server.keepAliveTimeout = 30_000;
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    server.on("secureConnection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.server = server;
    this.baseUrl = `${this.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }

  // ---- HTTP entry ----------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const clientRequestId = headerValue(req, "client-request-id") ?? requestId;
    const url = new URL(req.url ?? "/", "http://emulator");
    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      send(res, graphError(413, "RequestEntityTooLarge", "The request body is too large.", requestId, clientRequestId));
      return;
    }
    const method = req.method ?? "GET";
    let response: GraphResponse | "drop";
    let route = "unknown";
    if (url.pathname.startsWith("/beta/") || url.pathname === "/beta") {
      const graphPath = url.pathname.slice("/beta".length) + url.search;
      route = this.routeName(method, url.pathname.slice("/beta".length));
      response = await this.withFaults(route, requestId, clientRequestId, () =>
        this.graph(method, graphPath, raw, headerValue(req, "authorization"), requestId, clientRequestId, false, isEventual(headerValue(req, "consistencylevel"))),
      );
    } else if (url.pathname.startsWith("/_emulator/")) {
      route = "control";
      response = this.control(method, url.pathname, raw);
    } else {
      route = url.pathname.endsWith("/oauth2/v2.0/token") ? "token" : "identity";
      response = await this.withFaults(route, requestId, clientRequestId, () => this.identity(method, url.pathname, raw));
    }
    if (response === "drop") {
      this.requests.push({ method, route, path: url.pathname, status: 0, batched: false });
      req.socket.destroy();
      return;
    }
    this.requests.push({ method, route, path: url.pathname, status: response.status, batched: false, ...charged(response) });
    if (method !== "GET" && response.status < 400 && route !== "token" && route !== "identity") this.scheduleSave();
    send(res, response);
  }

  private async withFaults(
    route: string,
    requestId: string,
    clientRequestId: string,
    handle: () => GraphResponse | Promise<GraphResponse>,
  ): Promise<GraphResponse | "drop"> {
    const decision = this.faults.decide(route);
    if (decision.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.latencyMs));
    switch (decision.kind) {
      case "drop":
        return "drop";
      case "throttle":
        return this.throttled(decision.status, decision.retryAfterSeconds, requestId, clientRequestId);
      case "error":
        return graphError(decision.status, decision.status === 503 ? "serviceNotAvailable" : "generalException", "The service is temporarily unavailable. Please retry.", requestId, clientRequestId);
      case "none":
        return handle();
    }
  }

  // ---- identity ------------------------------------------------------------------------------

  private async identity(method: string, path: string, raw: string): Promise<GraphResponse> {
    const json = (status: number, body: unknown): GraphResponse => ({ status, headers: { "content-type": "application/json" }, body });
    const segments = path.split("/").filter(Boolean);
    const tenant = segments[0] ?? "";
    const rest = segments.slice(1).join("/");
    if (method === "GET" && rest === "discovery/instance") return json(200, instanceDiscovery(this.baseUrl, this.tenantId));
    const knownTenant = tenant === this.tenantId || tenant === "organizations";
    if (!knownTenant) {
      return json(400, oauthBody("invalid_request", `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`));
    }
    if (method === "GET" && rest === "v2.0/.well-known/openid-configuration") return json(200, openIdConfiguration(this.baseUrl, this.tenantId));
    if (method === "GET" && rest === "discovery/v2.0/keys") return json(200, this.authority.jwks());
    if (method === "POST" && rest === "oauth2/v2.0/token") {
      try {
        return json(200, await this.authority.issue(new URLSearchParams(raw)));
      } catch (error: unknown) {
        if (error instanceof OAuthError) return json(error.status, oauthBody(error.error, error.description));
        throw error;
      }
    }
    return json(404, oauthBody("invalid_request", `No such endpoint: ${method} ${path}`));
  }

  // ---- Graph ---------------------------------------------------------------------------------

  private routeName(method: string, pathWithQuery: string): string {
    const path = pathWithQuery.split("?")[0] ?? "";
    // $batch is no Route (it dispatches to them), but fault rules and the log name it `batch`.
    if (method === "POST" && path === "/$batch") return "batch";
    return this.routes.find((r) => r.method === method && r.pattern.test(path))?.name ?? "unknown";
  }

  private graph(
    method: string,
    pathWithQuery: string,
    raw: string | unknown,
    authorization: string | undefined,
    requestId: string,
    clientRequestId: string,
    batched: boolean,
    eventual = false,
  ): GraphResponse | Promise<GraphResponse> {
    const [path = "", search = ""] = pathWithQuery.split("?");
    const fail = (error: GraphError) => graphError(error.status, error.code, error.message, requestId, clientRequestId);
    const claims = this.authority.check(authorization);
    if ("reason" in claims) return graphError(401, "InvalidAuthenticationToken", claims.reason, requestId, clientRequestId);
    if (path.startsWith("/me/") || path === "/me") {
      return fail(new GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow."));
    }
    if (method === "POST" && path === "/$batch") {
      if (batched) return fail(new GraphError(400, "BadRequest", "Nested batch requests are not supported."));
      return this.batch(typeof raw === "string" ? raw : JSON.stringify(raw), authorization, requestId, clientRequestId);
    }
    // Each request is charged, inside a $batch too; the envelope itself is not an identity request.
    const quota = this.limits?.charge(claims.appId, method, path, new URLSearchParams(search));
    if (quota && !quota.ok) {
      const refused = this.throttled(429, quota.retryAfterSeconds, requestId, clientRequestId);
      Object.assign(refused.headers, quota.headers);
      return refused;
    }
    let body: unknown = raw;
    if (typeof raw === "string") {
      try {
        body = raw.trim() === "" ? {} : JSON.parse(raw);
      } catch {
        return fail(new GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."));
      }
    }
    // Graph answers segments it does not serve (`/$count`, a `/$ref` we do not model…) with 400, never by ignoring them.
    const dollarSegment = path.split("/").find((segment) => segment.startsWith("$"));
    const dollarRoute = (r: Route) => r.pattern.source.includes("\\$") && r.pattern.test(path);
    if (dollarSegment && !this.routes.some(dollarRoute)) return fail(new GraphError(400, "BadRequest", `Resource not found for the segment '${dollarSegment}'.`));
    const shape = this.variants.next();
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const match = route.pattern.exec(path);
      if (!match) continue;
      try {
        const query = new URLSearchParams(search);
        refuseUnsupportedOptions(query, route.options);
        const params = match.slice(1).map((p) => decodeURIComponent(p));
        const response = route.handle({ params, query, body, claims, shape, eventual });
        if (quota) Object.assign(response.headers, quota.headers);
        response.headers["request-id"] = requestId;
        response.headers["client-request-id"] = clientRequestId;
        return response;
      } catch (error: unknown) {
        if (error instanceof GraphError) return fail(new GraphError(error.status, Variants.code(shape, error.code), error.message));
        if (error instanceof URIError) return fail(new GraphError(400, "BadRequest", "The request URL is not correctly encoded."));
        throw error;
      }
    }
    const known = this.routes.some((r) => r.pattern.test(path));
    return known
      ? fail(new GraphError(405, "Request_BadRequest", `The HTTP method '${method}' is not allowed on this resource.`))
      : fail(new GraphError(400, "BadRequest", `Resource not found for the segment '${path.split("/").filter(Boolean).pop() ?? ""}'.`));
  }

  private async batch(raw: string, authorization: string | undefined, requestId: string, clientRequestId: string): Promise<GraphResponse> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return graphError(400, "BadRequest", "Unable to read JSON request payload.", requestId, clientRequestId);
    }
    const requests = isJson(parsed) && Array.isArray(parsed["requests"]) ? parsed["requests"] : undefined;
    if (!requests) return graphError(400, "BadRequest", "The batch body must be {\"requests\":[...]}.", requestId, clientRequestId);
    if (requests.length > MAX_BATCH) {
      return graphError(400, "BadRequest", `The number of batch requests exceeds the limit of ${MAX_BATCH}.`, requestId, clientRequestId);
    }
    const ids = new Set<string>();
    for (const item of requests) {
      if (!isJson(item) || typeof item["id"] !== "string" || typeof item["method"] !== "string" || typeof item["url"] !== "string") {
        return graphError(400, "BadRequest", "Each batch request needs string id, method and url.", requestId, clientRequestId);
      }
      if (ids.has(item["id"])) return graphError(400, "BadRequest", `Batch request id '${item["id"]}' is used twice.`, requestId, clientRequestId);
      ids.add(item["id"]);
      // concepts/json-batching.md: "When a body is included with the request, the headers object must contain a value for Content-Type."
      const headers = item["headers"];
      const hasContentType = isJson(headers) && Object.keys(headers).some((name) => name.toLowerCase() === "content-type");
      // The same page, on its example's request 4: a write whose target needs no body "must still specify
      // the headers and body parameters" (an empty object will do). Graph refuses the whole batch otherwise.
      const isWrite = ["POST", "PATCH", "PUT"].includes(item["method"].toUpperCase());
      if ((item["body"] !== undefined || isWrite) && (!hasContentType || item["body"] === undefined)) {
        return graphError(400, "BadRequest", `Write request id : ${item["id"]} does not contain Content-Type header or body.`, requestId, clientRequestId);
      }
    }
    const statusById = new Map<string, number>();
    const responses: object[] = [];
    // Graph runs a batch's items side by side: the batch takes as long as its slowest item.
    let batchLatencyMs = 0;
    for (const item of requests.filter(isJson)) {
      const id = String(item["id"]);
      const method = String(item["method"]).toUpperCase();
      const url = String(item["url"]);
      const relative = url.startsWith("/") ? url : `/${url}`;
      const innerRequestId = randomUUID();
      const dependsOn = Array.isArray(item["dependsOn"]) ? item["dependsOn"].map(String) : [];
      const route = this.routeName(method, relative);
      let response: GraphResponse;
      if (dependsOn.some((dep) => (statusById.get(dep) ?? 424) >= 400)) {
        response = graphError(424, "FailedDependency", "A request this one depends on failed.", innerRequestId, clientRequestId);
      } else {
        const decision = this.faults.decide(route);
        batchLatencyMs = Math.max(batchLatencyMs, decision.latencyMs);
        if (decision.kind === "throttle") response = this.throttled(decision.status, decision.retryAfterSeconds, innerRequestId, clientRequestId);
        else if (decision.kind === "error" || decision.kind === "drop") {
          response = graphError(decision.kind === "drop" ? 502 : decision.status, "serviceNotAvailable", "The service is temporarily unavailable. Please retry.", innerRequestId, clientRequestId);
        } else {
          // "To use advanced query capabilities in batch requests, specify the ConsistencyLevel header" in the item (aad-advanced-queries.md).
          const consistency = isJson(item["headers"]) ? Object.entries(item["headers"]).find(([name]) => name.toLowerCase() === "consistencylevel")?.[1] : undefined;
          response = await this.graph(method, relative, item["body"] ?? "", authorization, innerRequestId, clientRequestId, true, isEventual(typeof consistency === "string" ? consistency : undefined));
        }
      }
      statusById.set(id, response.status);
      this.requests.push({ method, route, path: relative.split("?")[0] ?? relative, status: response.status, batched: true, ...charged(response) });
      responses.push({ id, status: response.status, headers: response.headers, ...(response.body === undefined ? {} : { body: response.body }) });
    }
    if (batchLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, batchLatencyMs));
    return { status: 200, headers: { "content-type": "application/json", "request-id": requestId, "client-request-id": clientRequestId }, body: { responses } };
  }

  /** The app a token was issued to, as the audit log names it. */
  private initiator(claims: AccessClaims): AuditInitiator {
    const app = this.options.apps?.find((a) => a.clientId === claims.appId);
    return { app: { appId: claims.appId, displayName: app?.displayName ?? claims.appId, servicePrincipalId: claims.appId } };
  }

  private targets(device: Device, userId = device.assignedToUserId): AuditTarget[] {
    const user = userId === null ? undefined : this.tenant.userById(userId);
    return [
      { id: device.id, displayName: device.serialNumber, type: "Device" },
      ...(user ? [{ id: user.id, displayName: user.displayName, type: "User" as const, userPrincipalName: user.userPrincipalName }] : []),
    ];
  }

  private logWrite(claims: AccessClaims, activity: AuditActivity, device: Device, userId?: string): void {
    this.audit.record(activity, this.initiator(claims), this.targets(device, userId));
  }

  /** Activation is logged whether the code was right or not (a wrong one leaves the device failedActivation). */
  private logActivation(claims: AccessClaims, idOrUpn: string, deviceId: string | undefined, activate: () => void): void {
    const wasAssigned = deviceId === undefined ? undefined : this.tenant.deviceById(deviceId)?.assignedToUserId;
    const log = (result: "success" | "failure") => {
      const device = deviceId === undefined ? undefined : this.tenant.deviceById(deviceId);
      if (!device) return;
      if (wasAssigned === null && device.assignedToUserId !== null) this.logWrite(claims, "assign", device);
      this.audit.record("activate", this.initiator(claims), this.targets(device, this.tenant.user(idOrUpn).id), result);
    };
    try {
      activate();
    } catch (error: unknown) {
      if (error instanceof GraphError && error.code === "invalidVerificationCode") log("failure");
      throw error;
    }
    log("success");
  }

  private require(claims: AccessClaims, ...needs: Permission[]): void {
    for (const need of needs) {
      if (!PERMISSIONS[need].some((role) => claims.roles.includes(role))) throw forbidden();
    }
  }

  private buildRoutes(): Route[] {
    const tenant = this.tenant;
    const ok = (status: number, body?: unknown): GraphResponse =>
      body === undefined ? { status, headers: {} } : { status, headers: { "content-type": "application/json" }, body };
    const bodyOf = (ctx: RouteContext): Json => {
      if (!isJson(ctx.body)) throw new GraphError(400, "BadRequest", "The request body must be a JSON object.");
      return ctx.body;
    };
    const param = (ctx: RouteContext, index: number): string => ctx.params[index] ?? "";
    const route = (name: string, method: string, path: string, handle: Route["handle"], options: readonly string[] = []): Route => ({
      name,
      method,
      pattern: new RegExp(`^${path}$`),
      options,
      handle,
    });
    return [
      // authenticationmethoddevice-list-hardwareoathdevices.md: $filter (status, serialNumber), $select, $top, paging.
      route(
        "listDevices",
        "GET",
        DEVICES,
        (ctx) => {
          this.require(ctx.claims, "readDevices");
          return ok(200, this.listDevices(ctx.query, ctx.shape));
        },
        ["$filter", "$select", "$top", "$skiptoken"],
      ),
      // authenticationmethoddevice-post-hardwareoathdevices.md; the bulk page's own example POSTs the #$delta body.
      route("createDevice", "POST", DEVICES, (ctx) => {
        const body = bodyOf(ctx);
        this.require(ctx.claims, "writeDevices");
        if (Array.isArray(body["value"])) return ok(ctx.shape.createStatus, this.bulkCreate(body, ctx.claims, ctx.shape));
        const canAssign = PERMISSIONS.writeMethods.some((r) => ctx.claims.roles.includes(r));
        const device = tenant.createDevice(body, canAssign);
        this.logWrite(ctx.claims, "create", device);
        if (device.assignedToUserId !== null) this.logWrite(ctx.claims, "assign", device);
        return ok(ctx.shape.createStatus, this.deviceJson(device, undefined, ctx.shape));
      }),
      // authenticationmethoddevice-update.md (create one or more, PATCH #$delta).
      route("bulkCreate", "PATCH", DEVICES, (ctx) => {
        this.require(ctx.claims, "writeDevices");
        return ok(ctx.shape.createStatus, this.bulkCreate(bodyOf(ctx), ctx.claims, ctx.shape));
      }),
      // hardwareoathtokenauthenticationmethoddevice-get.md: "does not support optional query parameters".
      route("getDevice", "GET", `${DEVICES}/([^/]+)`, (ctx) => {
        this.require(ctx.claims, "readDevices");
        const device = this.deviceJson(tenant.device(param(ctx, 0)), undefined, ctx.shape);
        return ok(200, ctx.shape.getById === "wrapped" ? { ...this.context(ctx.shape, "$entity"), value: device } : { ...this.context(ctx.shape, "$entity"), ...device });
      }),
      // hardwareoathtokenauthenticationmethoddevice-update.md: 200 with the device (text) or 204 (example).
      route("updateDevice", "PATCH", `${DEVICES}/([^/]+)`, (ctx) => {
        this.require(ctx.claims, "writeDevices");
        const device = tenant.updateDevice(param(ctx, 0), bodyOf(ctx));
        this.logWrite(ctx.claims, "update", device);
        return ctx.shape.updateStatus === 200 ? ok(200, this.deviceJson(device, undefined, ctx.shape)) : ok(204);
      }),
      route("deleteDevice", "DELETE", `${DEVICES}/([^/]+)`, (ctx) => {
        this.require(ctx.claims, "writeDevices");
        // A portal-uploaded token's id names no inventory device; the tenant deletes it all the same,
        // and the audit log records "Delete Hardware Oath Token" for it as for any token
        // (entra-docs reference-audit-activities.md, "Authentication Methods").
        const device = tenant.deviceById(param(ctx, 0));
        const portal = device ? undefined : tenant.portalToken(param(ctx, 0));
        tenant.deleteDevice(param(ctx, 0));
        if (device) this.logWrite(ctx.claims, "delete", device);
        if (portal) this.audit.record("delete", this.initiator(ctx.claims), [{ id: portal.id, displayName: portal.serialNumber ?? null, type: "Device" }]);
        return ok(204);
      }),
      route(
        "getUser",
        "GET",
        "/users/([^/]+)",
        (ctx) => {
          this.require(ctx.claims, "readUsers");
          return ok(200, { ...this.context(ctx.shape, "users/$entity"), ...this.userJson(tenant.user(param(ctx, 0)), this.userFields(ctx.query)) });
        },
        ["$select"],
      ),
      // user-list.md: $filter, $select, $top and paging (see listUsers for the filters we model).
      route(
        "listUsers",
        "GET",
        "/users",
        (ctx) => {
          this.require(ctx.claims, "readUsers");
          return ok(200, this.listUsers(ctx.query, ctx.shape, ctx.eventual));
        },
        ["$filter", "$select", "$top", "$skiptoken", "$count"],
      ),
      // authentication-list-hardwareoathmethods.md: "supports the `$select`, `$filter` and `$top` OData query parameters".
      route(
        "listMethods",
        "GET",
        METHODS,
        (ctx) => {
          this.require(ctx.claims, "readMethods");
          const user = param(ctx, 0);
          const methods: Record<string, unknown>[] = [...tenant.methodsOf(user).map((d) => this.userMethodJson(d, ctx.shape)), ...tenant.otherMethodsOf(user).filter((m) => m.kind === "hardwareOath").map((m) => this.portalTokenJson(m))];
          const matching = methods.filter(methodFilter(ctx.query.get("$filter")));
          const select = selection(ctx.query);
          const unknown = select?.find((f) => !METHOD_FIELDS.includes(f));
          if (unknown) throw new GraphError(400, "BadRequest", `Could not find a property named '${unknown}' on type '${METHOD_TYPE.slice(1)}'.`);
          const render = (m: Record<string, unknown>) => (select ? Object.fromEntries(Object.entries(m).filter(([key]) => key === "id" || key === "@odata.type" || select.includes(key))) : m);
          const page = this.page(matching, ctx.query, ctx.shape, `/users/${encodeURIComponent(user)}/authentication/hardwareOathMethods`, "hardwareOathMethods", render);
          return ok(200, ctx.shape.annotations ? { "@odata.count": matching.length, ...page } : page);
        },
        ["$select", "$filter", "$top", "$skiptoken"],
      ),
      // hardwareoathtokenauthenticationmethoddevice-put-assignto.md ("Assign user"): 204, body `{"@odata.id": ".../users/{id}"}`.
      route("assignToRef", "PUT", `${METHODS}/([^/]+)/device/assignTo/\\$ref`, (ctx) => {
        this.require(ctx.claims, "writeMethods");
        const userId = userOfReference(bodyOf(ctx));
        // Not documented: a path naming one user and a body naming another. The emulator refuses it rather than guess.
        if (tenant.user(param(ctx, 0)).id !== tenant.user(userId).id) throw new GraphError(400, "BadRequest", "The user in the path and the user in @odata.id differ.");
        const device = tenant.assign(userId, { device: { id: param(ctx, 1) } });
        this.logWrite(ctx.claims, "assign", device);
        return ok(204);
      }),
      // hardwareoathtokenauthenticationmethoddevice-post-assignto.md ("Add user"): the same reference, on the inventory device.
      route("deviceAssignToRef", "PUT", `${DEVICES}/([^/]+)/assignTo/\\$ref`, (ctx) => {
        this.require(ctx.claims, "writeMethods");
        const device = tenant.assign(userOfReference(bodyOf(ctx)), { device: { id: param(ctx, 0) } });
        this.logWrite(ctx.claims, "assign", device);
        return ok(204);
      }),
      // authentication-list-methods.md: every method of the user, each with its @odata.type.
      route("listAllMethods", "GET", "/users/([^/]+)/authentication/methods", (ctx) => {
        this.require(ctx.claims, "readAllMethods");
        const user = param(ctx, 0);
        const value = [
          ...tenant.methodsOf(user).map((d) => ({ "@odata.type": METHOD_TYPE, id: d.id, createdDateTime: d.assignedDateTime, lastUsedDateTime: d.methodLastUsedDateTime ?? d.lastUsedDateTime })),
          ...tenant.otherMethodsOf(user).map((m) => ({ "@odata.type": `#microsoft.graph.${m.kind}AuthenticationMethod`, id: m.id, lastUsedDateTime: m.lastUsedDateTime })),
        ];
        return ok(200, { ...this.context(ctx.shape, "users('" + user + "')/authentication/methods"), value });
      }),
      route("assignAndActivate", "POST", `${METHODS}/assignAndActivate`, (ctx) => {
        this.require(ctx.claims, "writeMethods");
        const body = bodyOf(ctx);
        this.logActivation(ctx.claims, param(ctx, 0), isJson(body["device"]) ? String(body["device"]["id"]) : undefined, () => tenant.assignAndActivate(param(ctx, 0), body));
        return ok(204);
      }),
      route("assignAndActivateBySerialNumber", "POST", `${METHODS}/assignAndActivateBySerialNumber`, (ctx) => {
        this.require(ctx.claims, "writeMethods");
        const body = bodyOf(ctx);
        const serial = body["serialNumber"];
        this.logActivation(ctx.claims, param(ctx, 0), typeof serial === "string" ? tenant.deviceBySerial(serial)?.id : undefined, () => tenant.assignAndActivateBySerialNumber(param(ctx, 0), body));
        return ok(204);
      }),
      route("assign", "POST", METHODS, (ctx) => {
        this.require(ctx.claims, "writeMethods");
        const device = tenant.assign(param(ctx, 0), bodyOf(ctx));
        this.logWrite(ctx.claims, "assign", device);
        return ok(201, { id: device.id, createdDateTime: device.assignedDateTime });
      }),
      route("getMethod", "GET", `${METHODS}/([^/]+)`, (ctx) => {
        this.require(ctx.claims, "readMethods");
        const device = tenant.methodsOf(param(ctx, 0)).find((d) => d.id === param(ctx, 1));
        if (!device) throw new GraphError(404, "Request_ResourceNotFound", `Resource '${param(ctx, 1)}' does not exist or one of its queried reference-property objects are not present.`);
        return ok(200, { ...this.context(ctx.shape, "hardwareOathMethods/$entity"), ...this.userMethodJson(device, ctx.shape) });
      }),
      route("activate", "POST", `${METHODS}/([^/]+)/activate`, (ctx) => {
        this.require(ctx.claims, "writeMethods");
        this.logActivation(ctx.claims, param(ctx, 0), param(ctx, 1), () => tenant.activate(param(ctx, 0), param(ctx, 1), bodyOf(ctx)));
        return ok(204);
      }),
      route("deactivate", "POST", `${METHODS}/([^/]+)/deactivate`, (ctx) => {
        this.require(ctx.claims, "writeMethods");
        tenant.deactivate(param(ctx, 0), param(ctx, 1));
        this.logWrite(ctx.claims, "deactivate", tenant.device(param(ctx, 1)));
        return ok(204);
      }),
      // directoryaudit-list.md: $filter, $top, $orderby, skiptoken paging.
      route(
        "listDirectoryAudits",
        "GET",
        "/auditLogs/directoryAudits",
        (ctx) => {
          this.require(ctx.claims, "readAudit");
          const matching = this.audit.query(ctx.query.get("$filter"), ctx.query.get("$orderby"));
          return ok(200, this.page(matching, ctx.query, ctx.shape, "/auditLogs/directoryAudits", "auditLogs/directoryAudits", (e) => e));
        },
        ["$filter", "$top", "$orderby", "$skiptoken"],
      ),
      route("getMethodPolicy", "GET", "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/hardwareOath", (ctx) => {
        this.require(ctx.claims, "readMethodPolicy");
        return ok(200, { "@odata.context": `${this.graphUrl}/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity`, ...tenant.methodPolicy.json() });
      }),
      route("checkMemberGroups", "POST", "/users/([^/]+)/checkMemberGroups", (ctx) => {
        this.require(ctx.claims, "readUsers", "readGroupMembers");
        const user = tenant.user(param(ctx, 0));
        return ok(200, { value: tenant.methodPolicy.checkMemberGroups(user.id, ctx.body) });
      }),
      route("unassign", "DELETE", `${METHODS}/([^/]+)`, (ctx) => {
        this.require(ctx.claims, "writeMethods");
        const user = tenant.user(param(ctx, 0));
        const portal = tenant.portalToken(param(ctx, 1));
        tenant.unassign(user.id, param(ctx, 1));
        // A portal-uploaded token's method id names no inventory device (how-to-mfa-manage-oath-tokens.md):
        // removing it from the user is an admin deleting the user's security info, logged as such.
        const device = tenant.deviceById(param(ctx, 1));
        if (device) this.logWrite(ctx.claims, "unassign", device, user.id);
        else if (portal?.userId === user.id) {
          this.audit.record("unassign", this.initiator(ctx.claims), [
            { id: portal.id, displayName: portal.serialNumber ?? null, type: "Device" },
            { id: user.id, displayName: user.displayName, type: "User", userPrincipalName: user.userPrincipalName },
          ]);
        }
        return ok(204);
      }),
    ];
  }

  private listDevices(query: URLSearchParams, shape: ResponseShape): object {
    const predicates = parseFilter(query.get("$filter"), shape);
    const select = selection(query);
    if (select) this.checkSelect(select);
    const matching = this.tenant.allDevices().filter((d) => predicates.every((p) => p(d)));
    const render = (d: Device) => (shape.listItems === "wrapped" ? this.methodJson(d, shape, select) : this.deviceJson(d, select, shape));
    return this.page(matching, query, shape, DEVICES, "directory/authenticationMethodDevices/hardwareOathDevices", render);
  }

  /**
   * GET /users: Graph lists users by default only with `id`/`userPrincipalName` `eq` or `in`
   * filters among the ones we model (concepts/aad-advanced-queries.md, user properties);
   * `in` takes at most 15 values (Graph known issues, "Some limitations apply to query
   * parameters"; the error text is the one microsoft-graph-docs-contrib issue #1238 quotes).
   * `$count=true` is an advanced query: with `ConsistencyLevel: eventual` the answer carries
   * `@odata.count`, without it Graph "silently ignores the `$count` query parameter"
   * (concepts/aad-advanced-queries.md, "Error handling for advanced queries").
   */
  private listUsers(query: URLSearchParams, shape: ResponseShape, eventual: boolean): object {
    const fields = this.userFields(query);
    const filter = query.get("$filter");
    const count = query.get("$count");
    if (count !== null && count !== "true" && count !== "false") throw new GraphError(400, "BadRequest", `Invalid value '${count}' for $count: it must be true or false.`);
    const matching = filter === null || filter.trim() === "" ? this.tenant.allUsers() : this.filterUsers(filter);
    const page = this.page(matching, query, shape, "/users", "users", (u) => this.userJson(u, fields));
    return count === "true" && eventual && this.options.advancedQueries !== false ? { "@odata.count": matching.length, ...page } : page;
  }

  private filterUsers(filter: string): User[] {
    const match = /^\s*(id|userPrincipalName)\s+(eq|in)\s+(.+?)\s*$/.exec(filter);
    const values = match?.[3] === undefined ? undefined : parseValues(match[2] === "in" ? match[3] : `(${match[3]})`);
    if (!match || !values) {
      const property = /^\s*\(?\s*(\w+)/.exec(filter)?.[1] ?? filter.trim();
      throw new GraphError(400, "Request_UnsupportedQuery", `Unsupported or invalid query filter clause specified for property '${property}' of resource 'User'.`);
    }
    if (values.length > MAX_IN_VALUES) {
      throw new GraphError(400, "Request_UnsupportedQuery", `Too many child clauses specified in search filter expression containing 'OR' operators: ${values.length}. Max allowed: ${MAX_IN_VALUES}.`);
    }
    const find = match[1] === "id" ? (v: string) => this.tenant.userById(v) : (v: string) => this.tenant.userByUpn(v);
    const found = new Map<string, User>();
    for (const value of values) {
      const user = find(value);
      if (user) found.set(user.id, user);
    }
    return [...found.values()];
  }

  /** The user properties `$select` asks for (all we model when absent); 400 for one we do not know. */
  private userFields(query: URLSearchParams): string[] {
    const fields = selection(query) ?? [...USER_FIELDS];
    const unknown = fields.find((f) => !(USER_FIELDS as readonly string[]).includes(f));
    if (unknown) throw new GraphError(400, "Request_BadRequest", `Could not find a property named '${unknown}' on type 'microsoft.graph.user'.`);
    return fields;
  }

  private userJson(user: User, fields: readonly string[]): Record<string, unknown> {
    return Object.fromEntries(["id", ...fields].map((f) => [f, user[f as (typeof USER_FIELDS)[number]]]));
  }

  /** One page of a collection: `$top` (default page size, capped), `@odata.nextLink` with our `$skiptoken`. */
  private page<T>(matching: readonly T[], query: URLSearchParams, shape: ResponseShape, path: string, context: string, render: (item: T) => unknown): object {
    const top = query.has("$top") ? Number(query.get("$top")) : (this.options.defaultPageSize ?? 100);
    const maxPage = this.options.maxPageSize ?? 999;
    if (!Number.isInteger(top) || top < 1) throw new GraphError(400, "BadRequest", "Invalid value for $top: it must be a positive integer.");
    const pageSize = Math.min(top, maxPage);
    const skipToken = query.get("$skiptoken");
    const offset = skipToken === null ? 0 : decodeSkipToken(skipToken);
    const page = matching.slice(offset, offset + pageSize);
    const body: Record<string, unknown> = {
      "@odata.context": `${this.graphUrl}/$metadata#${context}`,
      ...(shape.annotations ? { "@odata.count": matching.length } : {}),
      value: page.map(render),
    };
    if (offset + pageSize < matching.length) {
      const next = new URLSearchParams();
      for (const key of ["$filter", "$select", "$top", "$orderby"]) {
        const value = query.get(key);
        if (value !== null) next.set(key, value);
      }
      next.set("$skiptoken", Buffer.from(JSON.stringify({ offset: offset + pageSize })).toString("base64url"));
      body["@odata.nextLink"] = `${this.graphUrl}${path}?${next.toString()}`;
    }
    return body;
  }

  private bulkCreate(body: Json, claims: AccessClaims, shape: ResponseShape): object {
    const items = body["value"];
    if (!Array.isArray(items)) throw new GraphError(400, "BadRequest", "The body must be {\"@context\":\"#$delta\",\"value\":[...]}.");
    const max = this.options.maxBulkItems ?? 100;
    if (items.length > max) throw new GraphError(400, "BadRequest", `A request may create at most ${max} devices; this one has ${items.length}.`);
    const canAssign = PERMISSIONS.writeMethods.some((r) => claims.roles.includes(r));
    // The docs' answer: no @contentId, in request order. Otherwise @contentId names each item, in any order.
    const documented = shape.bulkCreate === "documented";
    const idOf = (contentId: string) => (documented ? {} : { "@contentId": contentId });
    const value = items.map((item: unknown, index: number) => {
      const contentId = isJson(item) && item["@contentId"] !== undefined ? String(item["@contentId"]) : String(index + 1);
      try {
        if (!isJson(item)) throw new GraphError(400, "invalidRequest", "Each item must be a device object.");
        const device = this.tenant.createDevice(item, canAssign);
        this.logWrite(claims, "bulkCreate", device);
        if (device.assignedToUserId !== null) this.logWrite(claims, "assign", device);
        return { ...idOf(contentId), ...this.methodJson(device, shape) };
      } catch (error: unknown) {
        if (error instanceof GraphError) return { ...idOf(contentId), error: { code: Variants.code(shape, error.code), message: error.message } };
        throw error;
      }
    });
    return { ...this.context(shape, "directory/authenticationMethodDevices/hardwareOathDevices"), value: shape.bulkCreate === "shuffled" ? this.variants.shuffle(value) : value };
  }

  private checkSelect(fields: string[]): void {
    const known = Object.keys(this.deviceJson(undefined));
    const unknown = fields.find((f) => !known.includes(f));
    if (unknown) throw new GraphError(400, "BadRequest", `Could not find a property named '${unknown}' on type '${DEVICE_TYPE}'.`);
  }

  private deviceJson(device: Device | undefined, select?: string[], shape?: ResponseShape): Record<string, unknown> {
    const full: Record<string, unknown> = {
      ...(shape?.annotations ? { "@odata.type": `#${DEVICE_TYPE}` } : {}),
      id: device?.id,
      displayName: device?.displayName ?? null,
      serialNumber: device?.serialNumber,
      manufacturer: device?.manufacturer,
      model: device?.model,
      secretKey: null,
      timeIntervalInSeconds: device?.timeIntervalInSeconds,
      hashFunction: device?.hashFunction,
      status: device?.status,
      lastUsedDateTime: device?.lastUsedDateTime ?? null,
      assignedTo: device?.assignedToUserId ? { id: device.assignedToUserId, displayName: this.tenant.userDisplayName(device.assignedToUserId) } : null,
    };
    if (!select) return full;
    return Object.fromEntries(Object.entries(full).filter(([key]) => key === "id" || key === "@odata.type" || select.includes(key)));
  }

  /** A device as a user's method, the wrapper the list and bulk-create examples use. */
  private methodJson(device: Device, shape?: ResponseShape, select?: string[]): Record<string, unknown> {
    return { "@odata.type": METHOD_TYPE, id: device.id, createdDateTime: device.assignedDateTime, device: this.deviceJson(device, select, shape) };
  }

  /** The method on the user's side carries its own lastUsedDateTime, which may be set while the device's is null. */
  private userMethodJson(device: Device, shape: ResponseShape): Record<string, unknown> {
    return { ...this.methodJson(device, shape), lastUsedDateTime: device.methodLastUsedDateTime ?? device.lastUsedDateTime };
  }

  /** A portal-uploaded token as the user's method: its device is in no inventory list (how-to-mfa-manage-oath-tokens.md). */
  private portalTokenJson(method: UserMethod): Record<string, unknown> {
    const device = { id: method.id, displayName: null, serialNumber: method.serialNumber, manufacturer: method.manufacturer, model: method.model, secretKey: null, timeIntervalInSeconds: 30, hashFunction: "hmacsha1", status: "activated", lastUsedDateTime: method.lastUsedDateTime, assignedTo: { id: method.userId, displayName: this.tenant.userDisplayName(method.userId) } };
    return { "@odata.type": METHOD_TYPE, id: method.id, createdDateTime: null, lastUsedDateTime: method.lastUsedDateTime, device };
  }

  /** `@odata.context` when the answer carries annotations. */
  private context(shape: ResponseShape, what: string): Record<string, string> {
    return shape.annotations ? { "@odata.context": `${this.graphUrl}/$metadata#${what}` } : {};
  }

  /** A throttled answer, its status and Retry-After in this answer's documented form. */
  private throttled(status: 429 | 503 | undefined, retryAfterSeconds: number, requestId: string, clientRequestId: string): GraphResponse {
    const shape = this.variants.next();
    const code = status ?? shape.throttleStatus;
    const response = graphError(code, code === 429 ? "TooManyRequests" : "serviceNotAvailable", "Too many requests. Retry after the time given in Retry-After.", requestId, clientRequestId);
    // An HTTP-date has whole seconds: round up so the wait is never shorter than the seconds form.
    const at = Math.ceil(((this.options.clock ?? Date.now)() + retryAfterSeconds * 1000) / 1000) * 1000;
    response.headers["retry-after"] = shape.retryAfter === "seconds" ? String(retryAfterSeconds) : new Date(at).toUTCString();
    return response;
  }

  // ---- control plane (not Graph) -------------------------------------------------------------

  private control(method: string, path: string, raw: string): GraphResponse {
    const json = (status: number, body?: unknown): GraphResponse => ({ status, headers: body === undefined ? {} : { "content-type": "application/json" }, body });
    if (path === "/_emulator/requests" && method === "GET") return json(200, { requests: this.requests, counters: this.counters() });
    if (path === "/_emulator/requests" && method === "DELETE") {
      this.requests.length = 0;
      return json(204);
    }
    if (path === "/_emulator/faults" && method === "PUT") {
      try {
        const config: unknown = JSON.parse(raw);
        if (!isJson(config)) return json(400, { error: "faults must be a JSON object" });
        this.setFaults(config);
        return json(204);
      } catch {
        return json(400, { error: "faults must be valid JSON" });
      }
    }
    if (path === "/_emulator/self-service" && method === "POST") {
      // What a user does in My Security Info: claim a pool token by its serial (for demos and tests).
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return json(400, { error: "the body must be JSON: {\"userPrincipalName\", \"serialNumber\"}" });
      }
      const upn = isJson(body) ? body["userPrincipalName"] : undefined;
      const serial = isJson(body) ? body["serialNumber"] : undefined;
      if (typeof upn !== "string" || typeof serial !== "string") return json(400, { error: "the body must be {\"userPrincipalName\", \"serialNumber\"}" });
      const device = this.tenant.deviceBySerial(serial);
      if (!device) return json(404, { error: `no token with serial ${serial}` });
      try {
        this.tenant.assign(upn, { device: { id: device.id } });
        const user = this.tenant.user(upn);
        this.audit.record("assign", { user: { id: user.id, userPrincipalName: user.userPrincipalName, displayName: user.displayName } }, this.targets(device, user.id));
      } catch (error: unknown) {
        if (error instanceof GraphError) return json(error.status, { error: { code: error.code, message: error.message } });
        throw error;
      }
      this.scheduleSave();
      return json(204);
    }
    if (path === "/_emulator/state" && method === "GET") {
      const snapshot = this.tenant.snapshot();
      return json(200, { users: snapshot.users, devices: snapshot.devices.map((d) => this.deviceJson(d)), methodPolicy: snapshot.methodPolicy, groups: snapshot.groups });
    }
    return json(404, { error: `unknown control endpoint ${method} ${path}` });
  }

  // ---- persistence ---------------------------------------------------------------------------

  private scheduleSave(): void {
    if (!this.options.statePath || this.saveTimer) return;
    this.saveTimer = setTimeout(() => this.flushState(), 200);
  }

  /** Writes the state file now (atomically) if one is configured. */
  flushState(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const path = this.options.statePath;
    if (!path) return;
    writeFileSync(`${path}.tmp`, JSON.stringify(this.tenant.snapshot(), null, 1), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function readSnapshot(path: string): TenantSnapshot {
  const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
  if (!isJson(parsed) || !Array.isArray(parsed["users"]) || !Array.isArray(parsed["devices"])) {
    throw new Error(`${path} is not an emulator state file (expected {"users":[...],"devices":[...]})`);
  }
  // The file is the emulator's own output; its shape was checked above.
  return parsed as unknown as TenantSnapshot;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("too large"));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function isEventual(consistencyLevel: string | undefined): boolean {
  return consistencyLevel?.trim().toLowerCase() === "eventual";
}

function send(res: ServerResponse, response: GraphResponse): void {
  const text = response.body === undefined ? "" : JSON.stringify(response.body);
  res.writeHead(response.status, response.body === undefined ? response.headers : { ...response.headers, "content-type": "application/json; charset=utf-8" });
  res.end(text);
}

function graphError(status: number, code: string, message: string, requestId: string, clientRequestId: string): GraphResponse {
  return {
    status,
    headers: { "content-type": "application/json", "request-id": requestId, "client-request-id": clientRequestId },
    body: { error: { code, message, innerError: { date: new Date().toISOString().slice(0, 19), "request-id": requestId, "client-request-id": clientRequestId } } },
  };
}

/** Graph's answer to a `$` option a route does not implement (OData's wording); other parameters are ignored, as Graph does. */
function refuseUnsupportedOptions(query: URLSearchParams, allowed: readonly string[]): void {
  for (const key of query.keys()) {
    if (!key.startsWith("$") || allowed.includes(key)) continue;
    const known = ODATA_OPTIONS[key];
    throw new GraphError(
      400,
      "BadRequest",
      known
        ? `Query option '${known}' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.`
        : `The query parameter '${key}' is not supported.`,
    );
  }
}

function oauthBody(error: string, description: string): object {
  return { error, error_description: description, error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID() };
}

function selection(query: URLSearchParams): string[] | undefined {
  const select = query.get("$select");
  return select === null ? undefined : select.split(",").map((s) => s.trim()).filter(Boolean);
}

function decodeSkipToken(token: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (isJson(parsed) && typeof parsed["offset"] === "number" && Number.isInteger(parsed["offset"]) && parsed["offset"] >= 0) return parsed["offset"];
  } catch {
    // fall through to the error below
  }
  throw new GraphError(400, "BadRequest", "The $skiptoken is invalid or expired; restart the listing from the first page.");
}

/**
 * The device properties hardwareoathtokenauthenticationmethoddevice.md marks "Supports $filter (eq)":
 * assignedTo (an identity, compared by `assignedTo/id`), hashFunction, manufacturer, model,
 * serialNumber, status (strings) and timeIntervalInSeconds (a number literal). How `serialNumber eq`
 * treats case is not documented: the shape's `serialFilter` picks one behaviour (variants.ts).
 */
const FILTERABLE: Record<string, { read: (d: Device) => string | number | null; number?: true }> = {
  status: { read: (d) => d.status },
  serialNumber: { read: (d) => d.serialNumber },
  hashFunction: { read: (d) => d.hashFunction },
  manufacturer: { read: (d) => d.manufacturer },
  model: { read: (d) => d.model },
  timeIntervalInSeconds: { read: (d) => d.timeIntervalInSeconds, number: true },
  "assignedTo/id": { read: (d) => d.assignedToUserId },
};

/** What `$select` may name on a user's hardwareOathMethods (hardwareoathauthenticationmethod.md). */
const METHOD_FIELDS: readonly string[] = ["id", "createdDateTime", "lastUsedDateTime", "device"];

/** `$filter` on a user's hardwareOathMethods: `id eq '…'` clauses; the page documents the option, not its properties. */
function methodFilter(filter: string | null): (method: Record<string, unknown>) => boolean {
  if (filter === null || filter.trim() === "") return () => true;
  const ids = filter.split(/\s+and\s+/i).map((clause) => {
    const match = /^\s*id\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(clause);
    if (!match) throw new GraphError(400, "BadRequest", `Invalid filter clause: '${clause.trim()}'. Supported: id eq '...'.`);
    return (match[1] ?? "").replace(/''/g, "'");
  });
  return (method) => ids.every((id) => method["id"] === id);
}

/** The user an `@odata.id` reference names: `https://graph.microsoft.com/beta/users/{id}` (the assign pages' body). */
function userOfReference(body: Json): string {
  const reference = body["@odata.id"];
  const id = typeof reference === "string" ? /\/users\/([^/?#]+)$/.exec(reference)?.[1] : undefined;
  if (id === undefined) throw new GraphError(400, "BadRequest", "The body must be {\"@odata.id\": \"https://graph.microsoft.com/beta/users/{id}\"}.");
  return decodeURIComponent(id);
}

/** `('a','b',…)`: OData string literals, quotes doubled inside; undefined when malformed. */
function parseValues(list: string): string[] | undefined {
  const inner = /^\(\s*(.*?)\s*\)$/.exec(list)?.[1];
  if (inner === undefined) return undefined;
  const values: string[] = [];
  const literal = /\s*'((?:[^']|'')*)'\s*(,|$)/y;
  while (literal.lastIndex < inner.length) {
    const start = literal.lastIndex;
    const match = literal.exec(inner);
    if (!match || match.index !== start) return undefined;
    values.push((match[1] ?? "").replace(/''/g, "'"));
    if (match[2] === "," && literal.lastIndex >= inner.length) return undefined;
  }
  return values.length > 0 ? values : undefined;
}

/** `prop eq 'value'` (or `eq 30` for a number) clauses joined by `and`: what the resource page documents. */
function parseFilter(filter: string | null, shape: ResponseShape): ((d: Device) => boolean)[] {
  if (filter === null || filter.trim() === "") return [];
  return filter.split(/\s+and\s+/i).map((clause) => {
    const match = /^\s*(\w+(?:\/\w+)?)\s+eq\s+(?:'((?:[^']|'')*)'|(\d+))\s*$/.exec(clause);
    const field = match?.[1] === undefined ? undefined : FILTERABLE[match[1]];
    if (!match || !field || (match[3] !== undefined) !== (field.number === true)) {
      throw new GraphError(400, "BadRequest", `Invalid filter clause: '${clause.trim()}'. Supported: eq on ${Object.keys(FILTERABLE).join(", ")}.`);
    }
    if (field.number) {
      const wanted = Number(match[3]);
      return (d: Device) => field.read(d) === wanted;
    }
    const value = (match[2] ?? "").replace(/''/g, "'");
    if (match[1] === "serialNumber" && shape.serialFilter === "ignoreCase") return (d: Device) => d.serialNumber.toUpperCase() === value.toUpperCase();
    return (d: Device) => field.read(d) === value;
  });
}

/** The resource units an answer says it was charged, for the request log. */
function charged(response: GraphResponse): { resourceUnits?: number } {
  const units = Number(response.headers["x-ms-resource-unit"]);
  return Number.isInteger(units) && units > 0 ? { resourceUnits: units } : {};
}
