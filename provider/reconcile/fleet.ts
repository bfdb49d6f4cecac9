import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Slots } from "../graph/client.js";

// Many tenants in one repository: `tenants/<name>/tokens.yaml` (with that tenant's seed files), each
// run on its own TenantContext, a bounded number at once, one tenant's failure never stopping or
// hiding the others'.

/** The folder of the many-tenants layout, relative to where the command runs. */
export const TENANTS_DIR = "tenants";
/** The same rule as tokens.yaml's `tenant.name`: it also names environments, variables and stacks. */
const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,38}$/;

export class TenantLayoutError extends Error {}

export interface TenantEntry {
  name: string;
  file: string;
}

function isDirectory(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
}

/** Every tenant of the layout, by name; folders without a tokens.yaml are not tenants. Links are not followed. */
export function findTenants(root: string = TENANTS_DIR): TenantEntry[] {
  if (!isDirectory(root)) throw new TenantLayoutError(`there is no ${root}/ folder here; Fix: run from the repository root, with one tenants/<name>/tokens.yaml per tenant (docs/many-tenants.md)`);
  return readdirSync(root)
    .filter((name) => TENANT_NAME.test(name) && isDirectory(join(root, name)) && lstatSync(join(root, name, "tokens.yaml"), { throwIfNoEntry: false })?.isFile() === true)
    .sort()
    .map((name) => ({ name, file: join(root, name, "tokens.yaml") }));
}

/** The tenants a command names: one (`--tenant`), or all. */
export function selectTenants(selection: { tenant?: string; all: boolean }, root: string = TENANTS_DIR): TenantEntry[] {
  const tenants = findTenants(root);
  if (selection.all) {
    if (tenants.length === 0) throw new TenantLayoutError(`${root}/ holds no tenant; Fix: add ${root}/<name>/tokens.yaml`);
    return tenants;
  }
  const name = selection.tenant ?? "";
  const found = tenants.find((t) => t.name === name);
  if (!found) {
    throw new TenantLayoutError(`there is no tenant "${TENANT_NAME.test(name) ? name : "(invalid name)"}" in ${root}/; Fix: use one of ${tenants.map((t) => t.name).join(", ") || "(none)"}, or add ${root}/<name>/tokens.yaml`);
  }
  return [found];
}

/** The tenant of the layout a tokens file belongs to (`tenants/contoso/tokens.yaml` → contoso), if any. */
export function layoutTenantOf(file: string): string | undefined {
  const name = /^(?:\.\/)?tenants\/([^/]+)\/tokens\.yaml$/.exec(file.replace(/\\/g, "/"))?.[1];
  return name !== undefined && TENANT_NAME.test(name) ? name : undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** `TENANT_<NAME>_`: the prefix of one tenant's variables (`contoso-eu` → `TENANT_CONTOSO_EU_`). */
export function tenantPrefix(name: string): string {
  return `TENANT_${name.toUpperCase().replace(/-/g, "_")}_`;
}

/**
 * One tenant's settings. When any `TENANT_<NAME>_…` variable is set, that tenant sees only those
 * (prefix removed): never half its own and half another tenant's. Otherwise it sees the plain
 * variables, as a CI job holding only its own environment's secrets does.
 */
export function tenantEnv(env: Env, name: string): Env {
  const prefix = tenantPrefix(name);
  const own = Object.entries(env).filter(([key]) => key.startsWith(prefix));
  if (own.length === 0) return env;
  // PATH, HOME and the like are no tenant's: keep every variable that is not a setting of entra-tokens or Azure.
  const shared = Object.entries(env).filter(([key]) => !key.startsWith("TENANT_") && !/^(AZURE_|ENTRA_TOKENS_|ACTIONS_ID_TOKEN_)/.test(key));
  return Object.fromEntries([...shared, ...own.map(([key, value]) => [key.slice(prefix.length), value] as const)]);
}

export interface TenantRun<T> {
  tenant: TenantEntry;
  result: T;
}

/** Runs every tenant, at most `limit` at once; results in the tenants' order. */
export async function eachTenant<T>(tenants: readonly TenantEntry[], limit: number, run: (tenant: TenantEntry) => Promise<T>): Promise<TenantRun<T>[]> {
  const slots = new Slots(limit);
  return Promise.all(tenants.map(async (tenant) => ({ tenant, result: await slots.run(() => run(tenant)) })));
}

/** The fleet's exit code by the rules of one: any error is 1; else any change or drift is 2; else 0. */
export function overallExit(codes: readonly number[]): number {
  if (codes.some((code) => code !== 0 && code !== 2)) return 1;
  return codes.includes(2) ? 2 : 0;
}
