import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { accessSync, constants, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, relative, resolve } from "node:path";

// The README is the newcomer's path and docs/ the reference: both are checked as a reader would
// use them. Links must resolve inside the repository; every command block README shows is run
// verbatim, in order, in one shell, in a scratch copy of the repository.

const ROOT = join(__dirname, "..", "..");
const README = join(ROOT, "README.md");
const DOCS = join(ROOT, "docs");
const markdownFiles = () => [README, ...readdirSync(DOCS).filter((name) => name.endsWith(".md")).map((name) => join(DOCS, name))];

/** The text outside fenced code blocks, with code spans blanked: links there are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "").replace(/`[^`\n]*`/g, "``");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const base = (match[1] ?? "")
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

interface CommandBlock {
  heading: string;
  lines: string[];
}

/** The ```sh blocks of a Markdown text, each with the section it appears in. */
function commandBlocks(markdown: string): CommandBlock[] {
  const blocks: CommandBlock[] = [];
  let heading = "";
  let current: string[] | undefined;
  for (const line of markdown.split("\n")) {
    if (current) {
      if (line === "```") {
        blocks.push({ heading, lines: current });
        current = undefined;
      } else current.push(line);
    } else if (line === "```sh") current = [];
    else if (line.startsWith("#")) heading = line;
  }
  return blocks;
}

