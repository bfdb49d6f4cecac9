import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

// A real terminal for tests of what only a terminal shows: tmux runs the command in a pane (a
// pseudo-terminal with a controlling tty), types keys into it and reads the screen back.
// .ci/run installs tmux when it is missing.

export class TmuxSession {
  private readonly socket = `entra-tokens-test-${randomBytes(4).toString("hex")}`;

  private tmux(args: string[], env?: NodeJS.ProcessEnv): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8", env: env ?? { PATH: process.env["PATH"] } });
  }

  /** Starts `command` (argv) in a fresh 200×50 pane with exactly `env`; the pane stays when it exits. */
  constructor(command: readonly string[], env: NodeJS.ProcessEnv, cwd: string) {
    const full = { PATH: process.env["PATH"], TERM: "xterm-256color", ...env };
    // The server takes its environment from the client that starts it: the command sees `full`.
    this.tmux(["-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "200", "-y", "50", "-c", cwd, "sh", "-c", "sleep 0.3; exec \"$@\"", "sh", ...command], full);
    this.tmux(["set-option", "-t", "t", "remain-on-exit", "on"]);
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
    const [dead, status] = this.tmux(["display-message", "-p", "-t", "t", "#{pane_dead} #{pane_dead_status}"]).trim().split(" ");
    // tmux may report the pane dead a moment before it has the status: wait for both.
    return dead === "1" && status !== undefined && /^\d+$/.test(status) ? Number(status) : undefined;
  }

  async waitFor(what: string, test: () => boolean, timeoutMs = 60_000): Promise<void> {
    for (const end = Date.now() + timeoutMs; !test(); ) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${this.screen()}`);
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
