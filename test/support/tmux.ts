import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// A real terminal for tests of what only a terminal shows: tmux runs the command in a pane (a
// pseudo-terminal with a controlling tty), types keys into it and reads the screen back.
// .ci/run installs tmux when it is missing.

export class TmuxSession {
  private readonly socket = `entra-tokens-test-${randomBytes(4).toString("hex")}`;
  /** tmux 3.3 can report a pane dead with no status: the shell around the command records it. */
  private readonly statusFile = join(mkdtempSync(join(tmpdir(), "entra-tmux-")), "status");

  private tmux(args: string[], env?: NodeJS.ProcessEnv): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8", env: env ?? { PATH: process.env["PATH"] } });
  }

  /** Starts `command` (argv) in a fresh 200×50 pane with exactly `env`; the pane stays when it exits. */
  constructor(command: readonly string[], env: NodeJS.ProcessEnv, cwd: string) {
    const full = { PATH: process.env["PATH"], TERM: "xterm-256color", ...env };
    // The server takes its environment from the client that starts it: the command sees `full`.
    // `trap : INT`: Ctrl-C reaches the command, while the shell lives on to record its status;
    // then the pane stays open (sleep) so that its screen can still be read.
    const script = `trap : INT; "$@"; echo $? > '${this.statusFile}'; exec sleep 600`;
    this.tmux(["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "200", "-y", "50", "-c", cwd, "sh", "-c", script, "sh", ...command], full);
  }

  /** The screen and its scrollback as text (`escapes`: with colour codes). */
  screen(escapes = false): string {
    return this.tmux(["capture-pane", "-p", "-J", "-S", "-500", "-t", "t", ...(escapes ? ["-e"] : [])]);
  }

  keys(...keys: string[]): void {
    this.tmux(["send-keys", "-t", "t", ...keys]);
  }

  /** The command's exit status once it has ended, else undefined. */
  exitStatus(): number | undefined {
    let status: string;
    try {
      status = readFileSync(this.statusFile, "utf8");
    } catch {
      return undefined;
    }
    return /^\d+\n$/.test(status) ? Number(status) : undefined;
  }

  async waitFor(what: string, test: () => boolean, timeoutMs = 60_000): Promise<void> {
    for (const end = Date.now() + timeoutMs; !test(); ) {
      if (Date.now() > end) {
        throw new Error(`timed out waiting for ${what}; screen:\n${this.screen().trimEnd()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async waitForExit(timeoutMs = 60_000): Promise<number> {
    await this.waitFor("the command to end", () => this.exitStatus() !== undefined, timeoutMs);
    return this.exitStatus() ?? -1;
  }

  close(): void {
    try {
      this.tmux(["kill-server"]);
    } catch {
      // already gone
    }
  }
}

export function haveTmux(): boolean {
  try {
    execFileSync("tmux", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
