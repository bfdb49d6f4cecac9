import { spawn, type ChildProcess } from "node:child_process";
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as engineRpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineProto from "@pulumi/pulumi/proto/engine_pb";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as providerProto from "@pulumi/pulumi/proto/provider_pb";
import * as resourceRpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as resourceProto from "@pulumi/pulumi/proto/resource_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { parse as parseYaml, parseDocument } from "yaml";
import { Slots } from "../../provider/graph/client.js";

// A stand-in for the Pulumi engine (no Pulumi CLI can be installed here), built from the SDK's own
// pieces and the engine's rules as pulumi/pulumi states them:
// - The project is the nearest Pulumi.yaml at or above where `pulumi` runs (or -C). The program AND
//   every plugin start in the folder of Pulumi.yaml's `main` (its parent when `main` is a file), or
//   the project root without one (pkg/engine/project.go getPwdMain, pkg/engine/deployment.go,
//   sdk/go/common/resource/plugin/plugin.go `cmd.Dir = pwd`).
// - The program runs through `@pulumi/pulumi/cmd/run` with the arguments and PULUMI_CONFIG
//   environment the nodejs language host passes (sdk/nodejs/cmd/pulumi-language-nodejs/main.go
//   constructArguments, constructConfig).
// - Dynamic resources go to the SDK's `pulumi-resource-pulumi-nodejs` plugin, started with the
//   engine's address; its later stdout/stderr lines are shown to the user (plugin.go runtrace).
//   It is configured with the stack's whole config, keys kept with their namespace
//   (pkg/resource/deploy/target.go GetPackageConfig), and answers acceptSecrets=false: secrets are
//   stripped before every call, and outputs of secret inputs and additionalSecretOutputs are
//   marked secret again on the way back.
// - Check and Diff run one registration at a time (the step generator); Create, Update, Delete and
//   Read run in parallel, `--parallel` at most (default 4 × CPUs, pkg/cmd/pulumi/operations/up.go).
//   Diff gets the old outputs, Check the old inputs. Preview calls no Create/Update/Delete.
// - Resources the program no longer registers are deleted once it signals shutdown (or exits),
//   dependents first; `retainOnDelete` (taken from the old state) drops them from the state without
//   a Delete call, also for replacements (pkg/resource/deploy/step.go DeleteStep.Apply).
// - refresh = Read with the state; import = Read with no state (for a dynamic provider that has no
//   `__provider` to run, pulumi/pulumi#3550, #16175).
// - Stack config is decrypted before anything starts (pkg/resource/deploy/source_eval.go Iterate):
//   `secure:` values of Pulumi.<stack>.yaml under the passphrase secrets manager and its
//   `encryptionsalt`, in Pulumi's own format (ConfigCrypter below); the program gets them in
//   PULUMI_CONFIG, their keys in PULUMI_CONFIG_SECRET_KEYS, the provider as secrets in Configure.
// - State lives in a JSON file; secret values are encrypted under PULUMI_CONFIG_PASSPHRASE (the
//   harness's own format, not Pulumi's checkpoint).

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic";

type Props = Record<string, unknown>;

export interface StateResource {
  urn: string;
  type: string;
  custom: boolean;
  id: string;
  inputs: Props;
  outputs: Props;
  dependencies: string[];
  retainOnDelete: boolean;
  additionalSecretOutputs: string[];
}

export type StepOp = "create" | "update" | "same" | "delete" | "retain" | "replace" | "refresh" | "gone";

export interface OperationResult {
  ok: boolean;
  errors: string[];
  /** What the user sees besides the steps: plugin output and the program's logs. */
  diagnostics: string[];
  steps: { urn: string; name: string; op: StepOp }[];
  outputs: Props;
  /** CPU the provider plugin's processes used (user + system), where /proc tells it (Linux); for the bench. */
  providerCpuMs?: number;
}

export interface EngineOptions {
  /** Where `pulumi` runs: it looks for Pulumi.yaml here and above. */
  cwd: string;
  stack: string;
  stateFile: string;
  /** The environment of the `pulumi` command; program and plugins inherit it. */
  env: NodeJS.ProcessEnv;
  /** `--parallel`; default PULUMI_PARALLEL or 4 × CPUs, as the CLI. */
  parallel?: number;
}

interface Project {
  root: string;
  name: string;
  main?: string;
  stackConfigDir: string;
}

/** Finds the project as `pulumi` does: the nearest Pulumi.yaml at or above `cwd`. */
function findProject(cwd: string): Project {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = ["Pulumi.yaml", "Pulumi.yml"].map((n) => join(dir, n)).find((f) => existsSync(f));
    if (file) {
      const doc: unknown = parseYaml(readFileSync(file, "utf8"));
      if (typeof doc !== "object" || doc === null) throw new Error(`${file} is not a Pulumi project file`);
      const get = (key: string): unknown => Reflect.get(doc, key);
      const name = get("name");
      if (typeof name !== "string") throw new Error(`${file} has no name`);
      const main = get("main");
      const stackConfigDir = get("stackConfigDir");
      return { root: dir, name, ...(typeof main === "string" ? { main } : {}), stackConfigDir: typeof stackConfigDir === "string" ? stackConfigDir : "." };
    }
    if (dirname(dir) === dir) throw new Error(`no Pulumi.yaml at or above ${cwd}`);
  }
}

