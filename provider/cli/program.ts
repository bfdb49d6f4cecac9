import { Command, InvalidArgumentError, Option } from "commander";
import { applyCommand, driftCommand, OUTPUT_FORMATS, planCommand, type OutputFormat, type ReconcileOptions } from "./reconcile.js";
import { assignCommand, DEFAULT_PASSPHRASE_ENV, exportCommand, importCommand, type ImportOptions } from "./seeds.js";
import { validateCommand } from "./validate.js";
import { SEED_FORMATS } from "../model/index.js";

/** Exit codes shared by every command (plan/drift add 2 for changes, as terraform's -detailed-exitcode). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

interface CommonFlags {
  file: string;
  seeds?: string[];
  format: OutputFormat;
  graphUrl?: string;
  concurrency: number;
  allowDeletes?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError("must be a whole number from 1 to 64");
  return n;
}

/** The options plan, apply and drift share. */
function withReconcileOptions(command: Command): Command {
  return command
    .option("-f, --file <path>", "the desired-state file", "tokens.yaml")
    .option("--seeds <files...>", "seed files to use instead of tokens.yaml `seeds`")
    .addOption(new Option("--format <format>", "output format").choices(OUTPUT_FORMATS).default("text"))
    .option("--graph-url <url>", "Graph base URL (env ENTRA_TOKENS_GRAPH_URL; default https://graph.microsoft.com/beta)")
    .option("--concurrency <n>", "Graph requests in flight at once", positiveInt, 4)
    .addHelpText(
      "after",
      "\nCredentials come from the environment: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or\n" +
        "AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE, GitHub Actions OIDC, ENTRA_TOKENS_AUTH=azure-cli|managed-identity.\n" +
        "AZURE_AUTHORITY_HOST points at another login host (e.g. the emulator).",
    );
}

function reconcileOptions(flags: CommonFlags): ReconcileOptions {
  return {
    file: flags.file,
    ...(flags.seeds ? { seeds: flags.seeds } : {}),
    format: flags.format,
    ...(flags.graphUrl ? { graphUrl: flags.graphUrl } : {}),
    concurrency: flags.concurrency,
    allowDeletes: flags.allowDeletes === true,
  };
}

