import type { TokenCredential } from "@azure/identity";
import { GraphClient, type ResponseInfo, type RetryInfo } from "../graph/client.js";
import { TokenRepository } from "../graph/repository.js";

// How a front reaches one tenant's Graph (the CLI, the Pulumi provider's session): kept apart from
// the reconcile core so that the provider process loads only what it uses.

/** How to reach one tenant's Graph: everything a Graph session needs, nothing read from the process. */
export interface TenantConnection {
  credential: TokenCredential;
  /** Graph's base URL; the client's default (Microsoft Graph beta) when absent. */
  graphUrl?: string;
  /** Where graphUrl came from (a flag, a variable), for error messages. */
  graphUrlSetting?: string;
  /** `$batch` requests in flight at once. */
  concurrency: number;
  onRetry?: (info: RetryInfo) => void;
  /** --verbose: each answer's request ids and timing. */
  onResponse?: (info: ResponseInfo) => void;
  signal?: AbortSignal;
}

/** One Graph client and repository for one tenant. */
export function connectTenant(connection: TenantConnection): TokenRepository {
  const client = new GraphClient({
    credential: connection.credential,
    ...(connection.graphUrl ? { graphUrl: connection.graphUrl } : {}),
    ...(connection.graphUrlSetting ? { graphUrlSetting: connection.graphUrlSetting } : {}),
    ...(connection.signal ? { signal: connection.signal } : {}),
    ...(connection.onRetry ? { onRetry: connection.onRetry } : {}),
    ...(connection.onResponse ? { onResponse: connection.onResponse } : {}),
  });
  return new TokenRepository(client, { concurrency: connection.concurrency });
}