/** pkg/engine/project.go getPwdMain: the program's and plugins' working directory, and the entry point. */
export function pwdMain(root: string, main: string | undefined): { pwd: string; main: string } {
  if (main === undefined || main === "") return { pwd: root, main: "." };
  const full = isAbsolute(main) ? main : join(root, main);
  if (!existsSync(full)) throw new Error(`project 'main' could not be read: ${full}`);
  return statSync(full).isDirectory() ? { pwd: full, main: "." } : { pwd: dirname(full), main: basename(full) };
}

/** The stack's config as the engine holds it once decrypted: values by `namespace:key`, and which were `secure`. */
interface StackConfig {
  values: Record<string, string>;
  /** Keys whose value was a `secure:` ciphertext (config.Map SecureKeys). */
  secure: Set<string>;
}

function stackConfigFile(project: Project, stack: string): string {
  return join(project.root, project.stackConfigDir, `Pulumi.${stack}.yaml`);
}

/** A key as `pulumi config` stores it: `namespace:name`, the project's namespace when none is given (config.ParseKey). */
function fullKey(project: Project, key: string): string {
  return key.includes(":") ? key : `${project.name}:${key}`;
}

/**
 * Pulumi.<stack>.yaml, decrypted as the engine does before it starts the program
 * (pkg/resource/deploy/source_eval.go Iterate: Config.Decrypt, Config.SecureKeys): a `secure:`
 * value needs the stack's passphrase secrets manager, whose `encryptionsalt` holds the salt and
 * a check value (pkg/secrets/passphrase/manager.go).
 */
function stackConfig(project: Project, stack: string, env: NodeJS.ProcessEnv): StackConfig {
  const file = stackConfigFile(project, stack);
  const result: StackConfig = { values: {}, secure: new Set() };
  if (!existsSync(file)) return result;
  const doc: unknown = parseYaml(readFileSync(file, "utf8"));
  const config: unknown = typeof doc === "object" && doc !== null ? Reflect.get(doc, "config") : undefined;
  if (typeof config !== "object" || config === null) return result;
  let crypter: ConfigCrypter | undefined;
  for (const [key, value] of Object.entries(config)) {
    const full = fullKey(project, key);
    if (typeof value === "object" && value !== null) {
      const ciphertext: unknown = Reflect.get(value, "secure");
      if (Object.keys(value).length !== 1 || typeof ciphertext !== "string") throw new Error(`the harness models plain and secure config values only (${key})`);
      const salt: unknown = typeof doc === "object" && doc !== null ? Reflect.get(doc, "encryptionsalt") : undefined;
      if (typeof salt !== "string") throw new Error(`failed to decrypt config: ${file} has secure values but no encryptionsalt`);
      crypter ??= ConfigCrypter.fromState(passphraseOf(env), salt);
      result.values[full] = crypter.decrypt(ciphertext);
      result.secure.add(full);
    } else {
      result.values[full] = String(value);
    }
  }
  return result;
}

/** pkg/secrets/passphrase/manager.go readPassphrase, non-interactive. */
function passphraseOf(env: NodeJS.ProcessEnv): string {
  const phrase = env["PULUMI_CONFIG_PASSPHRASE"];
  if (phrase === undefined) throw new Error("passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables");
  return phrase;
}

// --- secrets -----------------------------------------------------------------------------------

const isSecret = (value: unknown): value is { value: unknown } => typeof value === "object" && value !== null && Reflect.get(value, SIG_KEY) === SECRET_SIG;
const secret = (value: unknown) => ({ [SIG_KEY]: SECRET_SIG, value });

/** What a provider that does not accept secrets is sent: the plain values. */
function reveal(props: Props): Props {
  return Object.fromEntries(Object.entries(props).map(([key, value]) => [key, isSecret(value) ? value.value : value]));
}

function markSecret(props: Props, keys: ReadonlySet<string>): Props {
  return Object.fromEntries(Object.entries(props).map(([key, value]) => [key, keys.has(key) && !isSecret(value) ? secret(value) : value]));
}

function secretKeysOf(props: Props): Set<string> {
  return new Set(Object.entries(props).filter(([, value]) => isSecret(value)).map(([key]) => key));
}