export function buildProgram(): Command {
  const program = new Command()
    .name("entra-tokens")
    .description("GitOps for hardware OATH tokens in Microsoft Entra ID")
    .version(readVersion())
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");

  program
    .command("validate")
    .description("check tokens.yaml against the schema and Entra's rules; changes nothing")
    .argument("[file]", "the desired-state file", "tokens.yaml")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExit codes: 0 valid, 1 invalid, 2 usage error.\n" +
        "With GITHUB_ACTIONS=true, errors are also printed as GitHub annotations on the offending lines.",
    )
    .action(async (file: string, options: { json?: boolean }) => {
      process.exitCode = await validateCommand(file, { json: options.json === true });
    });

  withReconcileOptions(program.command("plan"))
    .description("show what apply would change in Entra; changes nothing")
    .option("--allow-deletes", "lift policy.maxDeletes for this plan")
    .option("--github-comment", "post the plan as the pull request's sticky comment (GITHUB_TOKEN, GITHUB_REPOSITORY, the PR event)")
    .addHelpText("after", "\nExit codes: 0 no changes, 2 changes, 1 error (like terraform plan -detailed-exitcode).")
    .action(async (flags: CommonFlags & { githubComment?: boolean }) => {
      process.exitCode = await planCommand({ ...reconcileOptions(flags), githubComment: flags.githubComment === true });
    });

  withReconcileOptions(program.command("apply"))
    .description("converge Entra to tokens.yaml: shows the plan, asks, then applies it")
    .option("-y, --yes", "apply without asking (required in CI)")
    .option("--allow-deletes", "allow more deletions than policy.maxDeletes")
    .addHelpText("after", "\nExit codes: 0 applied (or nothing to do), 1 error or partial failure. Safe to run again after an interruption.")
    .action(async (flags: CommonFlags & { yes?: boolean }) => {
      process.exitCode = await applyCommand({ ...reconcileOptions(flags), yes: flags.yes === true });
    });

  withReconcileOptions(program.command("drift"))
    .description("report where Entra differs from tokens.yaml; changes nothing")
    .option("--github-issue", "open, update or close the repository's drift issue (GITHUB_TOKEN, GITHUB_REPOSITORY)")
    .addHelpText("after", "\nExit codes: 0 no drift, 2 drift, 1 error. In GitHub Actions the report also goes to the job summary.")
    .action(async (flags: CommonFlags & { githubIssue?: boolean }) => {
      process.exitCode = await driftCommand({ ...reconcileOptions(flags), githubIssue: flags.githubIssue === true });
    });

  const seeds = program.command("seeds").description("import vendor seed files into an encrypted store, or export them for the Entra portal");
  seeds
    .command("import")
    .description("read vendor seed files (Entra CSV/JSON, PSKC, custom CSV; zip/OpenPGP wrapped) and write one encrypted seed file for the repository")
    .argument("<files...>", "vendor seed files")
    .requiredOption("-o, --out <file>", "the encrypted seed file to write (e.g. seeds/2026-11.pskc)")
    .option("--passphrase-env <var>", "variable holding the passphrase that protects the output", DEFAULT_PASSPHRASE_ENV)
    .option("--recipient <public-key.asc>", "encrypt to this OpenPGP public key instead of a passphrase")
    .addOption(new Option("--format <format>", "input format (default: detected)").choices(SEED_FORMATS.filter((f) => f !== "custom-csv")))
    .option("--input-passphrase-env <var>", "variable holding the passphrase of a PBKDF2-protected PSKC input")
    .option("--psk-env <var>", "variable holding the pre-shared key (hex) of a PSKC input")
    .option("--zip-password-env <var>", "variable holding the zip password")
    .option("--pgp-key <file>", "armored OpenPGP private key for an encrypted input")
    .option("--pgp-passphrase-env <var>", "variable holding that key's passphrase")
    .option("--accept-tamperable-seeds", "accept encrypted PSKC seeds without a MAC (RISK: a tampered seed goes unnoticed)")
    .option("--force", "replace the output file if it exists")
    .addHelpText("after", "\nSecrets are read from the variables named, never from arguments, and never printed.")
    .action(async (files: string[], flags: Omit<ImportOptions, "force" | "preSharedKeyEnv"> & { force?: boolean; pskEnv?: string }) => {
      const { pskEnv, force, ...rest } = flags;
      process.exitCode = await importCommand(files, { ...rest, force: force === true, ...(pskEnv ? { preSharedKeyEnv: pskEnv } : {}) });
    });
  seeds
    .command("export")
    .description("write the seeds of tokens.yaml as Entra CSV or JSON (with upn from tokens.yaml), for the portal upload")
    .option("-f, --file <path>", "the desired-state file", "tokens.yaml")
    .addOption(new Option("--format <format>", "output format").choices(["entra-csv", "entra-json"]).default("entra-csv"))
    .requiredOption("-o, --out <file>", "the file to write (it holds secrets: mode 600; delete it after the upload)")
    .option("--force", "replace the output file if it exists")
    .action(async (flags: { file: string; format: "entra-csv" | "entra-json"; out: string; force?: boolean }) => {
      process.exitCode = await exportCommand({ ...flags, force: flags.force === true });
    });

  program
    .command("assign")
    .description("give each user listed in a file a free token from the pool, by editing tokens.yaml (comments kept)")
    .requiredOption("--users <file>", "one `upn` or `upn,display name` per line")
    .option("-f, --file <path>", "the desired-state file", "tokens.yaml")
    .addOption(new Option("--state <state>", "the state to give the tokens").choices(["assigned", "activated"]).default("assigned"))
    .option("--dry-run", "show the assignments without changing the file")
    .action(async (flags: { users: string; file: string; state: "assigned" | "activated"; dryRun?: boolean }) => {
      process.exitCode = await assignCommand({ ...flags, dryRun: flags.dryRun === true });
    });

  return program;
}

function readVersion(): string {
  // package.json sits two levels above dist/provider/cli; read it at run time so the build stays flat.
  const pkg: unknown = require("../../../package.json");
  return typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string" ? pkg.version : "0.0.0";
}
