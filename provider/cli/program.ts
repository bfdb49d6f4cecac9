import { Command, InvalidArgumentError, Option } from "commander";
import { FLEET_SORT_KEYS, SEED_FORMATS, type FleetSortKey } from "../model/index.js";
import { DEFAULT_PASSPHRASE_ENV, EXIT, EXPORT_FORMATS, FLEET_FORMATS, type FleetFormat, LIST_FORMATS, OUTPUT_FORMATS, SECRET_ENCODINGS, VALIDATE_FORMATS } from "./formats.js";
import type { ReconcileOptions, TenantSelection } from "./reconcile.js";

import type { SeedInputFlags } from "./seeds.js";
import { setLoudness } from "./loudness.js";

export { EXIT } from "./formats.js";

// The command line: every command, option and help text, and nothing else. Each command's code is
// loaded only when that command runs (`lazy` below), so `--version`, `--help` and a usage error
// cost a few modules, and `validate` never loads the Graph or Pulumi code.
//
// Adding a command: declare it here with its options, and give `.action` a `lazy(() => import("./x.js"),
// (x, ...args) => x.xCommand(...))`: the handler returns the exit code (see EXIT), the module is
// imported on the first call only, and type-only imports from it (`import type`) cost nothing at start.

const EXIT_CODES_HELP = `\nExit codes (every command): ${EXIT.ok} success or no changes, ${EXIT.failure} any error (usage included), ${EXIT.changes} changes (plan) or drift (drift).`;

/** Runs a command's handler from a module imported on first use, and sets the exit code it returns. */
export function lazy<M, A extends unknown[]>(load: () => Promise<M>, handler: (module: M, ...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    process.exitCode = await handler(await load(), ...args);
  };
}

interface CommonFlags {
  file: string;
  seeds?: string[];
  format: ReconcileOptions["format"];
  json?: boolean;
  graphUrl?: string;
  concurrency: number;
  allowDeletes?: boolean;
  tenant?: string;
  allTenants?: boolean;
  serial?: string[];
  upn?: string[];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError("must be a whole number from 1 to 64");
  return n;
}

/** A CSV column: its header name, or its 1-based number. */
function column(value: string): string | number {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1) throw new InvalidArgumentError("column numbers start at 1");
    return n;
  }
  if (value.trim() === "") throw new InvalidArgumentError("give a column name or number");
  return value;
}

function delimiter(value: string): string {
  const named: Record<string, string> = { tab: "\t", "\\t": "\t", semicolon: ";", comma: ",", pipe: "|" };
  const char = named[value.toLowerCase()] ?? value;
  if ([...char].length !== 1) throw new InvalidArgumentError("give one character, e.g. ';' or tab");
  return char;
}

/** `-f/--file`: every command that reads tokens.yaml spells it the same way. */
const fileOption = () => new Option("-f, --file <path>", "the desired-state file").default("tokens.yaml");
/** `--quiet` / `--verbose` on the commands that talk to Graph (read by the preAction hook in buildProgram). */
function withLoudnessOptions(command: Command): Command {
  return command
    .addOption(new Option("-q, --quiet", "print only results and errors: no progress, status, retry notices or preflight warnings").conflicts("verbose"))
    .addOption(new Option("-v, --verbose", "also print each Graph answer's request-id, client-request-id and time on stderr (never a secret or token)"));
}

/** `--json`, the old spelling of `--format json`, still accepted. */
const jsonAlias = () => new Option("--json", "same as --format json").hideHelp();

/** The options plan, apply and drift share. */
function withReconcileOptions(command: Command): Command {
  return withLoudnessOptions(withTenantOptions(command, "run for every tenants/<name>/tokens.yaml, a few at once, then a summary"))
    .addOption(fileOption())
    .option("--seeds <files...>", "seed files to use instead of tokens.yaml `seeds`")
    .addOption(new Option("--format <format>", "output format").choices(OUTPUT_FORMATS).default("text"))
    .addOption(jsonAlias())
    .option("--graph-url <url>", "Graph base URL (env ENTRA_TOKENS_GRAPH_URL; default https://graph.microsoft.com/beta)")
    .option("--concurrency <n>", "Graph requests in flight at once", positiveInt, 4)
    .addHelpText(
      "after",
      "\nCredentials come from the environment: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or\n" +
        "AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE, GitHub Actions OIDC, ENTRA_TOKENS_AUTH=azure-cli|managed-identity.\n" +
        "AZURE_AUTHORITY_HOST points at another login host (e.g. the emulator). Seed files are opened only when a\n" +
        "step needs a seed (create, activate)." +
        EXIT_CODES_HELP,
    );
}

