import { escapeTerminal } from "../safety/escape.js";

// The Pulumi fronts' settings: each may come from the stack's config (`pulumi config set
// [--secret] entra-tokens:<name> …`), else from the environment variable the CLI reads. The names
// follow the variables (clientSecret for AZURE_CLIENT_SECRET), as Azure's own Pulumi providers name
// theirs. The program reads them through the SDK's config (PULUMI_CONFIG), the provider from its
// Configure request; neither keeps a value anywhere but in memory.

type Env = Readonly<Record<string, string | undefined>>;

/** Where a setting's value came from, for error messages that name what to change. */
export interface StackSettings {
  /** The environment the credentials and Graph are chosen from: each config value over its variable. */
  env: Env;
  /** The config key that set the Graph URL, or the variable. */
  graphUrlSetting: string;
  /** `entra-tokens:seedPassphrase`: the passphrase of every PSKC seed store tokens.yaml names. */
  seedPassphrase?: string;
}

export const NAMESPACE = "entra-tokens";

/** Config name → the variable it stands in for. */
export const VARIABLE_SETTINGS = {
  tenantId: "AZURE_TENANT_ID",
  clientId: "AZURE_CLIENT_ID",
  clientSecret: "AZURE_CLIENT_SECRET",
  clientCertificatePath: "AZURE_CLIENT_CERTIFICATE_PATH",
  clientCertificatePassword: "AZURE_CLIENT_CERTIFICATE_PASSWORD",
  authorityHost: "AZURE_AUTHORITY_HOST",
  auth: "ENTRA_TOKENS_AUTH",
  graphUrl: "ENTRA_TOKENS_GRAPH_URL",
} as const;

export const SEED_PASSPHRASE = "seedPassphrase";

/** Settings whose value is a secret: set only with `pulumi config set --secret`. */
export const SECRET_SETTINGS: readonly string[] = ["clientSecret", "clientCertificatePassword", SEED_PASSPHRASE];

/** A stack config value that cannot be used; the message never holds the value of a secret setting. */
export class StackSettingError extends Error {}

const key = (name: string) => `${NAMESPACE}:${name}`;

/** The settings, from `get` (a config key with its namespace → its value) over `env`. */
export function stackSettings(get: (fullKey: string) => unknown, env: Env): StackSettings {
  const value = (name: string): string | undefined => {
    const found = get(key(name));
    if (found === undefined || found === null || found === "") return undefined;
    if (typeof found !== "string") throw new StackSettingError(`${key(name)} is not a string; nothing was done. Fix: pulumi config set ${SECRET_SETTINGS.includes(name) ? "--secret " : ""}${key(name)} <value>`);
    return found;
  };
  const fromConfig: Record<string, string> = {};
  for (const [name, variable] of Object.entries(VARIABLE_SETTINGS)) {
    const found = value(name);
    if (found !== undefined) fromConfig[variable] = found;
  }
  const seedPassphrase = value(SEED_PASSPHRASE);
  return {
    env: { ...env, ...fromConfig },
    graphUrlSetting: fromConfig[VARIABLE_SETTINGS.graphUrl] === undefined ? VARIABLE_SETTINGS.graphUrl : key("graphUrl"),
    ...(seedPassphrase === undefined ? {} : { seedPassphrase }),
  };
}

/**
 * Refuses a secret setting stored in clear (`pulumi config set` without `--secret`): it is then in
 * Pulumi.<stack>.yaml, committed, readable by every pull request. `secretKeys` are the keys the
 * engine marks secure (PULUMI_CONFIG_SECRET_KEYS, sdk/nodejs/runtime/config.ts).
 */
export function requireSecretSettings(get: (fullKey: string) => unknown, secretKeys: ReadonlySet<string>, stack: string): void {
  for (const name of SECRET_SETTINGS) {
    const found = get(key(name));
    if (found === undefined || found === "" || secretKeys.has(key(name))) continue;
    throw new StackSettingError(
      `${key(name)} is stored in clear in the config of stack ${escapeTerminal(stack, 60)} (stacks/Pulumi.${escapeTerminal(stack, 60)}.yaml); nothing was changed and the value is not shown. ` +
        `Fix: pulumi config set --secret ${key(name)} <value> --stack ${escapeTerminal(stack, 60)}, and replace that secret (it may already be in git history)`,
    );
  }
}

/** PULUMI_CONFIG_SECRET_KEYS as the language host sets it: a JSON list of keys (sdk/nodejs/cmd/pulumi-language-nodejs/main.go constructConfigSecretKeys). */
export function parseSecretKeys(text: string | undefined): Set<string> {
  if (text === undefined || text === "") return new Set();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((k): k is string => typeof k === "string")) {
    throw new StackSettingError("PULUMI_CONFIG_SECRET_KEYS is not a JSON list of config keys; nothing was changed. Fix: run the program through `pulumi`, which sets it");
  }
  return new Set(parsed);
}

/** The seed files' environment: `seedPassphrase` as the passphrase variable each PSKC store names (passphraseEnv). */
export function seedEnvironment(settings: StackSettings, passphraseVariables: readonly (string | undefined)[]): Env {
  const passphrase = settings.seedPassphrase;
  if (passphrase === undefined) return settings.env;
  const given: Record<string, string> = {};
  for (const variable of passphraseVariables) if (variable !== undefined) given[variable] = passphrase;
  return { ...settings.env, ...given };
}
