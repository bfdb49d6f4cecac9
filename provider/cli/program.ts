import { Command } from "commander";
import { validateCommand } from "./validate.js";

/** Exit codes shared by every command (plan/drift add `changes`, as terraform's -detailed-exitcode). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

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

  return program;
}

function readVersion(): string {
  // package.json sits two levels above dist/provider/cli; read it at run time so the build stays flat.
  const pkg: unknown = require("../../../package.json");
  return typeof pkg === "object" && pkg !== null && "version" in pkg && typeof pkg.version === "string" ? pkg.version : "0.0.0";
}
