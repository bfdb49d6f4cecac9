// The shared vocabulary of every module. Types only: no logic, no imports.

/** Desired states a token can be declared in (see ARCHITECTURE.md "The states"). */
export const DESIRED_STATES = ["available", "assigned", "activated"] as const;
export type TokenState = (typeof DESIRED_STATES)[number];

/** Statuses Graph reports for a device; `failedActivation` is never desired. */
export type LiveStatus = TokenState | "failedActivation";

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
  displayName?: string;
  location: SourceLocation;
}

export interface Policy {
  unmanaged: UnmanagedPolicy;
  /** The most deletions one run may make without an explicit confirmation. */
  maxDeletes: number;
}

export interface Desired {
  file: string;
  version: 1;
  policy: Policy;
  tokens: DesiredToken[];
}

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
