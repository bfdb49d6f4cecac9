import { findUnsafeCharacter } from "../safety/characters.js";
import { escapeTerminal } from "../safety/escape.js";
import { EndpointConfigError } from "./errors.js";

// What a failed connection means, in words an admin can act on: the URL, the setting it came
// from and the fix. Used for Graph (client.ts) and for Entra's sign-in endpoint (credentials.ts).

/** A URL we connect to and the setting (variable, flag or default) that chose it. */
export interface Endpoint {
  url: string;
  setting: string;
}

export interface ConnectionProblem {
  /** Retrying cannot help (refused, unknown host, untrusted certificate): fail at once. */
  permanent: boolean;
  message: string;
}

const UNTRUSTED_CA = new Set(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "CERT_SIGNATURE_FAILURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT"]);
const TRANSIENT = new Set(["ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** The codes along an error's `cause` chain (fetch wraps the socket's error as its cause). */
function codesOf(error: unknown): { codes: string[]; messages: string[] } {
  const codes: string[] = [];
  const messages: string[] = [];
  for (let e: unknown = error, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    if ("code" in e && typeof e.code === "string") codes.push(e.code);
    if ("message" in e && typeof e.message === "string") messages.push(e.message);
    e = "cause" in e ? e.cause : undefined;
  }
  return { codes, messages };
}

/** Why `what` at `endpoint` could not be reached, or undefined when `error` is not a connection failure. */
export function connectionProblem(what: string, endpoint: Endpoint, error: unknown): ConnectionProblem | undefined {
  const { codes, messages } = codesOf(error);
  const at = `${what} at ${endpoint.url}`;
  const from = `(the URL comes from ${endpoint.setting})`;
  const has = (code: string) => codes.includes(code);
  if (has("ECONNREFUSED")) {
    return { permanent: true, message: `cannot reach ${at}: connection refused ${from}. Fix: check ${endpoint.setting}; nothing listens on that port (is the emulator running? it gets a new port each start: load its emulator.env again)` };
  }
  if (has("ENOTFOUND")) {
    return { permanent: true, message: `cannot reach ${at}: the host name does not resolve (DNS) ${from}. Fix: correct the host name in ${endpoint.setting}, or check this machine's DNS and proxy settings` };
  }
  const untrusted = codes.find((code) => UNTRUSTED_CA.has(code));
  if (untrusted) {
    return {
      permanent: true,
      message: `cannot reach ${at}: its TLS certificate is signed by a certificate authority this machine does not trust (${untrusted}) ${from}. Fix: set NODE_EXTRA_CA_CERTS to that CA's certificate (PEM file; for the emulator, the NODE_EXTRA_CA_CERTS line of its emulator.env), or correct ${endpoint.setting} if it points at the wrong server`,
    };
  }
  const certificate = codes.find((code) => code.startsWith("ERR_TLS_") || code.startsWith("CERT_"));
  if (certificate) {
    return { permanent: true, message: `cannot reach ${at}: its TLS certificate is not valid for it (${certificate}) ${from}. Fix: check the host name in ${endpoint.setting}` };
  }
  if (messages.some((m) => /bad port|invalid url/i.test(m))) {
    return { permanent: true, message: `cannot reach ${at}: the URL is not usable (${messages.at(-1) ?? "invalid"}) ${from}. Fix: correct ${endpoint.setting}` };
  }
  const transient = codes.find((code) => TRANSIENT.has(code));
  if (transient || messages.some((m) => /socket hang up|other side closed|fetch failed/i.test(m))) {
    return { permanent: false, message: `lost the connection to ${at} (${transient ?? messages.at(-1) ?? "dropped"}) ${from}. Fix: check the network and run again (applying is safe to repeat)` };
  }
  return undefined;
}

// The port of an authority (`[user@]host:port`), as written: what new URL refused when it is bad.
const WRITTEN_PORT = /^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*):([^/?#]*)/i;

/**
 * `endpoint.url` parsed, when we can connect to it: a URL, with a port from 1 to 65535, over https.
 * Otherwise an EndpointConfigError naming the setting, the value (escaped, cut) and the fix.
 */
export function usableUrl(what: string, endpoint: Endpoint, example: string): URL {
  const fail = (why: string) =>
    new EndpointConfigError(`${endpoint.setting}=${escapeTerminal(endpoint.url)} ${why}; nothing was sent. Fix: set ${endpoint.setting} to ${what}'s base URL, e.g. ${example}`, `connect to ${what}`);
  const port = WRITTEN_PORT.exec(endpoint.url)?.[1];
  if (port !== undefined && port !== "" && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw fail(`has the port ${escapeTerminal(port, 20)}, which is not a port number (1 to 65535)`);
  }
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    throw fail("is not a URL");
  }
  // new URL quietly drops or percent-encodes these: in a setting they are a mistake (or a trick).
  const unsafe = /\s/.test(endpoint.url) ? "a space" : findUnsafeCharacter(endpoint.url)?.description;
  if (unsafe !== undefined) throw fail(`holds ${unsafe}, which no URL has`);
  if (url.protocol !== "https:") throw fail(`uses ${escapeTerminal(url.protocol, 20)}, but ${what} is reached over https only`);
  return url;
}
