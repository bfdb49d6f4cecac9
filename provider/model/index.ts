// The shared vocabulary of every module. Types only: no logic, no imports.

/**
 * Desired states a token can be declared in (see ARCHITECTURE.md "The states"). `retired`: lost or
 * broken; unassigned and deleted from Entra, the entry kept in tokens.yaml as history.
 */
export const DESIRED_STATES = ["available", "assigned", "activated", "retired"] as const;
export type TokenState = (typeof DESIRED_STATES)[number];

/** Statuses Graph reports for a device; `failedActivation` is never desired, `retired` never live. */
export type LiveStatus = "available" | "assigned" | "activated" | "failedActivation";

export const HASH_FUNCTIONS = ["hmacsha1", "hmacsha256"] as const;
export type HashFunction = (typeof HASH_FUNCTIONS)[number];

export const TIME_INTERVALS = [30, 60] as const;
export type TimeInterval = (typeof TIME_INTERVALS)[number];

export const UNMANAGED_POLICIES = ["report", "ignore", "delete"] as const;
export type UnmanagedPolicy = (typeof UNMANAGED_POLICIES)[number];

/** Graph refuses a sixth OATH method per user; we refuse it before Graph does. */
export const MAX_TOKENS_PER_USER = 5;

/** Where something was declared, for diagnostics and links back to tokens.yaml. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface TokenAttributes {
  manufacturer: string;
  model: string;
  timeIntervalInSeconds: TimeInterval;
  hashFunction: HashFunction;
}

/** One token as tokens.yaml declares it, with defaults applied. */
export interface DesiredToken extends TokenAttributes {
  serial: string;
  state: TokenState;
  /** Present exactly when state is assigned or activated. */
  upn?: string;
  /** A pool token this user gave back (a leaver): unassigned from them even when claims are kept. */
  returnedBy?: string;
  displayName?: string;
  location: SourceLocation;
}

/** A pool token a user claimed in My Security Info: keep it (and report it), or take it back. */
export const SELF_SERVICE_POLICIES = ["keep", "revoke"] as const;
export type SelfServicePolicy = (typeof SELF_SERVICE_POLICIES)[number];

export interface Policy {
  unmanaged: UnmanagedPolicy;
  /** The most deletions one run may make without an explicit confirmation. */
  maxDeletes: number;
  /** What to do with `available` tokens someone holds; absent means `keep`. */
  selfService?: SelfServicePolicy;
  /** Activated tokens not used within this many days are reported as stale; absent: off. */
  staleAfterDays?: number;
}

export const SEED_FORMATS = ["entra-csv", "entra-json", "pskc", "custom-csv"] as const;
export type SeedFormat = (typeof SEED_FORMATS)[number];

/** Columns of a custom CSV: header names, or 1-based numbers for files without a header. */
export interface CsvLayout {
  serial: string | number;
  secret: string | number;
  timeInterval?: string | number;
  manufacturer?: string | number;
  model?: string | number;
  /** A column that means a counter-based (HOTP) token when filled: refused, Entra takes TOTP only. */
  counter?: string | number;
  header?: boolean;
  encoding?: "base32" | "hex" | "base64";
  delimiter?: string;
}

/**
 * A seed file tokens.yaml names, paths resolved against tokens.yaml's folder. Secrets needed to
 * open it are never here: only the names of the environment variables that hold them.
 */
export interface SeedFileRef {
  path: string;
  format?: SeedFormat;
  passphraseEnv?: string;
  preSharedKeyEnv?: string;
  zipPasswordEnv?: string;
  pgpKeyFile?: string;
  pgpPassphraseEnv?: string;
  pgpPasswordEnv?: string;
  csv?: CsvLayout;
  /** The owner accepts that this file holds seeds in clear (e.g. made-up test seeds). */
  allowPlaintext?: boolean;
  /** PSKC: accept encrypted seeds without a ValueMAC, knowing that tampering would go unnoticed. */
  acceptTamperableSeeds?: boolean;
}

/** The tenant a tokens.yaml declares it is for (`tenant:`). */
export interface TenantDeclaration {
  /** The directory id (GUID), lower case. */
  id: string;
  name?: string;
}

export interface Desired {
  file: string;
  version: 1;
  /** Absent in a one-tenant repository that does not name its tenant. */
  tenant?: TenantDeclaration;
  policy: Policy;
  seedFiles: SeedFileRef[];
  tokens: DesiredToken[];
}

/**
 * What a seed file states about a token besides its secret. The vendor's file describes the
 * physical token, so these are its truth: tokens.yaml must agree on interval and hash.
 */
export interface SeedFacts {
  /** The seed file, as tokens.yaml or the command line names it. */
  file: string;
  timeIntervalInSeconds?: TimeInterval;
  hashFunction?: HashFunction;
  manufacturer?: string;
  model?: string;
}

/** The hardware OATH method in the authentication methods policy: who may use hardware tokens. */
export interface MethodConfiguration {
  state: "enabled" | "disabled";
  /** Group ids, or "all_users". */
  includeTargets: string[];
  excludeTargets: string[];
}

/** The id Graph gives the "all users" target. */
export const ALL_USERS_TARGET = "all_users";

/** A user as Graph describes it, as far as the reconciler cares. */
export interface LiveUser {
  id: string;
  userPrincipalName: string;
  displayName?: string;
  userType: "Member" | "Guest";
  accountEnabled: boolean;
}

/** One device as Graph reports it. The secret is write-only in Graph and never appears here. */
export interface LiveToken extends TokenAttributes {
  id: string;
  serial: string;
  status: LiveStatus;
  displayName?: string;
  assignedTo?: { id: string; displayName?: string };
  lastUsedDateTime?: string;
}

