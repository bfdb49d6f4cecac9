import type { RetryInfo } from "../graph/client.js";
import { credentialFromEnv } from "../graph/credentials.js";
import type { TenantConnection } from "../reconcile/connection.js";
import type { StackSettings } from "./stack-settings.js";

// Both Pulumi fronts (the program's one check before it registers resources, and the provider's
// session) reach the tenant their settings name, as the CLI does: AZURE_* credentials, Graph from
// ENTRA_TOKENS_GRAPH_URL, each of them possibly from the stack's config (stack-settings.ts).

export function connectionFromSettings(settings: StackSettings, onRetry?: (info: RetryInfo) => void): TenantConnection {
  const { credential } = credentialFromEnv(settings.env);
  const graphUrl = settings.env["ENTRA_TOKENS_GRAPH_URL"];
  return {
    credential,
    // A connection error names the setting that chose the URL, as the CLI's does.
    ...(graphUrl ? { graphUrl, graphUrlSetting: settings.graphUrlSetting } : {}),
    concurrency: 4,
    ...(onRetry ? { onRetry } : {}),
  };
}
