import { lstatSync } from "node:fs";
import { findTenants, selectTenants, TENANTS_DIR, TenantLayoutError } from "./fleet.js";

// The GitHub Actions matrix of the many-tenants layout (docs/many-tenants.md, "CI"): one job per
// tenant, each in that tenant's own environments and Pulumi stack. Pure but for listing tenants/.

export interface MatrixEntry {
  /** The tenant's folder name; `default` for the one-tenant layout (tokens.yaml at the root). */
  tenant: string;
  file: string;
  /** The GitHub environment holding the tenant's read-only settings (plan, drift). */
  readEnvironment: string;
  /** The protected environment holding its write settings and seed passphrase (deploy). */
  writeEnvironment: string;
  /** Its Pulumi stack (stacks/Pulumi.<stack>.yaml). */
  stack: string;
}

/** The one-tenant layout keeps the names it always had. */
const ROOT_ENTRY: MatrixEntry = { tenant: "default", file: "tokens.yaml", readEnvironment: "entra-read", writeEnvironment: "entra-write", stack: "production" };

function hasTenantsFolder(): boolean {
  return lstatSync(TENANTS_DIR, { throwIfNoEntry: false })?.isDirectory() === true;
}

/**
 * The tenants a change touches: a path under tenants/<name>/ or stacks/Pulumi.<name>.yaml is that
 * tenant's; any other path (our code, the schema, the lock file, the workflows) may change every
 * tenant's plan, so it selects them all. Without `changed`, every tenant; with `only`, that one.
 */
export function tenantMatrix(changed?: readonly string[], only?: string): MatrixEntry[] {
  if (!hasTenantsFolder()) {
    if (lstatSync("tokens.yaml", { throwIfNoEntry: false })?.isFile() !== true) {
      throw new TenantLayoutError("neither tenants/<name>/tokens.yaml nor tokens.yaml is here; Fix: run from the repository root");
    }
    if (only !== undefined && only !== ROOT_ENTRY.tenant) throw new TenantLayoutError(`there is no tenants/ folder, so no tenant "${/^[a-z0-9-]{1,39}$/.test(only) ? only : "(invalid name)"}"; Fix: leave the tenant empty (the one tenant of tokens.yaml is "${ROOT_ENTRY.tenant}")`);
    return changed === undefined || changed.length > 0 ? [ROOT_ENTRY] : [];
  }
  const tenants = only === undefined ? findTenants() : selectTenants({ tenant: only, all: false });
  const entries = tenants.map((t) => ({ tenant: t.name, file: t.file, readEnvironment: `entra-read-${t.name}`, writeEnvironment: `entra-write-${t.name}`, stack: t.name }));
  if (changed === undefined) return entries;
  const names = new Set(tenants.map((t) => t.name));
  const touched = new Set<string>();
  for (const path of changed) {
    const owner = /^tenants\/([^/]+)\//.exec(path)?.[1] ?? /^stacks\/Pulumi\.([^/]+)\.ya?ml$/.exec(path)?.[1];
    if (owner === undefined) return entries;
    // A tenant removed by the change has no folder left to plan: nothing to run for it.
    if (names.has(owner)) touched.add(owner);
  }
  return entries.filter((e) => touched.has(e.tenant));
}
