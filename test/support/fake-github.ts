import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// Local stand-ins, over real HTTP, for the few GitHub REST endpoints the reporter uses and for the
// Actions OIDC token service that workload identity federation signs in with.

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function close(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

/** The `user` object GitHub puts on every comment and issue: who wrote it. */
export interface GitHubUser {
  login: string;
  id: number;
  type: "User" | "Bot";
}

/** The author of everything a workflow's GITHUB_TOKEN writes (docs.github.com, "Automatic token authentication"). */
export const ACTIONS_BOT: GitHubUser = { login: "github-actions[bot]", id: 41898282, type: "Bot" };
export const ATTACKER: GitHubUser = { login: "mallory", id: 666, type: "User" };

interface Comment {
  id: number;
  issue: number;
  body: string;
  user: GitHubUser;
}

interface Issue {
  number: number;
  user: GitHubUser;
  title: string;
  body: string;
  labels: string[];
  state: "open" | "closed";
  state_reason?: string;
}

export interface InjectedFailure {
  status: number;
  count: number;
  /** A primary rate limit: 403 with x-ratelimit-remaining 0 (GitHub's way). */
  rateLimit?: boolean;
}

export class FakeGitHub {
  readonly comments: Comment[] = [];
  readonly issues: Issue[] = [];
  readonly reactions: { id: number; issue: number; content: string; user: GitHubUser }[] = [];
  readonly requests: string[] = [];
  private failure: InjectedFailure | undefined;
  private nextId = 1000;
  private server: Server | undefined;
  url = "";

  /**
   * `identity` is who the token is. An installation token (GITHUB_TOKEN, a GitHub App's) gets 403
   * "Resource not accessible by integration" from GET /user, as on GitHub; a user's token gets itself.
   */
  constructor(
    readonly token = "ghs_fake_token_for_tests",
    readonly identity: GitHubUser = ACTIONS_BOT,
    readonly tokenKind: "installation" | "user" = "installation",
  ) {}

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listen((req, res) => this.handle(req, res)));
    return this;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  fail(failure: InjectedFailure): void {
    this.failure = failure;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body: Record<string, unknown> = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const url = new URL(req.url ?? "/", this.url);
    const method = req.method ?? "GET";
    this.requests.push(`${method} ${url.pathname}`);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(payload === undefined ? "" : JSON.stringify(payload));
    };
    if (req.headers.authorization !== `token ${this.token}` && req.headers.authorization !== `bearer ${this.token}`) {
      return send(401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" });
    }
    if (this.failure && this.failure.count > 0) {
      this.failure.count--;
      const headers: Record<string, string> = this.failure.rateLimit ? { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000)) } : {};
      return send(this.failure.status, { message: this.failure.rateLimit ? "API rate limit exceeded" : "Resource not accessible by integration" }, headers);
    }
    const html = (path: string) => `https://github.example/${path}`;
    if (url.pathname === "/user" && method === "GET") {
      return this.tokenKind === "user" ? send(200, this.identity) : send(403, { message: "Resource not accessible by integration", documentation_url: "https://docs.github.com/rest/users/users#get-the-authenticated-user" });
    }
    let match: RegExpExecArray | null;
    if ((match = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname))) {
      const issue = Number(match[3]);
      if (method === "GET") return send(200, this.comments.filter((c) => c.issue === issue).map((c) => ({ ...c, html_url: html(`comment/${c.id}`) })));
      if (method === "POST") {
        const comment = { id: this.nextId++, issue, body: String(body["body"]), user: this.identity };
        this.comments.push(comment);
        return send(201, { ...comment, html_url: html(`comment/${comment.id}`) });
      }
    }
    // REST "Create reaction for an issue" / "Delete an issue reaction": the reaction names its user;
    // the same user and content again is 200 with the one already there, a new one 201.
    if ((match = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/reactions$/.exec(url.pathname)) && method === "POST") {
      const issue = Number(match[3]);
      const content = String(body["content"]);
      const existing = this.reactions.find((r) => r.issue === issue && r.content === content && r.user.login === this.identity.login);
      if (existing) return send(200, existing);
      const reaction = { id: this.nextId++, issue, content, user: this.identity };
      this.reactions.push(reaction);
      return send(201, reaction);
    }
    if ((match = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/reactions\/(\d+)$/.exec(url.pathname)) && method === "DELETE") {
      const at = this.reactions.findIndex((r) => r.issue === Number(match![3]) && r.id === Number(match![4]));
      if (at < 0) return send(404, { message: "Not Found" });
      this.reactions.splice(at, 1);
      return send(204);
    }
    if ((match = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname)) && method === "PATCH") {
      const comment = this.comments.find((c) => c.id === Number(match![3]));
      if (!comment) return send(404, { message: "Not Found" });
      comment.body = String(body["body"]);
      return send(200, { ...comment, html_url: html(`comment/${comment.id}`) });
    }
    if ((match = /^\/repos\/([^/]+)\/([^/]+)\/issues$/.exec(url.pathname))) {
      if (method === "GET") {
        const label = url.searchParams.get("labels");
        const state = url.searchParams.get("state") ?? "open";
        return send(200, this.issues.filter((i) => (!label || i.labels.includes(label)) && (state === "all" || i.state === state)).map((i) => ({ ...i, labels: i.labels.map((name) => ({ name })), html_url: html(`issues/${i.number}`) })));
      }
      if (method === "POST") {
        const issue: Issue = { number: this.issues.length + 1, user: this.identity, title: String(body["title"]), body: String(body["body"]), labels: Array.isArray(body["labels"]) ? body["labels"].map(String) : [], state: "open" };
        this.issues.push(issue);
        return send(201, { ...issue, html_url: html(`issues/${issue.number}`) });
      }
    }
    if ((match = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)$/.exec(url.pathname)) && method === "PATCH") {
      const issue = this.issues.find((i) => i.number === Number(match![3]));
      if (!issue) return send(404, { message: "Not Found" });
      if (typeof body["body"] === "string") issue.body = body["body"];
      if (Array.isArray(body["labels"])) issue.labels = body["labels"].map(String);
      if (body["state"] === "open" || body["state"] === "closed") issue.state = body["state"];
      if (typeof body["state_reason"] === "string") issue.state_reason = body["state_reason"];
      return send(200, { ...issue, html_url: html(`issues/${issue.number}`) });
    }
    send(404, { message: "Not Found" });
  }
}

