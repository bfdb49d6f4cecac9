// One typed error per failure kind talking to Entra, each with a message an admin can act on.

/** Base of every failure from the Graph edge; `operation` names what we were doing. */
export abstract class GraphFailure extends Error {
  abstract readonly kind: string;
  constructor(
    message: string,
    readonly operation: string,
    readonly status?: number,
    readonly code?: string,
    readonly requestId?: string,
  ) {
    super(message);
  }
}

/** No usable credentials in the environment. */
export class CredentialConfigError extends GraphFailure {
  readonly kind = "credential-config";
  // Thrown by a credential (a refused AZURE_* file), it passes through the Graph SDK: the name finds it again.
  override readonly name = "CredentialConfigError";
}

/** A URL setting (ENTRA_TOKENS_GRAPH_URL, --graph-url) we cannot connect to: not a URL, a bad port, not https. */
export class EndpointConfigError extends GraphFailure {
  readonly kind = "endpoint-config";
}

/** Entra refused to issue a token (wrong secret, unknown app, wrong tenant…). */
export class AuthenticationError extends GraphFailure {
  readonly kind = "authentication";
}

/** Before any call: the app's access token carries none of the permissions some calls of this run need. */
export class MissingPermissionsError extends GraphFailure {
  readonly kind = "missing-permissions";
  constructor(
    operation: string,
    readonly missing: readonly { purpose: string; least: string }[],
  ) {
    super(
      `the app's access token lacks what ${operation} needs, so nothing was read or changed: ` +
        missing.map((m) => `${m.least} (to ${m.purpose})`).join("; ") +
        `. Fix: Entra admin center → App registrations → your app → API permissions → Add a permission → Microsoft Graph → ` +
        `Application permissions → ${missing.map((m) => m.least).join(", ")}, then "Grant admin consent"; the next sign-in gets a token that carries them.`,
      operation,
    );
  }
}

/** 403: the app registration lacks an application permission. */
export class PermissionError extends GraphFailure {
  readonly kind = "permission";
  constructor(
    operation: string,
    readonly permission: string,
    requestId?: string,
  ) {
    super(
      `Graph refused to ${operation} (403 Authorization_RequestDenied): the app registration lacks the ` +
        `application permission ${permission}. Fix: Entra admin center → App registrations → your app → API permissions → ` +
        `Add a permission → Microsoft Graph → Application permissions → ${permission}, then "Grant admin consent" ` +
        `(or: az ad app permission add --id <appId> --api 00000003-0000-0000-c000-000000000000 --api-permissions <id>=Role ` +
        `&& az ad app permission admin-consent --id <appId>).`,
      operation,
      403,
      "Authorization_RequestDenied",
      requestId,
    );
  }
}

/** Graph kept throttling (429/503) beyond our retry budget. */
export class ThrottledError extends GraphFailure {
  readonly kind = "throttled";
}

/** The service failed (5xx) or the connection dropped, beyond our retry budget. */
export class GraphUnavailableError extends GraphFailure {
  readonly kind = "unavailable";
}

/** 404 for a device, user or method. */
export class NotFoundError extends GraphFailure {
  readonly kind = "not-found";
}

/** Graph rejected the request itself (400/409): the code says why (tooManyDevices, tokenAssigned…). */
export class GraphRejectedError extends GraphFailure {
  readonly kind = "rejected";
}

/**
 * Graph reports a token with a step or hash function entra-tokens cannot compute codes for
 * (anything but 30/60 seconds and hmacsha1/hmacsha256): refused rather than read as something else.
 */
export class UnsupportedDeviceError extends GraphFailure {
  readonly kind = "unsupported-device";
  /** What is odd about the device, e.g. `status "unknownFutureValue"`. */
  readonly why: string;
  constructor(message: string, operation: string, detail: { why: string }) {
    super(message, operation);
    this.why = detail.why;
  }
}

/** Graph answered something we cannot read: not the documented shape. */
export class UnexpectedResponseError extends GraphFailure {
  readonly kind = "unexpected-response";
}

/** Graph could not be reached at all (refused, unknown host, untrusted certificate, connection lost). */
export class GraphConnectionError extends GraphFailure {
  readonly kind = "connection";
  // The Graph SDK keeps only an error's name and message when it wraps it: the name finds it again.
  override readonly name = "GraphConnectionError";
}

/** Not sent: the run was interrupted (Ctrl-C) before this request went out. */
export class InterruptedError extends GraphFailure {
  readonly kind = "interrupted";
  override readonly name = "InterruptedError";
}