/** The exit code a README line promises in its comment (`# exit 2: changes`), else 0. */
function expectedExit(line: string): number {
  const comment = line.match(/\s#\s(.*)$/)?.[1] ?? "";
  return Number(comment.match(/\bexit (\d+)/)?.[1] ?? 0);
}

/** What a README line tells the reader to wait for before the next one (`# wait for "listening"`). */
function waitFor(line: string): string | undefined {
  return line.match(/\s#\s.*\bwait for "([^"]+)"/)?.[1];
}

function onPath(command: string): string {
  for (const folder of (process.env["PATH"] ?? "").split(delimiter)) {
    const candidate = join(folder, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  throw new Error(`${command} is not on PATH`);
}

/**
 * Runs command blocks as a reader would: verbatim, in order, in one shell, in a scratch copy of the
 * repository; returns the lines whose exit code is not the one their comment states.
 */
async function runVerbatim(blocks: readonly CommandBlock[]): Promise<{ failures: string[]; ran: number; output: string }> {
  // A scratch copy: the files the tour edits are copied, the rest linked (dist/ and node_modules/
  // as the suite built and installed them).
  const scratch = mkdtempSync(join(tmpdir(), "entra-readme-"));
  const edited = new Set(["tokens.yaml", "demo"]);
  for (const name of readdirSync(ROOT)) {
    if (name === ".git" || name.startsWith("emulator.env")) continue;
    if (edited.has(name)) cpSync(join(ROOT, name), join(scratch, name), { recursive: true });
    else symlinkSync(join(ROOT, name), join(scratch, name));
  }
  // `npm ci` and `npm run build` are what this suite already did (`npm test` installs and builds
  // before mocha starts), and `npm test` is this run: those three succeed without redoing the work;
  // every other npm command reaches the real npm.
  const shims = mkdtempSync(join(tmpdir(), "entra-readme-bin-"));
  writeFileSync(
    join(shims, "npm"),
    `#!/bin/sh\ncase "$*" in ci|"ci "*|test|"run build") exit 0 ;; esac\nexec ${JSON.stringify(onPath("npm"))} "$@"\n`,
    { mode: 0o755 },
  );
  const lineFiles = mkdtempSync(join(tmpdir(), "entra-readme-lines-"));

  const env: NodeJS.ProcessEnv = { PATH: `${shims}${delimiter}${process.env["PATH"] ?? ""}`, HOME: process.env["HOME"] ?? scratch, NO_COLOR: "1", LANG: "C.UTF-8" };
  const shell = spawn("bash", ["--noprofile", "--norc"], { cwd: scratch, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  let waiter: (() => void) | undefined;
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    waiter?.();
  };
  shell.stdout.on("data", onData);
  shell.stderr.on("data", onData);
  const until = (found: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (found()) {
          waiter = undefined;
          resolve();
        } else if (shell.exitCode !== null) reject(new Error(`the shell ended:\n${output}`));
      };
      waiter = check;
      check();
    });

  const failures: string[] = [];
  let ran = 0;
  try {
    for (const block of blocks) {
      for (const line of block.lines) {
        if (line.trim() === "" || line.trim().startsWith("#")) continue;
        const file = join(lineFiles, `${++ran}.sh`);
        writeFileSync(file, `${line}\n`);
        const start = output.length;
        const marker = `@@readme-line-${ran}@@`;
        // The line runs in the shell itself (exports persist), with stdin closed so that no command
        // can read the lines that follow.
        shell.stdin.write(`source ${JSON.stringify(file)} </dev/null; printf '\\n${marker}%d\\n' $?\n`);
        await until(() => new RegExp(`${marker}\\d+\\n`).test(output.slice(start)));
        const text = output.slice(start);
        const code = Number(text.match(new RegExp(`${marker}(\\d+)`))?.[1]);
        const awaited = waitFor(line);
        if (awaited !== undefined) await until(() => output.slice(start).includes(awaited));
        if (code !== expectedExit(line)) failures.push(`${block.heading}\n$ ${line}\nexit ${code}, the text says ${expectedExit(line)}:\n${text.replace(new RegExp(`\\n?${marker}\\d+\\n`), "")}`);
      }
    }
  } finally {
    shell.stdin.end("exit\n");
    try {
      process.kill(-(shell.pid ?? 0), "SIGTERM");
    } catch {
      // the group has already ended
    }
  }
  return { failures, ran, output };
}

describe("README and docs/", function () {
  it("the README is at most 300 lines", () => {
    const lines = readFileSync(README, "utf8").split("\n").length - 1;
    assert.ok(lines <= 300, `README.md has ${lines} lines`);
  });

  it("every relative link in README.md and docs/*.md resolves inside the repository, anchors included", () => {
    const problems: string[] = [];
    let links = 0;
    for (const file of markdownFiles()) {
      const text = readFileSync(file, "utf8");
      for (const match of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1] ?? "";
        if (/^[a-z]+:/i.test(target)) continue;
        links++;
        const [path = "", anchor] = target.split("#");
        const resolved = path === "" ? file : resolve(dirname(file), path);
        const where = `${relative(ROOT, file)}: (${target})`;
        if (relative(ROOT, resolved).startsWith("..")) problems.push(`${where} leaves the repository`);
        else if (!existsSync(resolved)) problems.push(`${where} names a missing file`);
        else if (anchor !== undefined && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(anchor)) problems.push(`${where} names a missing heading`);
      }
      // Paths written as code are read as links too: none may point outside the repository.
      for (const match of text.matchAll(/`(\.\.\/[^`\s]*)`/g)) {
        const resolved = resolve(dirname(file), match[1] ?? "");
        if (relative(ROOT, resolved).startsWith("..")) problems.push(`${relative(ROOT, file)}: \`${match[1]}\` is outside the repository`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(links > 20, `only ${links} relative links found: is the link pattern still right?`);
  });

  it("no package in the lock file needs a newer Node than package.json's engines, except those development.md explains", () => {
    const lock: unknown = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
    assert.ok(typeof lock === "object" && lock !== null && "packages" in lock && typeof lock.packages === "object" && lock.packages !== null);
    const floor = 20;
    const above: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (typeof entry !== "object" || entry === null || !("engines" in entry) || typeof entry.engines !== "object" || entry.engines === null) continue;
      const node = "node" in entry.engines ? entry.engines.node : undefined;
      if (typeof node !== "string") continue;
      // A range whose every alternative starts above our major excludes Node 20.
      const minima = node.split("||").map((part) => Number(part.match(/>=?\s*v?(\d+)/)?.[1] ?? part.match(/\^\s*(\d+)/)?.[1] ?? 0));
      if (minima.every((major) => major > floor)) above.push(`${path.replace(/^.*node_modules\//, "")}@${"version" in entry ? String(entry.version) : "?"}`);
    }
    const explained = readFileSync(join(DOCS, "development.md"), "utf8");
    assert.ok(above.length > 0 || !/EBADENGINE/.test(explained), "nothing asks for a newer Node any more: drop the explanation");
    for (const name of above) assert.ok(explained.includes(name), `${name} asks for Node > ${floor} and docs/development.md does not explain it`);
  });

  it("every command block README shows runs verbatim, with the exit code it states", async function () {
    this.timeout(600_000);
    const blocks = commandBlocks(readFileSync(README, "utf8"));
    assert.ok(blocks.length >= 8, `only ${blocks.length} command blocks found`);
    const { failures, ran, output } = await runVerbatim(blocks);
    assert.deepEqual(failures, []);
    assert.ok(ran >= 20, `only ${ran} commands ran`);
    assert.doesNotMatch(output, /AZURE_CLIENT_SECRET=|at [A-Za-z.]+ \(.*\.js:\d+:\d+\)/, "no secret and no stack trace on the terminal");
  });

  it("docs/many-tenants.md's walk-through on two emulator tenants runs verbatim, with the exit codes it states", async function () {
    this.timeout(300_000);
    const blocks = commandBlocks(readFileSync(join(DOCS, "many-tenants.md"), "utf8")).filter((b) => b.heading === "## Try it on two emulator tenants");
    assert.equal(blocks.length, 1);
    const { failures, ran, output } = await runVerbatim(blocks);
    assert.deepEqual(failures, []);
    assert.ok(ran >= 14, `only ${ran} commands ran`);
    // Each tenant under its own name and id, its own plan, and one refused for the other's credentials.
    assert.match(output, /== tenant contoso \(tenants\/contoso\/tokens\.yaml\): changes, exit 2 ==\nTenant: contoso \(11111111-2222-4333-8444-555555555555\)/);
    assert.match(output, /== tenant fabrikam \(tenants\/fabrikam\/tokens\.yaml\): changes, exit 2 ==\nTenant: fabrikam \(22222222-3333-4444-8555-666666666666\)/);
    assert.match(output, /\ncontoso +60234561 +assigned[^\n]*\nfabrikam +60234562 +available/);
    assert.match(output, /but the credentials sign in to tenant 22222222-3333-4444-8555-666666666666; nothing was sent to Entra/);
    assert.match(output, / {2}contoso {3}no changes {2}exit 0\n {2}fabrikam {2}error {7}exit 1/);
    assert.doesNotMatch(output, /AZURE_CLIENT_SECRET=|at [A-Za-z.]+ \(.*\.js:\d+:\d+\)/, "no secret and no stack trace on the terminal");
  });
});
