import { hasChanges, renderPlanText } from "../plan/render.js";
import { planMigration, runMigration, type PortalMigration } from "../reconcile/migrate.js";
import { escapeTerminal } from "../safety/escape.js";
import { EXIT } from "./formats.js";
import { contextFromOptions, guard, loadValidDesired, processIo, renderReport, type ReconcileOptions, type TenantIo } from "./reconcile.js";

// `entra-tokens migrate`: portal-uploaded tokens of serials tokens.yaml declares into the inventory.
// Without --yes it only shows what it would do (exit 2 when there is something to migrate).

const t = (text: string) => escapeTerminal(text, 500);

function removalLines(migrations: readonly PortalMigration[]): string {
  return migrations
    .map((m) => `  - remove portal token ${t(m.serial)} of ${t(m.upn)}: DELETE /users/${t(m.userId)}/authentication/hardwareOathMethods/${t(m.methodId)}, then DELETE /directory/authenticationMethodDevices/hardwareOathDevices/${t(m.methodId)}\n`)
    .join("");
}

export async function migrateCommand(options: ReconcileOptions & { yes: boolean }, io: TenantIo = processIo): Promise<number> {
  return guard(async () => {
    const desired = await loadValidDesired(options.file, io, options.format);
    const planned = await planMigration({ ...contextFromOptions(options, io), secretsRequired: options.yes }, desired);
    const { migrations, plan } = planned.migration;
    if (migrations.length === 0) {
      io.out("No portal-uploaded token holds a serial tokens.yaml declares (among the users it names): nothing to migrate.\n");
      return EXIT.ok;
    }
    io.out(`Migrate ${migrations.length} portal-uploaded token(s) into the inventory (entra-docs how-to-mfa-manage-oath-tokens.md):\n${removalLines(migrations)}then create them as tokens.yaml says:\n${renderPlanText(plan)}`);
    io.out("Between the removal and the activation the user cannot sign in with the token; one held as `assigned` waits for the user to activate it.\n");
    if (plan.errors.length > 0) {
      io.note("Nothing was changed: fix the errors above first.");
      return EXIT.failure;
    }
    if (!options.yes) {
      io.note("Nothing was changed (a preview). Run `entra-tokens migrate --yes` to migrate.");
      return hasChanges(plan) || migrations.length > 0 ? EXIT.changes : EXIT.ok;
    }
    const result = await runMigration(planned);
    for (const r of result.removed) io.out(`${r.ok ? "removed" : "FAILED to remove"} portal token ${t(r.migration.serial)} of ${t(r.migration.upn)}${r.message ? `: ${t(r.message)}` : ""}\n`);
    if (!result.report) {
      io.note("A removal failed, so no token was created; run `entra-tokens apply` to create those that were removed, then `migrate` again for the rest.");
      return EXIT.failure;
    }
    io.out(renderReport(result.report, false));
    return result.report.failed + result.report.skipped > 0 ? EXIT.failure : EXIT.ok;
  }, io.note);
}