/** `--serial`/`--upn` on plan and apply: some tokens only, as `terraform -target`. */
function withTargetOptions(command: Command): Command {
  return command
    .addOption(new Option("--serial <serials...>", "plan (and apply) only these tokens; the plan says it is partial").conflicts("allTenants"))
    .addOption(new Option("--upn <upns...>", "plan (and apply) only the tokens these users hold or are given in tokens.yaml").conflicts("allTenants"));
}

/** Whether --tenant or --all-tenants chose the tenants; otherwise -f names the one file. */
function tenantSelection(flags: { tenant?: string; allTenants?: boolean }): TenantSelection | undefined {
  if (flags.allTenants) return { allTenants: true };
  return flags.tenant === undefined ? undefined : { tenant: flags.tenant, allTenants: false };
}

interface FleetFlags {
  file: string;
  graphUrl?: string;
  concurrency: number;
  since?: string;
  tenant?: string;
  allTenants?: boolean;
}

/** `--tenant` / `--all-tenants`: plan, apply, drift, list, show and report say it alike. */
function withTenantOptions(command: Command, allTenants: string): Command {
  return command
    .addOption(new Option("--tenant <name>", "run for tenants/<name>/tokens.yaml, with that tenant's TENANT_<NAME>_* variables (docs/many-tenants.md)").conflicts(["file", "allTenants"]))
    .addOption(new Option("--all-tenants", allTenants).conflicts("file"));
}

/** What list, show and report share: they read tokens.yaml, the tenant and the audit log, as drift does. */
function withFleetOptions(command: Command, allTenants: string): Command {
  return withLoudnessOptions(withTenantOptions(command, allTenants))
    .addOption(fileOption())
    .option("--since <when>", "read the directory audit log from this date or this many days back, e.g. 7d (default 30d)", sinceOption)
    .option("--graph-url <url>", "Graph base URL (env ENTRA_TOKENS_GRAPH_URL; default https://graph.microsoft.com/beta)")
    .option("--concurrency <n>", "Graph requests in flight at once", positiveInt, 4)
    .addHelpText("after", `\nReads with Policy.Read.All, User.Read.All and (for who changed what) AuditLog.Read.All; changes nothing.${EXIT_CODES_HELP}`);
}

function fleetOptions(flags: FleetFlags) {
  return { file: flags.file, concurrency: flags.concurrency, ...(flags.graphUrl ? { graphUrl: flags.graphUrl } : {}), ...(flags.since ? { since: flags.since } : {}) };
}

/** `--since`: an ISO date/time, or a number of days back (`7d`). */
function sinceOption(value: string): string {
  const days = /^(\d{1,4})d$/.exec(value);
  if (days) return new Date(Date.now() - Number(days[1]) * 86_400_000).toISOString();
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError("give a date (2026-11-30 or 2026-11-30T08:00:00Z) or a number of days back (7d)");
  }
  return new Date(value).toISOString();
}

