import type { RetryInfo } from "../graph/client.js";
import { credentialFromEnv } from "../graph/credentials.js";
import type { TenantConnection } from "../reconcile/connection.js";

// Both Pulumi fronts (the program's one check before it registers resources, and the provider's
// session) reach the tenant the environment names, as the CLI does: AZURE_* credentials, Graph from
// ENTRA_TOKENS_GRAPH_URL. Only the fronts read process.env.

export function connectionFromProcessEnv(onRetry?: (info: RetryInfo) => void): TenantConnection {
  const { credential } = credentialFromEnv(process.env);
  const graphUrl = process.env["ENTRA_TOKENS_GRAPH_URL"];
  return {
    credential,
    // A connection error names the setting that chose the URL, as the CLI's does.
    ...(graphUrl ? { graphUrl, graphUrlSetting: "ENTRA_TOKENS_GRAPH_URL" } : {}),
    concurrency: 4,
    ...(onRetry ? { onRetry } : {}),
  };
}
