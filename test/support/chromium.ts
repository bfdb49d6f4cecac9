import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

// Headless Chromium (Debian's `chromium`, installed by .ci/run) driven over the DevTools protocol
// through --remote-debugging-pipe: messages are JSON, each ended by a NUL byte, written to the
// browser's fd 3 and read from its fd 4 (chromium's devtools_pipe_handler). No port, no download.

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

export class Chromium {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: ((method: string, params: Record<string, unknown>, sessionId?: string) => void)[] = [];
  private buffer = "";

  private constructor(
    private readonly child: ChildProcess,
    private readonly profile: string,
  ) {
    const output = child.stdio[4] as Readable;
    output.setEncoding("utf8");
    output.on("data", (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf("\0")) >= 0) {
        const message = JSON.parse(this.buffer.slice(0, end)) as { id?: number; result?: Record<string, unknown>; error?: { message: string }; method?: string; params?: Record<string, unknown>; sessionId?: string };
        this.buffer = this.buffer.slice(end + 1);
        if (message.id !== undefined) {
          const waiting = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error) waiting?.reject(new Error(message.error.message));
          else waiting?.resolve(message.result ?? {});
        } else if (message.method) {
          for (const listen of this.listeners) listen(message.method, message.params ?? {}, message.sessionId);
        }
      }
    });
    child.on("exit", () => {
      for (const waiting of this.pending.values()) waiting.reject(new Error("chromium exited"));
      this.pending.clear();
    });
  }

  static launch(): Chromium {
    const profile = mkdtempSync(join(tmpdir(), "entra-chromium-"));
    const child = spawn(
      process.env["CHROMIUM"] ?? "chromium",
      ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-background-networking", "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`, "--window-size=1280,900", "about:blank"],
      // Its own process group: close() ends the browser and every helper it started, not only the first process.
      { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"], detached: true },
    );
    return new Chromium(child, profile);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const input = this.child.stdio[3] as Writable;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  on(listen: (method: string, params: Record<string, unknown>, sessionId?: string) => void): void {
    this.listeners.push(listen);
  }

  /** Resolves on the first event `method` of `sessionId`. */
  once(method: string, sessionId: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.on((m, params, s) => m === method && s === sessionId && resolve(params)));
  }

  /** A page session: the first page target, attached with flat sessions. */
  async page(): Promise<string> {
    const { targetInfos } = (await this.send("Target.getTargets")) as { targetInfos: { targetId: string; type: string }[] };
    const page = targetInfos.find((t) => t.type === "page");
    if (!page) throw new Error("chromium has no page target");
    const { sessionId } = (await this.send("Target.attachToTarget", { targetId: page.targetId, flatten: true })) as { sessionId: string };
    return sessionId;
  }

  /** The value of a page expression (JSON-serialisable; a promise is awaited). */
  async evaluate(sessionId: string, expression: string): Promise<unknown> {
    const answer = (await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true }, sessionId)) as { result: { value?: unknown }; exceptionDetails?: { text: string } };
    if (answer.exceptionDetails) throw new Error(`page threw: ${answer.exceptionDetails.text}`);
    return answer.result.value;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      process.kill(-(this.child.pid ?? 0), "SIGTERM");
      await exited;
    }
    // A helper still closing may write into the profile for a moment: rmSync retries ENOTEMPTY.
    rmSync(this.profile, { recursive: true, force: true, maxRetries: 10 });
  }
}