/** A link that goes into Markdown as is: https, and nothing that could end the link early. */
function httpsUrl(value: string): string {
  if (value === "") return value;
  if (!/^https:\/\/[^\s()<>\[\]`]+$/.test(value)) throw new InvalidArgumentError("give an https:// URL (no spaces, brackets or parentheses)");
  return value;
}

function staleDays(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 3650) throw new InvalidArgumentError("must be a whole number of days from 0 to 3650");
  return n;
}

function reconcileOptions(flags: CommonFlags): ReconcileOptions {
  return {
    file: flags.file,
    ...(flags.seeds ? { seeds: flags.seeds } : {}),
    format: flags.json ? "json" : flags.format,
    ...(flags.graphUrl ? { graphUrl: flags.graphUrl } : {}),
    concurrency: flags.concurrency,
    allowDeletes: flags.allowDeletes === true,
    ...(flags.serial || flags.upn ? { target: { serials: flags.serial ?? [], upns: flags.upn ?? [] } } : {}),
  };
}

/** How `seeds import`, `seeds list` and `add` open vendor files: the same flags for all three. */
function withSeedInputOptions(command: Command): Command {
  return command
    .addOption(new Option("--input-format <format>", "input format (default: detected; custom-csv when a --csv-* column is given)").choices(SEED_FORMATS))
    .option("--input-passphrase-env <var>", "variable holding the passphrase of a PBKDF2-protected PSKC input")
    .option("--psk-env <var>", "variable holding the pre-shared key (hex) of a PSKC input")
    .option("--zip-password-env <var>", "variable holding the zip password")
    .option("--pgp-key <file>", "armored OpenPGP private key for an encrypted input")
    .option("--pgp-passphrase-env <var>", "variable holding that key's passphrase")
    .option("--pgp-password-env <var>", "variable holding the password of a symmetrically encrypted OpenPGP input")
    .option("--accept-tamperable-seeds", "accept encrypted PSKC seeds without a MAC (RISK: a tampered seed goes unnoticed)")
    .option("--csv-serial <column>", "custom CSV: the serial column (header name or number from 1)", column)
    .option("--csv-secret <column>", "custom CSV: the secret column", column)
    .option("--csv-time-interval <column>", "custom CSV: the time step column (30 or 60)", column)
    .option("--csv-manufacturer <column>", "custom CSV: the manufacturer column", column)
    .option("--csv-model <column>", "custom CSV: the model column", column)
    .option("--csv-counter <column>", "custom CSV: a column that marks counter-based (HOTP) tokens, which are refused", column)
    .addOption(new Option("--encoding <encoding>", "custom CSV: how the secrets are written").choices(SECRET_ENCODINGS))
    .option("--no-header", "custom CSV: the first row is data (name columns by number)")
    .option("--delimiter <char>", "custom CSV: the field separator, e.g. ';' (Excel in many locales) or tab", delimiter);
}

export function buildProgram(): Command {
  const program = new Command()
    .name("entra-tokens")
    .description("GitOps for hardware OATH tokens in Microsoft Entra ID")
    .version(readVersion())
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP)
    .hook("preAction", (_program, action) => {
      const flags = action.opts();
      setLoudness(flags["quiet"] === true ? "quiet" : flags["verbose"] === true ? "verbose" : "normal");
    });

  program
    .command("validate")
    .description("check tokens.yaml against the schema and Entra's rules; changes nothing")
    // The file as an argument is the old spelling of -f: still accepted, left out of the help.
    .allowExcessArguments()
    .addOption(fileOption())
    .addOption(new Option("--format <format>", "output format").choices(VALIDATE_FORMATS).default("text"))
    .addOption(jsonAlias())
    .addHelpText("after", "\nWith GITHUB_ACTIONS=true, errors are also printed as GitHub annotations on the offending lines.\n--format sarif writes a SARIF 2.1.0 log for GitHub code scanning (paths relative to the working directory)." + EXIT_CODES_HELP)
    .action(
      lazy(
        () => import("./validate.js"),
        (m, flags: { file: string; format: (typeof VALIDATE_FORMATS)[number]; json?: boolean }, command: Command) => {
          const [fileArgument, ...more] = command.args;
          if (more.length > 0 || (fileArgument !== undefined && command.getOptionValueSource("file") === "cli")) {
            command.error(`error: give one file, with -f/--file (got ${[...command.args, ...(command.getOptionValueSource("file") === "cli" ? [flags.file] : [])].join(", ")})`);
          }
          return m.validateCommand(fileArgument ?? flags.file, { format: flags.json ? "json" : flags.format });
        },
      ),
    );

  withTargetOptions(withReconcileOptions(program.command("plan")))
    .description("show what apply would change in Entra; changes nothing")
    .option("--allow-deletes", "lift policy.maxDeletes for this plan")
    .option("--github-comment", "post the plan as the pull request's sticky comment (GITHUB_TOKEN, GITHUB_REPOSITORY, the PR event)")
    .action(
      lazy(
        () => import("./reconcile.js"),
        (m, flags: CommonFlags & { githubComment?: boolean }) => m.reconcileCommand("plan", { ...reconcileOptions(flags), githubComment: flags.githubComment === true }, tenantSelection(flags)),
      ),
    );

  withTargetOptions(withReconcileOptions(program.command("apply")))
    .description("converge Entra to tokens.yaml: shows the plan, asks, then applies it")
    .option("-y, --yes", "apply without asking (required in CI)")
    .option("--allow-deletes", "allow more deletions than policy.maxDeletes")
    .addHelpText("after", `Ctrl-C stops after the requests in flight, prints what was done and exits ${EXIT.interrupted}; run apply again to finish.`)
    .action(
      lazy(
        () => import("./reconcile.js"),
        (m, flags: CommonFlags & { yes?: boolean }) => m.reconcileCommand("apply", { ...reconcileOptions(flags), yes: flags.yes === true }, tenantSelection(flags)),
      ),
    );

  withLoudnessOptions(program.command("migrate"))
    .addOption(fileOption())
    .option("--seeds <files...>", "seed files to use instead of tokens.yaml `seeds`")
    .option("--graph-url <url>", "Graph base URL (env ENTRA_TOKENS_GRAPH_URL; default https://graph.microsoft.com/beta)")
    .option("--concurrency <n>", "Graph requests in flight at once", positiveInt, 4)
    .description("move tokens uploaded through the admin portal (CSV) into the inventory: shows the steps; --yes runs them")
    .option("-y, --yes", "remove the portal tokens and create them in the inventory (otherwise only shows the steps)")
    .addHelpText(
      "after",
      "\nFinds the portal tokens of serials tokens.yaml declares, held by the users tokens.yaml names. For each: DELETE the user's\n" +
        "method, DELETE the device with that id (entra-docs how-to-mfa-manage-oath-tokens.md), then create, assign and activate it as\n" +
        "tokens.yaml says (activation needs the seed). Nothing else of tokens.yaml is applied. Needs Policy.ReadWrite.AuthenticationMethod\n" +
        "and UserAuthMethod-HardwareOATH.ReadWrite.All; credentials as for apply. Exit 2: a preview with tokens to migrate." +
        EXIT_CODES_HELP,
    )
    .action(
      lazy(
        () => import("./migrate.js"),
        (m, flags: Omit<CommonFlags, "format"> & { yes?: boolean }) => m.migrateCommand({ ...reconcileOptions({ ...flags, format: "text" }), yes: flags.yes === true }),
      ),
    );

  withReconcileOptions(program.command("drift"))
    .description("report where Entra differs from tokens.yaml; changes nothing")
    .option("--github-issue", "open, update or close the repository's drift issue (GITHUB_TOKEN, GITHUB_REPOSITORY)")
    .option("--since <when>", "read the directory audit log from this date or this many days back (7d) to say who changed what (default 30d)", sinceOption)
    .option("--report-link <url>", "link the Markdown report to this page holding the HTML fleet report (e.g. the workflow run)", httpsUrl)
    .addHelpText("after", "In GitHub Actions the report also goes to the job summary. Naming who changed a token needs AuditLog.Read.All; without it drift says the actors are unknown.")
    .action(
      lazy(
        () => import("./reconcile.js"),
        (m, flags: CommonFlags & { githubIssue?: boolean; since?: string; reportLink?: string }) => {
          const options = { ...reconcileOptions(flags), githubIssue: flags.githubIssue === true, ...(flags.since ? { since: flags.since } : {}), ...(flags.reportLink ? { reportLink: flags.reportLink } : {}) };
          return m.reconcileCommand("drift", options, tenantSelection(flags));
        },
      ),
    );

  program
    .command("tenants")
    .description("the tenants of this repository (tenants/<name>/, or tokens.yaml alone) with their GitHub environments and Pulumi stack: the CI matrix")
    .option("--changed-since <commit>", "only the tenants changed since this commit (git diff to HEAD); a change outside tenants/ touches all")
    .option("--tenant <name>", "only this tenant")
    .option("--github-output <name>", "also set the JSON matrix as this step output (GITHUB_OUTPUT)")
    .addOption(new Option("--format <format>", "output format; json is one line: {\"include\": [...]} for a GitHub Actions matrix").choices(["text", "json"]).default("text"))
    .addHelpText(
      "after",
      "\nEach tenant: its name (`default` for tokens.yaml alone), its tokens file, its GitHub environments (entra-read-<name>, entra-write-<name>) and its Pulumi stack (<name>, or production).\n" +
        "Reads only the repository (and git for --changed-since); no credentials, no Graph. See docs/many-tenants.md." +
        EXIT_CODES_HELP,
    )
    .action(lazy(() => import("./tenants.js"), (m, flags: { changedSince?: string; tenant?: string; githubOutput?: string; format: "text" | "json" }) => m.tenantsListCommand(flags)));

  withFleetOptions(program.command("list"), "list every tenant of tenants/ in one table, a tenant column first")
    .description("list tokens: tokens.yaml and the tenant merged (holder, state, model, last use, drift); never a secret")
    .option("--upn <upn>", "only the tokens this user holds or is given in tokens.yaml")
    .option("--serial <serial>", "only this serial")
    .option("--state <state>", "only tokens in this state (the tenant's; tokens.yaml's for tokens not in it): available, assigned, activated, failedActivation")
    .option("--model <model>", "only this model")
    .option("--stale <days>", "only activated tokens not used for more than this many days", staleDays)
    .option("--unmanaged", "only tokens in Entra that tokens.yaml does not declare")
    .addOption(new Option("--sort <key>", "sort by").choices(FLEET_SORT_KEYS).default("serial"))
    .addOption(new Option("--format <format>", "output format").choices(FLEET_FORMATS).default("text"))
    .action(
      lazy(
        () => import("./fleet.js"),
        (m, flags: FleetFlags & { upn?: string; serial?: string; state?: string; model?: string; stale?: number; unmanaged?: boolean; sort: FleetSortKey; format: FleetFormat }) =>
          m.listCommand({
            ...fleetOptions(flags),
            sort: flags.sort,
            format: flags.format,
            filter: {
              ...(flags.upn ? { upn: flags.upn } : {}),
              ...(flags.serial ? { serial: flags.serial } : {}),
              ...(flags.state ? { state: flags.state } : {}),
              ...(flags.model ? { model: flags.model } : {}),
              ...(flags.stale !== undefined ? { staleForDays: flags.stale } : {}),
              ...(flags.unmanaged ? { unmanaged: true } : {}),
            },
          }, tenantSelection(flags)),
      ),
    );

  withFleetOptions(program.command("show"), "look in every tenant of tenants/; a block for each that knows it")
    .description("one token (by serial) or one user (by UPN): everything known, drift and the audit log included")
    .argument("<serial-or-upn>", "a serial, or a user principal name")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json"]).default("text"))
    .action(lazy(() => import("./fleet.js"), (m, target: string, flags: FleetFlags & { format: "text" | "json" }) => m.showCommand(target, { ...fleetOptions(flags), format: flags.format }, tenantSelection(flags))));

  withFleetOptions(program.command("report"), "one report per tenant of tenants/: --out names a folder that gets <tenant>.html each")
    .description("write the fleet report: one self-contained HTML file (tiles, charts, drift with who and when, a searchable table) that opens offline")
    .requiredOption("-o, --out <file>", "the HTML file to write, e.g. report.html")
    .option("--pool-low-water <n>", "mark a model's pool low below this many free tokens", staleDays, 2)
    .option("--force", "replace the output file if it exists")
    .action(
      lazy(
        () => import("./fleet.js"),
        (m, flags: FleetFlags & { out: string; poolLowWater: number; force?: boolean }) => m.reportCommand({ ...fleetOptions(flags), out: flags.out, poolLowWater: flags.poolLowWater, force: flags.force === true }, tenantSelection(flags)),
      ),
    );

  const seeds = program.command("seeds").description("import vendor seed files into an encrypted store, list a store, or export seeds for the Entra portal");
  withSeedInputOptions(
    seeds
      .command("import")
      .description("read vendor seed files (Entra CSV/JSON, PSKC, custom CSV; zip/OpenPGP wrapped) and write one encrypted seed file for the repository")
      .argument("<files...>", "vendor seed files")
      .requiredOption("-o, --out <file>", "the encrypted seed file to write (e.g. seeds/2026-11.pskc); its folder is created")
      .option("--out-passphrase-env <var>", "variable holding the passphrase that protects the output", DEFAULT_PASSPHRASE_ENV)
      .addOption(new Option("--passphrase-env <var>", "same as --out-passphrase-env").hideHelp())
      .option("--recipient <public-key.asc>", "encrypt to this OpenPGP public key instead of a passphrase")
      .addOption(new Option("--format <format>", "same as --input-format").choices(SEED_FORMATS).hideHelp())
      .option("--force", "replace the output file if it exists"),
  )
    .addHelpText("after", "\nSecrets are read from the variables named, never from arguments, and never printed." + EXIT_CODES_HELP)
    .action(
      lazy(
        () => import("./seeds.js"),
        (m, files: string[], flags: SeedInputFlags & { out: string; outPassphraseEnv: string; passphraseEnv?: string; recipient?: string; format?: SeedInputFlags["inputFormat"]; force?: boolean }) => {
          const { out, outPassphraseEnv, passphraseEnv, recipient, format, force, ...input } = flags;
          const output = { out, passphraseEnv: passphraseEnv ?? outPassphraseEnv, ...(recipient ? { recipient } : {}), force: force === true };
          return m.importCommand(files, { ...input, ...(input.inputFormat ?? format ? { inputFormat: input.inputFormat ?? format } : {}) }, output);
        },
      ),
    );
  withSeedInputOptions(
    seeds
      .command("list")
      .description("list the serials and attributes (interval, hash, maker, model) in seed files; never a secret")
      .argument("[files...]", "seed files (default: the `seeds` of tokens.yaml)")
      .addOption(fileOption())
      .addOption(new Option("--format <format>", "output format").choices(LIST_FORMATS).default("text"))
      .addOption(jsonAlias()),
  )
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      lazy(
        () => import("./seeds.js"),
        (m, files: string[], flags: SeedInputFlags & { file: string; format: "text" | "json"; json?: boolean }) => {
          const { file, format, json, ...input } = flags;
          return m.listCommand(files, input, { file, format: json ? "json" : format });
        },
      ),
    );
  seeds
    .command("export")
    .description("write the seeds of tokens.yaml as Entra CSV or JSON (with upn from tokens.yaml), for the portal upload")
    .addOption(fileOption())
    .addOption(new Option("--out-format <format>", "the file format to write").choices(EXPORT_FORMATS).default("entra-csv"))
    .addOption(new Option("--format <format>", "same as --out-format").choices(EXPORT_FORMATS).hideHelp())
    .requiredOption("-o, --out <file>", "the file to write (it holds secrets: mode 600; delete it after the upload); - writes to stdout")
    .option("--force", "replace the output file if it exists")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      lazy(
        () => import("./seeds.js"),
        (m, flags: { file: string; outFormat: (typeof EXPORT_FORMATS)[number]; format?: (typeof EXPORT_FORMATS)[number]; out: string; force?: boolean }) =>
          m.exportCommand({ file: flags.file, format: flags.format ?? flags.outFormat, out: flags.out, force: flags.force === true }),
      ),
    );

  program
    .command("assign")
    .description("give each user listed in a file a free token from the pool, by editing tokens.yaml (comments kept)")
    .requiredOption("--users <file>", "one `upn` or `upn,display name` per line")
    .addOption(fileOption())
    .addOption(new Option("--state <state>", "the state to give the tokens").choices(["assigned", "activated"]).default("assigned"))
    .option("--dry-run", "show the change as a diff without writing the file")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      lazy(
        () => import("./lifecycle.js"),
        (m, flags: { users: string; file: string; state: "assigned" | "activated"; dryRun?: boolean }) => m.assignCommand({ ...flags, dryRun: flags.dryRun === true }),
      ),
    );

  withLoudnessOptions(program.command("import"))
    .description("write the tenant's tokens into tokens.yaml (a new file, or added to an existing one with comments kept); plan then has nothing to do")
    .addOption(fileOption())
    .option("--self-service", "also record pool tokens users claimed in My Security Info as theirs")
    .option("--dry-run", "show the change as a diff without writing the file")
    .option("--graph-url <url>", "Graph base URL (env ENTRA_TOKENS_GRAPH_URL; default https://graph.microsoft.com/beta)")
    .option("--concurrency <n>", "Graph requests in flight at once", positiveInt, 4)
    .addHelpText("after", `\nEntries already in tokens.yaml are kept as written: the file stays the source of truth. Reads the tenant with Policy.Read.All and User.Read.All, and with UserAuthMethod-HardwareOATH.Read.All the methods of\nthe tokens' holders: tokens uploaded through the admin portal are reported, not written (see \`migrate\`).${EXIT_CODES_HELP}`)
    .action(
      lazy(
        () => import("./lifecycle.js"),
        (m, flags: { file: string; selfService?: boolean; dryRun?: boolean; graphUrl?: string; concurrency: number }) =>
          m.importCommand({
            file: flags.file,
            selfService: flags.selfService === true,
            dryRun: flags.dryRun === true,
            concurrency: flags.concurrency,
            ...(flags.graphUrl ? { graphUrl: flags.graphUrl } : {}),
          }),
      ),
    );

  withSeedInputOptions(
    program
      .command("add")
      .description("add a delivery to tokens.yaml: every serial of a seed file (or encrypted store), with the attributes it states, to the pool or to users")
      .argument("<seed-file>", "the vendor's seed file or an encrypted store from `seeds import`")
      .addOption(fileOption())
      .option("--users <file>", "give the new tokens to these users, in order (`upn` or `upn,display name` per line); the rest go to the pool")
      .addOption(new Option("--state <state>", "the state for tokens given to users").choices(["assigned", "activated"]).default("assigned"))
      .addOption(new Option("--format <format>", "same as --input-format").choices(SEED_FORMATS).hideHelp())
      .addOption(new Option("--passphrase-env <var>", "same as --input-passphrase-env").hideHelp())
      .option("--dry-run", "show the change as a diff without writing the file"),
  )
    .addHelpText("after", `\nThe seed file is also added to \`seeds:\` (with the variable names, never the secrets). Its interval and hash are the tokens' truth.${EXIT_CODES_HELP}`)
    .action(
      lazy(
        () => import("./lifecycle.js"),
        (m, seedFile: string, flags: SeedInputFlags & { file: string; users?: string; state: "assigned" | "activated"; dryRun?: boolean; format?: SeedInputFlags["inputFormat"]; passphraseEnv?: string }) => {
          const { file, users, state, dryRun, format, passphraseEnv, ...input } = flags;
          const inputFormat = input.inputFormat ?? format;
          const inputPassphraseEnv = input.inputPassphraseEnv ?? passphraseEnv;
          return m.addCommand(seedFile, { ...input, ...(inputFormat ? { inputFormat } : {}), ...(inputPassphraseEnv ? { inputPassphraseEnv } : {}) }, { file, state, dryRun: dryRun === true, ...(users ? { users } : {}) });
        },
      ),
    );

  program
    .command("retire")
    .description("retire lost or broken tokens: the next apply unassigns and deletes them in Entra; tokens.yaml keeps them as history")
    .argument("<serials...>", "the tokens' serials")
    .addOption(fileOption())
    .option("--reason <text>", "why, for the history note", "lost or broken")
    .option("--dry-run", "show the change as a diff without writing the file")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      lazy(
        () => import("./lifecycle.js"),
        (m, serials: string[], flags: { file: string; reason: string; dryRun?: boolean }) => m.retireCommand(serials, { ...flags, dryRun: flags.dryRun === true }),
      ),
    );

  program
    .command("replace")
    .description("replace a user's lost or broken token: they get a free pool token in the same state, the old one is retired (one edit)")
    .argument("<serial>", "the serial of the token to replace")
    .addOption(fileOption())
    .option("--with <serial>", "the pool token to give instead (default: the first available one)")
    .option("--dry-run", "show the change as a diff without writing the file")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      lazy(
        () => import("./lifecycle.js"),
        (m, serial: string, flags: { file: string; with?: string; dryRun?: boolean }) =>
          m.replaceCommand(serial, { file: flags.file, dryRun: flags.dryRun === true, ...(flags.with ? { with: flags.with } : {}) }),
      ),
    );

  program
    .command("leaver")
    .description("a user leaves: their tokens go back to the pool (name cleared), or are retired with --retire")
    .argument("<upn>", "the leaver's user principal name")
    .addOption(fileOption())
    .option("--retire", "retire their tokens instead of returning them to the pool")
    .option("--dry-run", "show the change as a diff without writing the file")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(
      lazy(
        () => import("./lifecycle.js"),
        (m, upn: string, flags: { file: string; retire?: boolean; dryRun?: boolean }) => m.leaverCommand(upn, { file: flags.file, retire: flags.retire === true, dryRun: flags.dryRun === true }),
      ),
    );

  return program;
}

export function readVersion(): string {
  // package.json sits two levels above dist/provider/cli; read it at run time so the build stays flat.
  const pkg: unknown = require("../../../package.json");
  return typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string" ? pkg.version : "0.0.0";
}
