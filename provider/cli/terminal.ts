import { openSync } from "node:fs";
import { createInterface } from "node:readline";
import { ReadStream, WriteStream } from "node:tty";

// What only a person at a terminal sees: the status line while we wait on Graph, and questions.
// Both stay off stdout, which belongs to the report (and may be piped: `apply | tail`).

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A one-line spinner on stderr, drawn only when stderr is a terminal. */
export class StatusLine {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private started = 0;
  private text = "";

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  start(text: string): void {
    if (this.stream.isTTY !== true) return;
    this.text = text;
    this.started = Date.now();
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
    this.draw();
  }

  /** Prints a line above the status line (e.g. a retry notice), which is then drawn again. */
  note(line: string): void {
    this.clear();
    this.stream.write(`${line}\n`);
    if (this.timer) this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private draw(): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    this.stream.write(`\r${FRAMES[this.frame++ % FRAMES.length]} ${this.text} ${seconds} s\x1b[K`);
  }

  private clear(): void {
    if (this.stream.isTTY === true) this.stream.write("\r\x1b[K");
  }
}

/** Runs `work` with a status line showing `text` (on a terminal). */
export async function withStatus<T>(status: StatusLine, text: string, work: () => Promise<T>): Promise<T> {
  status.start(text);
  try {
    return await work();
  } finally {
    status.stop();
  }
}

/**
 * Asks on the controlling terminal (/dev/tty), whatever stdin and stdout are, so the question is
 * seen and answered even when the output is piped. `context` is shown first when stdout is not
 * the terminal (the plan went into the pipe). Undefined when there is no terminal to ask.
 */
export async function askOnTerminal(question: string, context?: string): Promise<string | undefined> {
  let input: ReadStream;
  let output: WriteStream;
  try {
    // tty streams (not fs streams): a pending read on a terminal must not keep the process alive.
    input = new ReadStream(openSync("/dev/tty", "r"));
    output = new WriteStream(openSync("/dev/tty", "w"));
  } catch {
    return undefined;
  }
  try {
    if (context !== undefined && process.stdout.isTTY !== true) output.write(context);
    // terminal: false keeps the line discipline cooked, so Ctrl-C still interrupts as usual.
    const prompt = createInterface({ input, output, terminal: false });
    output.write(question);
    const answer = await new Promise<string>((resolve) => {
      prompt.once("line", resolve);
      prompt.once("close", () => resolve(""));
    });
    prompt.close();
    return answer;
  } finally {
    input.destroy();
    output.destroy();
  }
}