/** The passphrase secrets manager's idea: a key from the passphrase and a salt, AES-256-GCM per value. */
class Crypter {
  private readonly key: Buffer;
  constructor(
    passphrase: string,
    readonly salt: string,
  ) {
    this.key = pbkdf2Sync(passphrase, Buffer.from(salt, "base64"), 100_000, 32, "sha256");
  }
  encrypt(value: unknown): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1:${nonce.toString("base64")}:${body.toString("base64")}`;
  }
  decrypt(text: string): unknown {
    const [, nonce, body] = text.split(":");
    const data = Buffer.from(body ?? "", "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(nonce ?? "", "base64"));
    decipher.setAuthTag(data.subarray(data.length - 16));
    try {
      return JSON.parse(Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8"));
    } catch {
      throw new Error("incorrect passphrase: the state's secrets cannot be decrypted with PULUMI_CONFIG_PASSPHRASE");
    }
  }
}

/** Derived keys by passphrase and salt: a million PBKDF2 rounds per stack is what Pulumi pays once too (manager.go caches its managers). */
const configKeys = new Map<string, Buffer>();

/**
 * The passphrase secrets manager of Pulumi.<stack>.yaml, byte for byte: PBKDF2-SHA256 with
 * 1,000,000 rounds over an 8-byte salt gives an AES-256-GCM key; a value is `v1:<nonce>:<sealed>`
 * in base64 (sdk/go/common/resource/config/crypt.go); `encryptionsalt` is `v1:<salt>:<"pulumi"
 * sealed>`, which tells a wrong passphrase (pkg/secrets/passphrase/manager.go).
 */
export class ConfigCrypter {
  private constructor(
    private readonly key: Buffer,
    readonly state: string,
  ) {}

  private static keyFor(passphrase: string, salt: Buffer): Buffer {
    const id = `${salt.toString("base64")}\0${passphrase}`;
    let key = configKeys.get(id);
    if (!key) configKeys.set(id, (key = pbkdf2Sync(passphrase, salt, 1_000_000, 32, "sha256")));
    return key;
  }

  /** NewPassphraseSecretsManager: a fresh salt, and "pulumi" sealed under it. */
  static create(passphrase: string): ConfigCrypter {
    const salt = randomBytes(8);
    const crypter = new ConfigCrypter(ConfigCrypter.keyFor(passphrase, salt), "");
    return new ConfigCrypter(crypter.key, `v1:${salt.toString("base64")}:${crypter.encrypt("pulumi")}`);
  }

  /** symmetricCrypterFromPhraseAndState: "incorrect passphrase" unless the check value opens. */
  static fromState(passphrase: string, state: string): ConfigCrypter {
    const parts = state.split(":");
    if (parts.length !== 5 || parts[0] !== "v1") throw new Error("malformed state value");
    const crypter = new ConfigCrypter(ConfigCrypter.keyFor(passphrase, Buffer.from(parts[1]!, "base64")), state);
    let check: string | undefined;
    try {
      check = crypter.decrypt(parts.slice(2).join(":"));
    } catch {
      check = undefined;
    }
    if (check !== "pulumi") throw new Error("incorrect passphrase");
    return crypter;
  }

  encrypt(value: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    const sealed = Buffer.concat([cipher.update(value, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `v1:${nonce.toString("base64")}:${sealed.toString("base64")}`;
  }

  decrypt(value: string): string {
    const parts = value.split(":");
    if (parts.length !== 3 || parts[0] !== "v1") throw new Error("failed to decrypt config: bad value");
    const nonce = Buffer.from(parts[1]!, "base64");
    const sealed = Buffer.from(parts[2]!, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString("utf8");
    } catch {
      throw new Error("failed to decrypt config: incorrect passphrase");
    }
  }
}

function mapSecrets(props: Props, transform: (value: unknown) => unknown, test: (value: unknown) => boolean): Props {
  return Object.fromEntries(Object.entries(props).map(([key, value]) => [key, test(value) ? transform(value) : value]));
}

// --- the engine --------------------------------------------------------------------------------

/** Runs one operation at a time serially (the step generator's Check and Diff). */
class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

interface Plugin {
  child: ChildProcess;
  client: ResourceProviderClient;
  exited: Promise<void>;
}

function call<Req, Res>(client: ResourceProviderClient, method: (req: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
  return new Promise((resolvePromise, reject) => method.call(client, request, (error, response) => (error ? reject(error) : resolvePromise(response))));
}

/** CPU time of a process group's live processes, from /proc/<pid>/stat (utime + stime, clock ticks of 10 ms). */
function groupCpuMs(pgid: number): number | undefined {
  if (!existsSync("/proc/self/stat")) return undefined;
  let ticks = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name, which sits in parentheses and may hold spaces.
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks * 10;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

const struct = (props: Props) => Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]);
const plain = (value: Struct | undefined): Props => (value?.toJavaScript() ?? {}) as Props;
const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

export class FakeEngine {
  readonly project: Project;
  readonly pwd: string;
  readonly main: string;
  readonly parallel: number;
  private crypter: Crypter | undefined;

  constructor(private readonly options: EngineOptions) {
    this.project = findProject(options.cwd);
    ({ pwd: this.pwd, main: this.main } = pwdMain(this.project.root, this.project.main));
    // The CLI's default: PULUMI_PARALLEL, else 4 × CPUs (pkg/cmd/pulumi/operations/up.go defaultParallel).
    const fromEnv = Number(options.env["PULUMI_PARALLEL"]);
    this.parallel = options.parallel ?? (Number.isSafeInteger(fromEnv) && fromEnv > 0 ? fromEnv : 4 * availableParallelism());
  }

  private urn(type: string, name: string): string {
    return `urn:pulumi:${this.options.stack}::${this.project.name}::${type}::${name}`;
  }

  // --- state file ---

  private passphraseCrypter(salt?: string): Crypter {
    const passphrase = this.options.env["PULUMI_CONFIG_PASSPHRASE"];
    if (passphrase === undefined) throw new Error("PULUMI_CONFIG_PASSPHRASE is not set: the passphrase secrets provider needs it");
    if (!this.crypter || (salt !== undefined && this.crypter.salt !== salt)) this.crypter = new Crypter(passphrase, salt ?? randomBytes(8).toString("base64"));
    return this.crypter;
  }

  loadState(): { resources: StateResource[]; outputs: Props } {
    if (!existsSync(this.options.stateFile)) return { resources: [], outputs: {} };
    const raw = JSON.parse(readFileSync(this.options.stateFile, "utf8")) as { salt: string; resources: Array<Omit<StateResource, "retainOnDelete" | "additionalSecretOutputs" | "dependencies"> & Partial<StateResource>>; outputs: Props };
    const crypter = this.passphraseCrypter(raw.salt);
    const open = (props: Props) => mapSecrets(props, (v) => secret(crypter.decrypt(String(Reflect.get(v as object, "ciphertext")))), isSecret);
    return {
      resources: raw.resources.map((r) => ({ dependencies: [], retainOnDelete: false, additionalSecretOutputs: [], ...r, inputs: open(r.inputs), outputs: open(r.outputs) })),
      outputs: open(raw.outputs),
    };
  }

  /** A resource as the engine's checkpoint stores it: false and empty fields are omitted (`omitempty`, sdk/go/common/apitype/core.go ResourceV3). */
  private static checkpointFields(resource: StateResource): Partial<StateResource> {
    const { retainOnDelete, additionalSecretOutputs, dependencies, ...always } = resource;
    return {
      ...always,
      ...(dependencies.length > 0 ? { dependencies } : {}),
      ...(retainOnDelete ? { retainOnDelete } : {}),
      ...(additionalSecretOutputs.length > 0 ? { additionalSecretOutputs } : {}),
    };
  }

  private saveState(resources: StateResource[], outputs: Props): void {
    const crypter = this.passphraseCrypter(this.crypter?.salt);
    const seal = (props: Props) => mapSecrets(props, (v) => ({ [SIG_KEY]: SECRET_SIG, ciphertext: crypter.encrypt((v as { value: unknown }).value) }), isSecret);
    const file = { salt: crypter.salt, resources: resources.map((r) => FakeEngine.checkpointFields({ ...r, inputs: seal(r.inputs), outputs: seal(r.outputs) })), outputs: seal(outputs) };
    writeFileSync(this.options.stateFile, `${JSON.stringify(file, null, 2)}\n`);
  }

  // --- the provider plugin ---

  private async startPlugin(engineAddress: string, diagnostics: string[], config: StackConfig): Promise<Plugin> {
    // The CLI ships this same script next to `pulumi`; it resolves the SDK from the working directory.
    const script = require.resolve("@pulumi/pulumi/pulumi-resource-pulumi-nodejs", { paths: [this.pwd] });
    // Its own process group, which is what the engine kills at the end (plugin.go
    // cmdutil.RegisterProcessGroup): the script's `node` child goes with it.
    const child = spawn("sh", [script, engineAddress], { cwd: this.pwd, env: this.options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    try {
      return await this.configurePlugin(child, diagnostics, config);
    } catch (error: unknown) {
      // A plugin that never became ctx.plugin would outlive the run (and keep mocha from exiting).
      if (child.pid !== undefined) killGroup(child.pid);
      throw error;
    }
  }

  private async configurePlugin(child: ChildProcess, diagnostics: string[], config: StackConfig): Promise<Plugin> {
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const lines = (stream: NodeJS.ReadableStream, onLine: (line: string) => void) => {
      let buffer = "";
      stream.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
          onLine(buffer.slice(0, i));
          buffer = buffer.slice(i + 1);
        }
      });
    };
    lines(child.stderr!, (line) => line.trim() && diagnostics.push(line));
    const port = await new Promise<string>((resolvePort, reject) => {
      let first = true;
      lines(child.stdout!, (line) => {
        if (first) {
          first = false;
          resolvePort(line.trim());
        } else if (line.trim()) diagnostics.push(line);
      });
      child.once("exit", (code) => reject(new Error(`could not read plugin [pulumi-resource-pulumi-nodejs]: exit status ${code}\n${diagnostics.join("\n")}`)));
    });
    const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    // The dynamic provider gets the stack's whole config, decrypted, keys with their namespace,
    // each secure value marked secret (target.go GetPackageConfig: WithSecret(c.Secure())); the
    // plugin client sends it as `args` with secrets kept, and as the deprecated `variables` in clear
    // under pulumi-nodejs:config:<key> (sdk/go/common/resource/plugin/provider_plugin.go Configure).
    // The SDK's dynamic provider unwraps the secrets before its configure (cmd/dynamic-provider).
    const configure = new providerProto.ConfigureRequest();
    configure.setArgs(struct(Object.fromEntries(Object.entries(config.values).map(([key, value]) => [key, config.secure.has(key) ? secret(value) : value]))));
    for (const [key, value] of Object.entries(config.values)) configure.getVariablesMap().set(`pulumi-nodejs:config:${key}`, value);
    configure.setAcceptsecrets(true);
    configure.setAcceptresources(true);
    const answer = await call<providerProto.ConfigureRequest, providerProto.ConfigureResponse>(client, client.configure, configure);
    if (answer.getAcceptsecrets()) throw new Error("the harness models a provider that does not accept secrets, as the dynamic provider answers");
    return { child, client, exited };
  }

  // --- operations ---

  /**
   * `pulumi config set [--secret] KEY VALUE`: written into Pulumi.<stack>.yaml, a secret as
   * `secure: v1:…` under the stack's passphrase secrets manager, whose `encryptionsalt` the first
   * secret writes (pkg/secrets/passphrase/manager.go EditProjectStack).
   */
  configSet(key: string, value: string, options: { secret?: boolean } = {}): void {
    const file = stackConfigFile(this.project, this.options.stack);
    const doc = parseDocument(existsSync(file) ? readFileSync(file, "utf8") : "");
    let stored: unknown = value;
    if (options.secret) {
      const salt = doc.get("encryptionsalt");
      const crypter = typeof salt === "string" ? ConfigCrypter.fromState(passphraseOf(this.options.env), salt) : ConfigCrypter.create(passphraseOf(this.options.env));
      if (typeof salt !== "string") doc.set("encryptionsalt", crypter.state);
      stored = { secure: crypter.encrypt(value) };
    }
    doc.setIn(["config", fullKey(this.project, key)], stored);
    writeFileSync(file, doc.toString());
  }

  preview(options: { refresh?: boolean; expectNoChanges?: boolean } = {}): Promise<OperationResult> {
    return this.deploy({ dryRun: true, ...options });
  }

  up(options: { refresh?: boolean } = {}): Promise<OperationResult> {
    return this.deploy({ dryRun: false, ...options });
  }

  /** `pulumi refresh` (`--preview-only` with previewOnly). */
  async refresh(options: { previewOnly?: boolean } = {}): Promise<OperationResult> {
    return this.withRuntime(async (ctx) => {
      const state = this.loadState();
      const resources = await this.refreshResources(ctx, state.resources);
      if (!options.previewOnly && ctx.errors.length === 0) this.saveState(resources, state.outputs);
      return state.outputs;
    });
  }

  async destroy(): Promise<OperationResult> {
    return this.withRuntime(async (ctx) => {
      const state = this.loadState();
      const kept = await this.deleteResources(ctx, state.resources, state.resources, false);
      this.saveState(kept, {});
      return {};
    });
  }

  /** `pulumi import TYPE NAME ID`: Read with no state. */
  async importResource(type: string, name: string, id: string): Promise<OperationResult> {
    return this.withRuntime(async (ctx) => {
      const request = new providerProto.ReadRequest();
      request.setId(id);
      request.setUrn(this.urn(type, name));
      request.setProperties(struct({}));
      request.setInputs(struct({}));
      try {
        await call<providerProto.ReadRequest, providerProto.ReadResponse>(ctx.plugin.client, ctx.plugin.client.read, request);
      } catch (error: unknown) {
        ctx.errors.push(`importing ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      return {};
    });
  }

  private async withRuntime(run: (ctx: RunContext) => Promise<Props>): Promise<OperationResult> {
    const diagnostics: string[] = [];
    const errors: string[] = [];
    const steps: OperationResult["steps"] = [];
    const server = new grpc.Server();
    const ctx: RunContext = { config: undefined as unknown as StackConfig, diagnostics, errors, steps, plugin: undefined as unknown as Plugin, server, address: "", executor: new Slots(this.parallel), generator: new SerialQueue() };
    server.addService(engineRpc.EngineService, this.engineService(ctx));
    ctx.monitorHandlers = this.monitorHandlers(ctx);
    server.addService(resourceRpc.ResourceMonitorService, ctx.monitorHandlers as unknown as grpc.UntypedServiceImplementation);
    const port = await new Promise<number>((r, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : r(p))));
    ctx.address = `127.0.0.1:${port}`;
    let outputs: Props = {};
    let providerCpuMs: number | undefined;
    try {
      // Decrypted once, before any plugin or program starts (source_eval.go): a wrong passphrase starts nothing.
      ctx.config = stackConfig(this.project, this.options.stack, this.options.env);
      ctx.plugin = await this.startPlugin(ctx.address, diagnostics, ctx.config);
      outputs = await run(ctx);
    } catch (error: unknown) {
      errors.push(error instanceof Error ? error.message : String(error));
    } finally {
      if (ctx.plugin?.child.pid !== undefined) providerCpuMs = groupCpuMs(ctx.plugin.child.pid);
      ctx.plugin?.client.close();
      if (ctx.plugin?.child.pid !== undefined) killGroup(ctx.plugin.child.pid);
      if (ctx.plugin) await ctx.plugin.exited;
      server.forceShutdown();
    }
    return { ok: errors.length === 0, errors, diagnostics, steps, outputs, ...(providerCpuMs === undefined ? {} : { providerCpuMs }) };
  }

  private engineService(ctx: RunContext): grpc.UntypedServiceImplementation {
    let root = "";
    const handlers: Record<string, grpc.handleUnaryCall<any, any>> = {
      log: (call: grpc.ServerUnaryCall<engineProto.LogRequest, Empty>, callback: grpc.sendUnaryData<Empty>) => {
        const severity = ["debug", "info", "warning", "error"][call.request.getSeverity()] ?? "info";
        if (severity !== "debug") ctx.diagnostics.push(`${severity}: ${call.request.getMessage()}`);
        if (severity === "error") ctx.errors.push(call.request.getMessage());
        callback(null, new Empty());
      },
      getRootResource: (_call: unknown, callback: grpc.sendUnaryData<engineProto.GetRootResourceResponse>) => {
        const response = new engineProto.GetRootResourceResponse();
        response.setUrn(root);
        callback(null, response);
      },
      setRootResource: (call: grpc.ServerUnaryCall<engineProto.SetRootResourceRequest, engineProto.SetRootResourceResponse>, callback: grpc.sendUnaryData<engineProto.SetRootResourceResponse>) => {
        root = call.request.getUrn();
        callback(null, new engineProto.SetRootResourceResponse());
      },
    };
    return handlers;
  }

  /** preview / up: run the program, step each registration, then delete what it no longer registers. */
  private deploy(options: { dryRun: boolean; refresh?: boolean; expectNoChanges?: boolean }): Promise<OperationResult> {
    return this.withRuntime(async (ctx) => {
      const state = this.loadState();
      let olds = state.resources;
      if (options.refresh) olds = await this.refreshResources(ctx, olds);
      ctx.olds = new Map(olds.map((r) => [r.urn, r]));
      ctx.news = new Map();
      ctx.dryRun = options.dryRun;
      const exit = await this.runProgram(ctx);
      if (exit !== 0) ctx.errors.push(`the program exited with code ${exit}`);
      if (ctx.errors.length === 0) await (ctx.shutdown ??= this.deleteUnregistered(ctx));
      const registered = [...ctx.news.values()];
      // What a failed run did not reach stays in the state as it was.
      const kept = ctx.errors.length === 0 ? ctx.kept ?? registered : [...registered, ...olds.filter((r) => !ctx.news!.has(r.urn))];
      if (options.expectNoChanges && ctx.steps.some((s) => s.op !== "same")) ctx.errors.push("error: no changes were expected but changes were proposed");
      if (!options.dryRun) this.saveState(kept, ctx.stackOutputs ?? state.outputs);
      return ctx.stackOutputs ?? {};
    });
  }

  private runProgram(ctx: RunContext): Promise<number> {
    const config = ctx.config;
    // The language host hands the program config decrypted, as namespace:config:key (constructConfig),
    // and the keys of the secure values as namespace:key (constructConfigSecretKeys).
    const programConfig = Object.fromEntries(Object.entries(config.values).map(([key, value]) => [key.replace(/^([^:]+):/, "$1:config:"), value]));
    const run = require.resolve("@pulumi/pulumi/cmd/run", { paths: [this.pwd] });
    const args = [
      run,
      "--monitor", ctx.address,
      "--engine", ctx.address,
      "--organization", "organization",
      "--project", this.project.name,
      "--root-directory", this.project.root,
      "--stack", this.options.stack,
      "--pwd", this.pwd,
      ...(ctx.dryRun ? ["--dry-run"] : []),
      "--parallel", String(this.parallel),
      this.main,
    ];
    const child = spawn(process.execPath, args, {
      cwd: this.pwd,
      env: { ...this.options.env, PULUMI_CONFIG: JSON.stringify(programConfig), PULUMI_CONFIG_SECRET_KEYS: JSON.stringify([...config.secure]) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (stream: NodeJS.ReadableStream) => stream.on("data", (chunk: Buffer) => ctx.diagnostics.push(...chunk.toString().split("\n").filter((l) => l.trim())));
    collect(child.stdout!);
    collect(child.stderr!);
    return new Promise((r) => child.once("exit", (code) => r(code ?? 1)));
  }

  private monitorHandlers(ctx: RunContext): Record<string, grpc.handleUnaryCall<any, any>> {
    const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback({ code: grpc.status.UNIMPLEMENTED, details: "not implemented by the harness" } as grpc.ServiceError, null);
    return {
      supportsFeature: (call: grpc.ServerUnaryCall<resourceProto.SupportsFeatureRequest, resourceProto.SupportsFeatureResponse>, callback: grpc.sendUnaryData<resourceProto.SupportsFeatureResponse>) => {
        const response = new resourceProto.SupportsFeatureResponse();
        response.setHassupport(call.request.getId() === "secrets");
        callback(null, response);
      },
      registerResource: (call: grpc.ServerUnaryCall<resourceProto.RegisterResourceRequest, resourceProto.RegisterResourceResponse>, callback: grpc.sendUnaryData<resourceProto.RegisterResourceResponse>) => {
        this.register(ctx, call.request).then(
          (response) => callback(null, response),
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            if (!ctx.errors.includes(message)) ctx.errors.push(message);
            callback({ code: grpc.status.UNKNOWN, details: message } as grpc.ServiceError, null);
          },
        );
      },
      registerResourceOutputs: (call: grpc.ServerUnaryCall<resourceProto.RegisterResourceOutputsRequest, Empty>, callback: grpc.sendUnaryData<Empty>) => {
        ctx.stackOutputs = plain(call.request.getOutputs());
        callback(null, new Empty());
      },
      signalAndWaitForShutdown: (_call: unknown, callback: grpc.sendUnaryData<Empty>) => {
        // The program is done registering: the engine now runs the deletions and answers when they end.
        const work = ctx.errors.length > 0 ? Promise.resolve() : (ctx.shutdown ??= this.deleteUnregistered(ctx));
        void work.then(() => callback(null, new Empty()));
      },
      invoke: unimplemented,
      call: unimplemented,
      readResource: unimplemented,
      registerStackTransform: unimplemented,
      registerStackInvokeTransform: unimplemented,
      registerResourceHook: unimplemented,
      registerErrorHook: unimplemented,
      registerPackage: unimplemented,
      getDeploymentInfo: unimplemented,
    };
  }

  private async register(ctx: RunContext, request: resourceProto.RegisterResourceRequest): Promise<resourceProto.RegisterResourceResponse> {
    const type = request.getType();
    const name = request.getName();
    const urn = this.urn(type, name);
    const response = new resourceProto.RegisterResourceResponse();
    response.setUrn(urn);
    const inputs = plain(request.getObject());
    const old = ctx.olds!.get(urn);
    if (!request.getCustom()) {
      ctx.news!.set(urn, { urn, type, custom: false, id: "", inputs: {}, outputs: {}, dependencies: [], retainOnDelete: false, additionalSecretOutputs: [] });
      ctx.steps.push({ urn, name, op: old ? "same" : "create" });
      return response;
    }
    if (!type.startsWith(DYNAMIC_PREFIX)) throw new Error(`the harness only models dynamic resources (${type})`);
    if (ctx.errors.length > 0) throw new Error(`not registering ${urn}: the deployment failed`);
    const client = ctx.plugin.client;
    const importId = request.getImportid();
    if (importId) {
      // The `import` option: Read with no state, which a dynamic provider cannot serve.
      const read = new providerProto.ReadRequest();
      read.setId(importId);
      read.setUrn(urn);
      read.setProperties(struct({}));
      await call(client, client.read, read);
    }
    const secretInputs = secretKeysOf(inputs);
    const secretOutputs = new Set([...secretInputs, ...request.getAdditionalsecretoutputsList()]);

    // The step generator: Check, then Diff, one registration at a time.
    const decision = await ctx.generator.run(async () => {
      const check = new providerProto.CheckRequest();
      check.setUrn(urn);
      check.setOlds(struct(reveal(old?.inputs ?? {})));
      check.setNews(struct(reveal(inputs)));
      const checked = await call<providerProto.CheckRequest, providerProto.CheckResponse>(client, client.check, check);
      const failures = checked.getFailuresList().map((f) => `${f.getProperty()}: ${f.getReason()}`);
      if (failures.length > 0) throw new Error(`${urn} failed its checks:\n  ${failures.join("\n  ")}`);
      const news = plain(checked.getInputs());
      if (!old) return { op: "create" as const, news };
      const diff = new providerProto.DiffRequest();
      diff.setId(old.id);
      diff.setUrn(urn);
      diff.setOlds(struct(reveal(old.outputs)));
      diff.setOldInputs(struct(reveal(old.inputs)));
      diff.setNews(struct(news));
      const answer = await call<providerProto.DiffRequest, providerProto.DiffResponse>(client, client.diff, diff);
      if (answer.getChanges() !== providerProto.DiffResponse.DiffChanges.DIFF_SOME) return { op: "same" as const, news };
      if (answer.getReplacesList().length > 0) return { op: "replace" as const, news, deleteBeforeReplace: answer.getDeletebeforereplace() };
      return { op: "update" as const, news };
    });
    ctx.steps.push({ urn, name, op: decision.op });

    // The step executor: at most `parallel` provider calls at once.
    const result = await ctx.executor.run(async (): Promise<{ id: string; outputs: Props }> => {
      if (decision.op === "same") return { id: old!.id, outputs: old!.outputs };
      if (ctx.dryRun) return { id: old?.id ?? "", outputs: { ...(old?.outputs ?? {}), ...decision.news } };
      if (decision.op === "update") {
        const update = new providerProto.UpdateRequest();
        update.setId(old!.id);
        update.setUrn(urn);
        update.setOlds(struct(reveal(old!.outputs)));
        update.setOldInputs(struct(reveal(old!.inputs)));
        update.setNews(struct(decision.news));
        const answer = await call<providerProto.UpdateRequest, providerProto.UpdateResponse>(client, client.update, update);
        return { id: old!.id, outputs: plain(answer.getProperties()) };
      }
      if (decision.op === "replace" && old && !old.retainOnDelete) await this.deleteOne(ctx, old);
      const create = new providerProto.CreateRequest();
      create.setUrn(urn);
      create.setProperties(struct(decision.news));
      const answer = await call<providerProto.CreateRequest, providerProto.CreateResponse>(client, client.create, create);
      return { id: answer.getId(), outputs: plain(answer.getProperties()) };
    });
    const entry: StateResource = {
      urn,
      type,
      custom: true,
      id: result.id,
      inputs: markSecret(decision.news, secretInputs),
      outputs: markSecret(result.outputs, secretOutputs),
      dependencies: request.getDependenciesList(),
      retainOnDelete: request.getRetainondelete() === true,
      additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
    };
    ctx.news!.set(urn, entry);
    response.setId(result.id);
    response.setObject(struct(entry.outputs));
    return response;
  }

  private async deleteOne(ctx: RunContext, resource: StateResource): Promise<void> {
    const client = ctx.plugin.client;
    const request = new providerProto.DeleteRequest();
    request.setId(resource.id);
    request.setUrn(resource.urn);
    request.setProperties(struct(reveal(resource.outputs)));
    request.setOldInputs(struct(reveal(resource.inputs)));
    await call(client, client.delete, request);
  }

  /** Deletes `targets` dependents first (parallel within a level); returns what stays in the state. */
  private async deleteResources(ctx: RunContext, all: StateResource[], targets: StateResource[], dryRun: boolean): Promise<StateResource[]> {
    const remaining = new Map(targets.map((r) => [r.urn, r]));
    const failed = new Set<string>();
    while (remaining.size > 0) {
      // Those no remaining resource depends on go first.
      const level = [...remaining.values()].filter((r) => ![...remaining.values()].some((o) => o.dependencies.includes(r.urn)));
      const batch = level.length > 0 ? level : [...remaining.values()];
      await Promise.all(
        batch.map((resource) =>
          ctx.executor.run(async () => {
            remaining.delete(resource.urn);
            const op: StepOp = resource.custom && resource.retainOnDelete ? "retain" : "delete";
            ctx.steps.push({ urn: resource.urn, name: nameOf(resource.urn), op });
            if (dryRun || !resource.custom || resource.retainOnDelete) return;
            try {
              await this.deleteOne(ctx, resource);
            } catch (error: unknown) {
              failed.add(resource.urn);
              ctx.errors.push(`deleting ${resource.urn}: ${error instanceof Error ? error.message : String(error)}`);
            }
          }),
        ),
      );
    }
    const targeted = new Set(targets.map((r) => r.urn));
    return all.filter((r) => !targeted.has(r.urn) || failed.has(r.urn));
  }

  private async deleteUnregistered(ctx: RunContext): Promise<void> {
    const gone = [...ctx.olds!.values()].filter((r) => !ctx.news!.has(r.urn));
    const stays = await this.deleteResources(ctx, gone, gone, ctx.dryRun === true);
    ctx.kept = [...ctx.news!.values(), ...stays];
  }

  /** Read for every custom resource in the state, in parallel; a resource Read reports gone leaves the state. */
  private async refreshResources(ctx: RunContext, resources: StateResource[]): Promise<StateResource[]> {
    const client = ctx.plugin.client;
    const refreshed = await Promise.all(
      resources.map((resource) =>
        ctx.executor.run(async (): Promise<StateResource | undefined> => {
          if (!resource.custom) return resource;
          const request = new providerProto.ReadRequest();
          request.setId(resource.id);
          request.setUrn(resource.urn);
          request.setProperties(struct(reveal(resource.outputs)));
          request.setInputs(struct(reveal(resource.inputs)));
          try {
            const answer = await call<providerProto.ReadRequest, providerProto.ReadResponse>(client, client.read, request);
            if (answer.getId() === "") {
              ctx.steps.push({ urn: resource.urn, name: nameOf(resource.urn), op: "gone" });
              return undefined;
            }
            const outputs = markSecret(plain(answer.getProperties()), new Set([...secretKeysOf(resource.outputs), ...resource.additionalSecretOutputs]));
            const changed = JSON.stringify(reveal(outputs)) !== JSON.stringify(reveal(resource.outputs));
            ctx.steps.push({ urn: resource.urn, name: nameOf(resource.urn), op: changed ? "refresh" : "same" });
            return { ...resource, id: answer.getId(), outputs };
          } catch (error: unknown) {
            ctx.errors.push(`refreshing ${resource.urn}: ${error instanceof Error ? error.message : String(error)}`);
            return resource;
          }
        }),
      ),
    );
    return refreshed.filter((r): r is StateResource => r !== undefined);
  }
}

interface RunContext {
  /** The stack's config as the engine decrypted it for this operation. */
  config: StackConfig;
  diagnostics: string[];
  errors: string[];
  steps: OperationResult["steps"];
  plugin: Plugin;
  server: grpc.Server;
  address: string;
  executor: Slots;
  generator: SerialQueue;
  monitorHandlers?: Record<string, grpc.handleUnaryCall<any, any>>;
  olds?: Map<string, StateResource>;
  news?: Map<string, StateResource>;
  dryRun?: boolean;
  stackOutputs?: Props;
  shutdown?: Promise<void>;
  kept?: StateResource[];
}