/**
 * The Actions OIDC service: `ACTIONS_ID_TOKEN_REQUEST_URL` hands a job a JWT whose subject names the
 * repository and environment, signed with keys published through OpenID discovery (as
 * token.actions.githubusercontent.com does).
 */
export class FakeActionsOidc {
  readonly requestToken = `actions-request-${randomUUID()}`;
  private readonly keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  private readonly keyId = randomUUID();
  private server: Server | undefined;
  url = "";

  constructor(readonly subject: string) {}

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listen(async (req, res) => this.handle(req, res)));
    return this;
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  /** The environment GitHub gives a job with `permissions: id-token: write`. */
  env(): Record<string, string> {
    return { ACTIONS_ID_TOKEN_REQUEST_URL: `${this.url}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: this.requestToken };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.url);
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    if (url.pathname === "/.well-known/openid-configuration") return send(200, { issuer: this.url, jwks_uri: `${this.url}/jwks` });
    if (url.pathname === "/jwks") return send(200, { keys: [{ ...this.keys.publicKey.export({ format: "jwk" }), kid: this.keyId, use: "sig", alg: "RS256" }] });
    if (url.pathname === "/token") {
      if (req.headers.authorization !== `Bearer ${this.requestToken}`) return send(401, { message: "bad request token" });
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: this.url, sub: this.subject, aud: url.searchParams.get("audience") ?? this.url, iat: now, nbf: now, exp: now + 300, repository: "contoso/tokens" };
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const unsigned = `${encode({ typ: "JWT", alg: "RS256", kid: this.keyId })}.${encode(claims)}`;
      return send(200, { value: `${unsigned}.${sign("sha256", Buffer.from(unsigned), this.keys.privateKey).toString("base64url")}` });
    }
    send(404, { message: "Not Found" });
  }
}
