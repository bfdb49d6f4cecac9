#!/usr/bin/env node
import { CommanderError } from "commander";
import { escapeTerminal } from "../safety/escape.js";
import { buildProgram, EXIT } from "./program.js";
import { jsonErrorDocument } from "./json-error.js";

// `entra-tokens plan | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      // Commander already printed the message; help and --version are successes. A usage error is
      // exit 1 like any other error: 2 is kept for "changes"/"drift", which CI treats as success.
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.failure;
      if (error.exitCode !== 0 && jsonWanted(process.argv)) {
        process.stdout.write(jsonErrorDocument({ code: "usage", message: error.message.replace(/^error: /, ""), fix: "run the command with --help for its options" }));
      }
      return;
    }
    // Anything unexpected still gets one readable line, never a stack trace, and never replays
    // outside text it may quote (a path, a variable's value): escaped and cut.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`entra-tokens: ${escapeTerminal(message, 1_000)}\n`);
    if (jsonWanted(process.argv)) process.stdout.write(jsonErrorDocument({ code: "unexpected", message, fix: "report this as a bug, with the command that failed" }));
    process.exitCode = EXIT.failure;
  }
}

/** --format json (or --json) asked for: a failure is a JSON document on stdout too. */
function jsonWanted(argv: readonly string[]): boolean {
  return argv.some((arg, i) => arg === "--json" || arg === "--format=json" || (arg === "--format" && argv[i + 1] === "json"));
}

// Once the command is done, leave: a library's pending retry timer (the identity library retries a
// refused sign-in for seconds) must not keep a finished command waiting. Output is flushed first.
void main().then(() => process.stdout.write("", () => process.stderr.write("", () => process.exit())));