/** What Graph knows about the people tokens.yaml names; `null` where a lookup found nobody. */
export interface Directory {
  /** By lower-case UPN or id. */
  users: ReadonlyMap<string, LiveUser | null>;
}

/** A user's methods that count towards Entra's shared limit of five besides inventory tokens. */
export interface UserMethods {
  /** Authenticator apps and software OATH tokens, by Graph's @odata.type (without the namespace). */
  apps: string[];
  /** Set when the apps could not be read (the permission it names is missing): `apps` is then empty, not counted. */
  appsUncounted?: string;
  /** Hardware tokens uploaded the old way (CSV in the admin portal): listed on the user, in no inventory. */
  portalTokens: { id: string; serial: string }[];
}

/** A device Graph reports with a value entra-tokens cannot model (a new status, interval or hash): left alone. */
export interface OddDevice {
  id: string;
  serial: string;
  /** What is odd, e.g. `status "unknownFutureValue"`. */
  why: string;
}

export interface LiveState {
  devices: readonly LiveToken[];
  /** Devices reported and left alone; every other token is planned as usual. */
  oddDevices?: readonly OddDevice[];
  directory: Directory;
  /** The methods of the users a plan may give a token to, by lower-case user id; read only for those users. */
  userMethods?: ReadonlyMap<string, UserMethods>;
}

/** The order steps run in: freeing seats and serials first lets the later steps succeed. */
export const STEP_KINDS = ["unassign", "delete", "update", "create", "assign", "activate"] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export interface UserRef {
  id: string;
  upn: string;
}

export type Step =
  | { kind: "unassign"; serial: string; deviceId: string; from: UserRef; reason: "reassign" | "return-to-pool" | "before-delete" | "retire" }
  | { kind: "delete"; serial: string; deviceId: string; reason: "unmanaged" | "retired" }
  | { kind: "update"; serial: string; deviceId: string; changes: AttributeChange[] }
  | { kind: "create"; serial: string; attributes: TokenAttributes; displayName?: string; assignTo?: UserRef }
  | { kind: "assign"; serial: string; deviceId?: string; to: UserRef }
  | { kind: "activate"; serial: string; deviceId?: string; user: UserRef; displayName?: string; totp: Pick<TokenAttributes, "timeIntervalInSeconds" | "hashFunction"> };

export interface AttributeChange {
  field: "displayName" | "manufacturer" | "model" | "timeIntervalInSeconds" | "hashFunction";
  from: string | number | null;
  to: string | number | null;
}

export type ProblemCode =
  | "unknown-user"
  | "guest-user"
  | "disabled-user"
  | "missing-seed"
  | "seed-unchecked"
  | "too-many-tokens"
  | "portal-token"
  | "odd-device"
  | "apps-not-counted"
  | "attribute-locked"
  | "self-service"
  | "self-service-claim"
  | "seed-mismatch"
  | "deletion-guard"
  | "stale";

/** Something the plan cannot do (error) or wants a human to know (warning), tied to a token. */
export interface PlanProblem {
  code: ProblemCode;
  serial: string;
  upn?: string;
  message: string;
  fix: string;
  location?: SourceLocation;
}

export interface UnmanagedToken {
  serial: string;
  deviceId: string;
  status: LiveStatus;
  assignee?: string;
}

export interface Plan {
  steps: Step[];
  errors: PlanProblem[];
  warnings: PlanProblem[];
  unmanaged: UnmanagedToken[];
  unmanagedPolicy: UnmanagedPolicy;
  /** Set when the plan deletes more than policy.maxDeletes and deletes were not allowed. */
  deletionGuard?: { deletes: number; limit: number };
  /** Set when the plan covers only some tokens (--serial/--upn); `tokens`: how many it chose. */
  target?: { serials: string[]; upns: string[]; tokens: number };
}

/** `--serial` / `--upn` on plan and apply: the tokens a partial plan is about. */
export interface PlanTarget {
  serials: readonly string[];
  upns: readonly string[];
}

export const DRIFT_CATEGORIES = [
  "missing",
  "unexpectedAssignee",
  "notActivated",
  "failedActivation",
  "orphaned",
  "attributeMismatch",
  "unmanaged",
  "notRetired",
  "selfServiceClaim",
  "neverUsed",
  "stale",
] as const;
export type DriftCategory = (typeof DRIFT_CATEGORIES)[number];

export interface DriftItem {
  category: DriftCategory;
  serial: string;
  user?: string;
  desired: string;
  live: string;
  fix: string;
  location?: SourceLocation;
  /** Who changed the token out of band, from the directory audit log (when it could be read and names it). */
  changedBy?: ChangedBy;
}

/** One directory audit log entry about a token or its holder, as far as drift and show care. */
export interface AuditRecord {
  at: string;
  activity: string;
  category: string;
  result: string;
  /** Who did it: an app (its display name and app id) or a user (their UPN). */
  actor: { kind: "app" | "user"; name: string; id: string };
  targets: { id: string; name?: string; type?: string; upn?: string }[];
}

/** What the audit log says of a drift finding: the latest change to the token found there. */
export interface ChangedBy {
  actor: AuditRecord["actor"];
  at: string;
  activity: string;
}

/** The audit log as read for this run: its records, or why they are unknown (e.g. AuditLog.Read.All missing). */
export type AuditView = { known: true; since: string; records: AuditRecord[] } | { known: false; reason: string };

/** What `entra-tokens list` sorts by. */
export const FLEET_SORT_KEYS = ["serial", "upn", "state", "model", "lastUsed"] as const;
export type FleetSortKey = (typeof FLEET_SORT_KEYS)[number];
