import { dirname, relative, resolve } from "node:path";
import type { ErrorObject } from "ajv/dist/2020.js";
import type { Document, Node, Pair } from "yaml";
import { yamlLibrary } from "./yaml-library.js";
import { schemaValidators } from "./schema-validator.js";
import { plaintextSeeds } from "./seed-hygiene.js";
import {
  MAX_TOKENS_PER_USER,
  type Desired,
  type DesiredToken,
  type HashFunction,
  type Policy,
  type SeedFileRef,
  type SelfServicePolicy,
  type TimeInterval,
  type TokenState,
  type UnmanagedPolicy,
} from "../model/index.js";
import { escapeTerminal } from "../safety/escape.js";
import { readRegularFile } from "../safety/regular-file.js";
import { repositoryRoot, resolvesOutside } from "../safety/repository.js";
import type { Diagnostic, DiagnosticCode } from "./diagnostics.js";
import { fastRead } from "./fast-read.js";
import { decodeUtf8, hostileDocumentDiagnostics, hostileTextDiagnostics, rawCharacterDiagnostics } from "./hostile.js";

/** Larger files are refused before parsing: ~50,000 tokens fit (see MAX_YAML_VALUES), an accidental log dump does not. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** YAML aliases allowed before we call it an alias bomb (a normal file needs a handful at most). */
const MAX_ALIASES = 100;
const MAX_VALUE_CHARS = 80;

/** tokens.yaml as the schema admits it; only ever produced by the ajv type guard. */
interface AttributesInFile {
  manufacturer?: string;
  model?: string;
  timeIntervalInSeconds?: TimeInterval;
  hashFunction?: HashFunction;
}
interface TokenInFile extends AttributesInFile {
  serial: string;
  state: TokenState;
  upn?: string;
  returnedBy?: string;
  displayName?: string;
}
interface TokensFile {
  version: 1;
  tenant?: { id: string; name?: string };
  seeds?: (Omit<SeedFileRef, "path"> & { file: string })[];
  defaults?: AttributesInFile;
  policy?: { unmanaged?: UnmanagedPolicy; maxDeletes?: number; selfService?: SelfServicePolicy; staleAfterDays?: number };
  tokens: TokenInFile[];
}

const { file: validateSchema, token: validateToken } = schemaValidators<TokensFile, TokenInFile>();

export type LoadResult = { ok: true; desired: Desired } | { ok: false; diagnostics: Diagnostic[] };

const SECRET_FIELD = /secret|seed|passw|passphrase|otpauth|^key$/i;
const SECRET_FIX =
  "remove it: tokens.yaml is reviewed in pull requests and must hold no secrets. Keep seeds in an " +
  "encrypted seed file (see docs/cli.md, 'Seed files')";

/** The variable that lets tokens.yaml name seed files outside its repository (docs/security.md). */
export const ALLOW_SEEDS_OUTSIDE_REPO_ENV = "ENTRA_TOKENS_ALLOW_SEEDS_OUTSIDE_REPO";

export interface LoadOptions {
  /** Seed and PGP key files may resolve outside the repository (the owner keeps them elsewhere on purpose). */
  allowSeedsOutsideRepository?: boolean;
}

/**
 * Reads and validates a tokens.yaml file. The only I/O of this module. The file and the seed files
 * it names must resolve inside its repository (repositoryRoot): a branch's links cannot make us
 * read, quote or edit files elsewhere.
 */
export async function loadDesired(file: string, options: LoadOptions = {}): Promise<LoadResult> {
  const at = { file, line: 1, column: 1 };
  const root = await repositoryRoot(file);
  const realFile = await resolvesOutside(file, root);
  if (realFile !== undefined) return { ok: false, diagnostics: [outsideRepository(at, "the tokens file", file, realFile, root, "name a tokens.yaml inside the repository; a folder on the way is a link that leads out of it")] };
  const read = await readRegularFile(file, MAX_FILE_BYTES);
  if (!read.ok) return { ok: false, diagnostics: [unreadable(at, read)] };
  const decoded = decodeUtf8(read.bytes, file);
  if (!decoded.ok) return { ok: false, diagnostics: [decoded.diagnostic] };
  const parsed = parseDesired(decoded.text, file);
  if (!parsed.ok || options.allowSeedsOutsideRepository === true) return parsed;
  const seedsAt = { file, line: lineOf(decoded.text, /^seeds\s*:/m), column: 1 };
  const diagnostics: Diagnostic[] = [];
  for (const ref of parsed.desired.seedFiles) {
    for (const path of [ref.path, ...(ref.pgpKeyFile === undefined ? [] : [ref.pgpKeyFile])]) {
      const real = await resolvesOutside(path, root);
      const named = relative(dirname(resolve(file)), path);
      const fix = `keep seed files inside the repository (encrypted, e.g. seeds/…), or set ${ALLOW_SEEDS_OUTSIDE_REPO_ENV}=true where they live elsewhere on purpose`;
      if (real !== undefined) diagnostics.push(outsideRepository(seedsAt, "the seed file", named, real, root, fix));
    }
  }
  return diagnostics.length > 0 ? { ok: false, diagnostics } : parsed;
}

function outsideRepository(at: { file: string; line: number; column: number }, what: string, named: string, real: string, root: string, fix: string): Diagnostic {
  const shown = (path: string) => escapeTerminal(path);
  return { ...at, code: "outside-repository", message: `${what} ${shown(named)} resolves to ${shown(real)}, outside the repository ${shown(root)}; it was not read`, fix };
}

function lineOf(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  return match === null ? 1 : text.slice(0, match.index).split("\n").length;
}

function unreadable(at: { file: string; line: number; column: number }, read: Extract<Awaited<ReturnType<typeof readRegularFile>>, { ok: false }>): Diagnostic {
  if (read.reason === "too-large") return tooLarge(at, read.size ?? 0);
  if (read.reason === "not-regular") {
    return { ...at, code: "not-a-file", message: `${at.file} is ${read.detail}, not a regular file; it was not read`, fix: "name the tokens.yaml file itself (default ./tokens.yaml)" };
  }
  return {
    ...at,
    code: "file-unreadable",
    message: `cannot read ${at.file} (${read.detail})`,
    fix: "check the path and that the file is readable; the default is ./tokens.yaml",
  };
}

function tooLarge(at: { file: string; line: number; column: number }, bytes: number): Diagnostic {
  return {
    ...at,
    code: "file-too-large",
    message: `file is ${(bytes / 1024 / 1024).toFixed(1)} MiB, above the ${MAX_FILE_BYTES / 1024 / 1024} MiB limit`,
    fix: "check that this is really tokens.yaml; a token inventory of this size is far beyond one tenant's needs",
  };
}

/** Offset → 1-based line and column, as the yaml library's LineCounter gives them, without loading it. */
function lineLocator(text: string, file: string): (offset: number) => { file: string; line: number; column: number } {
  // Built on first use: a valid file read by the fast reader never needs it.
  let starts: number[] | undefined;
  return (offset) => {
    if (starts === undefined) {
      starts = [0];
      for (let at = text.indexOf("\n"); at >= 0; at = text.indexOf("\n", at + 1)) starts.push(at + 1);
    }
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (starts[middle]! <= offset) low = middle;
      else high = middle - 1;
    }
    return { file, line: low + 1, column: offset - starts[low]! + 1 };
  };
}

/** Parses and validates tokens.yaml text. Pure: `file` only names the source in diagnostics. */
export function parseDesired(rawText: string, file: string): LoadResult {
  if (Buffer.byteLength(rawText, "utf8") > MAX_FILE_BYTES) {
    return { ok: false, diagnostics: [tooLarge({ file, line: 1, column: 1 }, Buffer.byteLength(rawText, "utf8"))] };
  }
  // A BOM is invisible in editors; drop it so that columns match what the author sees.
  const text = rawText.startsWith("\uFEFF") ? rawText.slice(1) : rawText;
  const locate = lineLocator(text, file);
  // A plain, valid file needs neither the full reader nor its value cap (its text is checked first).
  const fast = rawCharacterDiagnostics(text, locate).length === 0 ? fastRead(text, file) : undefined;
  const admitted = fast && admittedBySchema(fast.data);
  if (fast && admitted) {
    const at = (path: readonly (string | number)[]) => (path[0] === "tokens" && typeof path[1] === "number" ? fast.tokenStarts[path[1]] : undefined) ?? { file, line: 1, column: 1 };
    const result = semanticChecks(admitted, file, { at });
    if (result.ok) return result;
  }
  const hostileText = hostileTextDiagnostics(text, locate);
  if (hostileText.length > 0) return { ok: false, diagnostics: hostileText };
  const doc = yamlLibrary().parseDocument(text, { prettyErrors: false, uniqueKeys: true });

  if (doc.errors.length > 0) {
    return { ok: false, diagnostics: doc.errors.map((e) => yamlDiagnostic(e.code, e.message, locate(e.pos[0]))) };
  }
  if (doc.contents === null) {
    return {
      ok: false,
      diagnostics: [
        {
          ...locate(0),
          code: "empty",
          message: "file is empty",
          fix: "start from the example tokens.yaml in the repository: `version: 1` and a `tokens:` list",
        },
      ],
    };
  }

  const hostileDocument = hostileDocumentDiagnostics(doc, text, locate, MAX_ALIASES);
  if (hostileDocument.length > 0) return { ok: false, diagnostics: hostileDocument };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch {
    return {
      ok: false,
      diagnostics: [
        {
          ...locate(0),
          code: "yaml-aliases",
          message: `the file expands YAML aliases more than ${MAX_ALIASES} times (an alias bomb)`,
          fix: "write the values out instead of using &anchors and *aliases; shared attributes belong in `defaults`",
        },
      ],
    };
  }

  const source = new SourceMap(doc, locate);
  const invalidTokens = tokenSchemaErrors(data);
  if (invalidTokens || !validateSchema(data)) {
    const errors = (invalidTokens ?? validateSchema.errors ?? []).filter((e) => e.keyword !== "if");
    return { ok: false, diagnostics: [...errors.map((e) => schemaDiagnostic(e, source, data)), ...checksOfValidTokens(data, file, source)] };
  }
  return semanticChecks(data, file, source);
}

/**
 * The file as the schema admits it, or undefined at the first token it refuses: the fast path
 * needs no errors (a refused file goes to the full reader, which lists them), and one pass over
 * the tokens is enough. The same checks as the whole-file validator: the schema asks nothing of
 * `tokens` but that it be a list of valid tokens.
 */
function admittedBySchema(data: unknown): TokensFile | undefined {
  if (typeof data !== "object" || data === null || !("tokens" in data) || !Array.isArray(data.tokens)) return validateSchema(data) ? data : undefined;
  const listed: unknown[] = data.tokens;
  const tokens: TokenInFile[] = [];
  for (const token of listed) {
    if (!validateToken(token)) return undefined;
    tokens.push(token);
  }
  const rest = { ...data, tokens: [] };
  return validateSchema(rest) ? { ...rest, tokens } : undefined;
}

/**
 * A document already parsed, such as the Pulumi provider's inputs: a valid one skips the reader
 * (once per call, thousands of times in a run); anything else, or any character beyond printable
 * ASCII (the full reader's character and look-alike checks work on its document), gets exactly
 * the diagnostics `parseDesired` gives for its JSON text.
 */
export function checkDesiredData(data: unknown, file: string): LoadResult {
  const text = JSON.stringify(data);
  // No backslash either: JSON.stringify writes every control character as an escape (`\u001b`,
  // `\t`), printable ASCII in the text; the full reader refuses them.
  const admitted = /^[\x20-\x5B\x5D-\x7E]*$/.test(text) ? admittedBySchema(data) : undefined;
  if (admitted) {
    const result = semanticChecks(admitted, file, { at: () => ({ file, line: 1, column: 1 }) });
    if (result.ok) return result;
  }
  return parseDesired(text, file);
}

/**
 * Schema errors of a file whose tokens are invalid, found token by token. ajv with allErrors
 * concatenates its error list once per failing array item, so 100,000 invalid tokens checked in
 * one call take minutes (quadratic); checked one by one they take a second. Undefined when every
 * token passes (the whole-file check then runs as usual).
 */
function tokenSchemaErrors(data: unknown): ErrorObject[] | undefined {
  if (!validateToken || typeof data !== "object" || data === null || !("tokens" in data) || !Array.isArray(data.tokens)) return undefined;
  const errors: ErrorObject[] = [];
  data.tokens.forEach((token: unknown, index: number) => {
    if (validateToken(token)) return;
    for (const error of validateToken.errors ?? []) errors.push({ ...error, instancePath: `/tokens/${index}${error.instancePath}` });
  });
  if (errors.length === 0) return undefined;
  // The rest of the file, checked without its tokens, reports first, as the whole-file check would.
  validateSchema({ ...data, tokens: [] });
  return [...(validateSchema.errors ?? []), ...errors];
}

/**
 * The rule checks (duplicate serials, 5 per user…) of the tokens that pass the schema, in a file
 * whose other tokens do not: one round of `validate` shows every error, not the schema's first.
 * Only when everything outside `tokens` is valid, so the rules read well-formed defaults and seeds.
 */
function checksOfValidTokens(data: unknown, file: string, source: SourceMap): Diagnostic[] {
  if (!validateToken || typeof data !== "object" || data === null || !("tokens" in data) || !Array.isArray(data.tokens)) return [];
  const kept: number[] = [];
  const tokens = data.tokens.filter((token: unknown, index: number) => validateToken(token) && kept.push(index) > 0);
  const subset = { ...data, tokens };
  if (kept.length === 0 || !validateSchema(subset)) return [];
  // Positions are those of the file as written, not of the subset.
  const at = (path: readonly (string | number)[]) => source.at(path[0] === "tokens" && typeof path[1] === "number" ? ["tokens", kept[path[1]] ?? path[1], ...path.slice(2)] : path);
  const checked = semanticChecks(subset, file, { at });
  return checked.ok ? [] : checked.diagnostics;
}

function yamlDiagnostic(code: string, message: string, at: ReturnType<SourceMap["locate"]>): Diagnostic {
  const firstLine = message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? message;
  switch (code) {
    case "TAB_AS_INDENT":
      return { ...at, code: "tab-indent", message: "a tab is used for indentation", fix: "indent with spaces; YAML forbids tabs there" };
    case "MULTIPLE_DOCS":
      return { ...at, code: "multiple-documents", message: "a second YAML document starts here (after ---); tokens.yaml is one document", fix: "remove the `---` line and merge the two parts, or keep the other part in its own file" };
    case "RESOURCE_EXHAUSTION":
      return { ...at, code: "yaml-too-deep", message: "the YAML nests too deeply to be read", fix: "this is not a tokens.yaml: check that the right file is named" };
    case "DUPLICATE_KEY":
      return {
        ...at,
        code: "duplicate-key",
        message: "the same key appears twice in one mapping; YAML would silently keep only one",
        fix: "remove or rename one of them",
      };
    default:
      return { ...at, code: "yaml-syntax", message: `YAML syntax: ${firstLine}`, fix: "correct the YAML at this position" };
  }
}

/** Finds where a JSON path (from ajv or our own checks) stands in the YAML source. */
class SourceMap {
  constructor(
    private readonly doc: Document,
    readonly locate: (offset: number) => { file: string; line: number; column: number },
  ) {}

  node(path: readonly (string | number)[]): Node | undefined {
    const found: unknown = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    return isNodeWithRange(found) ? found : undefined;
  }

  /** The key of `name` inside the mapping at `path`, or the mapping itself. */
  keyAt(path: readonly (string | number)[], name: string): { file: string; line: number; column: number } {
    const parent = this.node(path);
    if (yamlLibrary().isMap(parent)) {
      const pair = parent.items.find((p: Pair) => yamlLibrary().isScalar(p.key) && String(p.key.value) === name);
      const range = isNodeWithRange(pair?.key) ? pair.key.range : undefined;
      if (range) return this.locate(range[0]);
    }
    return this.at(path);
  }

  at(path: readonly (string | number)[]): { file: string; line: number; column: number } {
    // Walk up until a node with a position is found (a missing leaf reports at its parent).
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.node(path.slice(0, depth));
      if (node?.range) return this.locate(node.range[0]);
    }
    return this.locate(0);
  }

  /** The text as the author wrote it, shortened for messages. */
  sourceText(path: readonly (string | number)[]): string | undefined {
    const node = this.node(path);
    if (!node?.range) return undefined;
    const text = yamlLibrary().isScalar(node) && node.source !== undefined && typeof node.value !== "string"
      ? String(node.source)
      : yamlLibrary().isScalar(node) ? JSON.stringify(node.value) : yamlLibrary().isSeq(node) ? "a list" : yamlLibrary().isMap(node) ? "a mapping" : undefined;
    if (text === undefined) return undefined;
    return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
  }

  /** True when YAML turned unquoted text (00123, 1e5, yes) into a non-string scalar. */
  isUnquotedNonString(path: readonly (string | number)[]): boolean {
    const node = this.node(path);
    return yamlLibrary().isScalar(node) && typeof node.value !== "string" && node.value !== null;
  }

  rawSource(path: readonly (string | number)[]): string | undefined {
    const node = this.node(path);
    return yamlLibrary().isScalar(node) && typeof node.source === "string" ? node.source : undefined;
  }
}

function isNodeWithRange(value: unknown): value is Node {
  return typeof value === "object" && value !== null && "range" in value && Array.isArray(value.range);
}

function parsePointer(pointer: string): (string | number)[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function describePath(path: readonly (string | number)[], data: unknown): string {
  if (path.length === 0) return "the file";
  if (path[0] === "tokens" && typeof path[1] === "number") {
    const serial = tokenSerial(data, path[1]);
    const where = serial === undefined ? `token #${path[1] + 1}` : `token ${JSON.stringify(serial)}`;
    return path.length > 2 ? `${where}, field ${path.slice(2).join(".")}` : where;
  }
  return `field ${path.join(".")}`;
}

function tokenSerial(data: unknown, index: number): string | undefined {
  if (typeof data !== "object" || data === null || !("tokens" in data) || !Array.isArray(data.tokens)) return undefined;
  const token: unknown = data.tokens[index];
  if (typeof token !== "object" || token === null || !("serial" in token)) return undefined;
  return typeof token.serial === "string" ? token.serial : undefined;
}

function schemaDiagnostic(error: ErrorObject, source: SourceMap, data: unknown): Diagnostic {
  const path = parsePointer(error.instancePath);
  const what = describePath(path, data);
  const make = (code: DiagnosticCode, message: string, fix: string, at = source.at(path), showValue = true): Diagnostic => {
    const value = showValue ? source.sourceText(path) : undefined;
    return value === undefined ? { ...at, code, message, fix } : { ...at, code, message, fix, value };
  };

  switch (error.keyword) {
    case "additionalProperties": {
      const name = String(error.params["additionalProperty"]);
      const at = source.keyAt(path, name);
      if (SECRET_FIELD.test(name)) {
        // Never echo the value: it may be a live seed.
        return { ...at, code: "secret", message: `${what} has a secret field ${JSON.stringify(name)}`, fix: SECRET_FIX };
      }
      const allowed = allowedFields(error.parentSchema);
      return {
        ...at,
        code: "unknown-field",
        message: `${what} has an unknown field ${JSON.stringify(name)}`,
        fix: allowed.length > 0 ? `use one of: ${allowed.join(", ")} (check the spelling)` : "remove it",
      };
    }
    case "required": {
      const missing = String(error.params["missingProperty"]);
      if (missing === "upn") {
        return make("upn-state", `${what} is ${stateOf(source, path)} but has no upn`, "add `upn: user@domain`, or set `state: available` to put it in the self-service pool", source.at(path), false);
      }
      const fix = missing === "version" ? "add `version: 1` at the top of the file" : `add \`${missing}:\``;
      return make("missing-field", `${what} is missing the required field ${JSON.stringify(missing)}`, fix, source.at(path), false);
    }
    case "false schema":
      if (path[path.length - 1] === "returnedBy") {
        return make("schema", `${what}: returnedBy is for pool tokens (state available) only`, "remove `returnedBy`", source.keyAt(path.slice(0, -1), "returnedBy"));
      }
      // Otherwise only `upn` under state available or retired is schema-false.
      return make("upn-state", `${what}: a token with state ${stateOf(source, path.slice(0, -1))} must not name a user`, "remove `upn`, or set `state: assigned` (the user activates) or `state: activated` (we activate)", source.keyAt(path.slice(0, -1), "upn"));
    case "type": {
      const expected = String(error.params["type"]);
      if (expected === "string" && source.isUnquotedNonString(path)) {
        const raw = source.rawSource(path) ?? "";
        const written = source.sourceText(path) ?? "";
        return make("wrong-type", `${what} must be text, but YAML reads ${written} as a ${typeof rawValue(source, path)}`, `quote it: ${String(path[path.length - 1])}: "${raw}"`);
      }
      if (path.length === 0) {
        return make("schema", "tokens.yaml must be a mapping with `version` and `tokens`", "start from the example tokens.yaml in the repository");
      }
      return make("wrong-type", `${what} must be ${article(expected)}`, `write ${article(expected)} here`);
    }
    case "enum": {
      const allowed = Array.isArray(error.params["allowedValues"]) ? error.params["allowedValues"].map(String) : [];
      return make("schema", `${what} must be one of ${allowed.join(", ")}`, `use one of: ${allowed.join(", ")}`);
    }
    case "const":
      return make("schema", `${what} must be ${JSON.stringify(error.params["allowedValue"])}`, `write ${JSON.stringify(error.params["allowedValue"])}; this version of entra-tokens reads format version 1`);
    case "pattern": {
      const field = path[path.length - 1];
      if (field === "upn" || field === "returnedBy") {
        return make("upn-syntax", `${what} is not a user principal name`, "write it as name@domain.tld, without spaces, e.g. alice@contoso.com");
      }
      if (path[0] === "tenant" && field === "id") {
        return make("schema", "tenant.id is not a tenant id (a GUID)", "copy the Tenant ID from the Entra admin center (Overview), e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47");
      }
      if (path[0] === "tenant" && field === "name") {
        return make("schema", "tenant.name must be lower-case letters, digits and dashes (at most 39), starting with a letter or digit", "write e.g. `name: contoso`");
      }
      return make("schema", `${what} must not start or end with spaces`, "remove the surrounding spaces");
    }
    default:
      return make("schema", `${what} ${error.message ?? "is invalid"}`, "see schemas/tokens.schema.json for what is allowed here");
  }
}

function rawValue(source: SourceMap, path: readonly (string | number)[]): unknown {
  const node = source.node(path);
  return yamlLibrary().isScalar(node) ? node.value : undefined;
}

function stateOf(source: SourceMap, path: readonly (string | number)[]): string {
  const state = rawValue(source, [...path, "state"]);
  return typeof state === "string" ? state : "assigned";
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function allowedFields(parentSchema: unknown): string[] {
  if (typeof parentSchema !== "object" || parentSchema === null || !("properties" in parentSchema)) return [];
  const properties = parentSchema.properties;
  return typeof properties === "object" && properties !== null ? Object.keys(properties) : [];
}

function missingAttribute(token: TokenInFile, field: "manufacturer" | "model", location: { file: string; line: number; column: number }): Diagnostic {
  return {
    ...location,
    code: "missing-attribute",
    message: `token ${JSON.stringify(token.serial)} has no ${field}; Graph requires one`,
    fix: `set \`defaults.${field}\` for all tokens, or \`${field}:\` on this token`,
  };
}

/**
 * Whether a serial is declared twice or a user would hold more than Entra allows: one set look-up
 * per token, where keeping every serial's and user's lines for the messages takes four.
 */
function anyRepeats(tokens: readonly TokenInFile[]): boolean {
  const serials = new Set<string>();
  const users = new Set<string>();
  // Tokens of each user who holds more than one.
  const heldBy = new Map<string, number>();
  for (const token of tokens) {
    const serialCount = serials.size;
    if (serials.add(token.serial.toUpperCase()).size === serialCount) return true;
    if (token.upn === undefined) continue;
    const user = token.upn.toLowerCase();
    const userCount = users.size;
    if (users.add(user).size > userCount) continue;
    const held = (heldBy.get(user) ?? 1) + 1;
    if (held > MAX_TOKENS_PER_USER) return true;
    heldBy.set(user, held);
  }
  return false;
}

function semanticChecks(file: TokensFile, fileName: string, source: Pick<SourceMap, "at">): LoadResult {
  const diagnostics: Diagnostic[] = [];
  const defaults = file.defaults ?? {};
  const repeats = anyRepeats(file.tokens);
  const firstBySerial = new Map<string, number>();
  // The lines of each user's tokens: one line as a number, since most users hold one token.
  const linesByUser = new Map<string, number | number[]>();
  const tokens: DesiredToken[] = [];
  const defaultInterval = defaults.timeIntervalInSeconds ?? 30;
  const defaultHash = defaults.hashFunction ?? "hmacsha1";
  for (const diagnostic of plaintextSeeds(file.seeds ?? [], (index) => source.at(["seeds", index]))) diagnostics.push(diagnostic);

  for (let index = 0; index < file.tokens.length; index++) {
    const token = file.tokens[index]!;
    const location = source.at(["tokens", index]);
    // Checked line by line only where the first pass found a serial twice or a user over the limit.
    if (repeats) {
      const serialKey = token.serial.toUpperCase();
      const first = firstBySerial.get(serialKey);
      if (first === undefined) {
        firstBySerial.set(serialKey, location.line);
      } else {
        diagnostics.push({
          ...source.at(["tokens", index, "serial"]),
          code: "duplicate-serial",
          message: `serial ${JSON.stringify(token.serial)} is declared again (first at line ${first}); serials are unique in a tenant`,
          value: token.serial,
          fix: "remove one of the two entries, or correct the serial printed on the token",
        });
      }
      if (token.upn !== undefined) {
        const userKey = token.upn.toLowerCase();
        const held = linesByUser.get(userKey);
        if (held === undefined) {
          linesByUser.set(userKey, location.line);
        } else {
          const lines = typeof held === "number" ? [held] : held;
          lines.push(location.line);
          if (typeof held === "number") linesByUser.set(userKey, lines);
          if (lines.length === MAX_TOKENS_PER_USER + 1) {
            diagnostics.push({
              ...source.at(["tokens", index, "upn"]),
              code: "too-many-tokens",
              message: `${token.upn} would hold more than ${MAX_TOKENS_PER_USER} tokens (lines ${lines.join(", ")}); Entra allows ${MAX_TOKENS_PER_USER} per user`,
              value: token.upn,
              fix: "give this token to someone else or set it `state: available`",
            });
          }
        }
      }
    }
    const manufacturer = token.manufacturer ?? defaults.manufacturer;
    const model = token.model ?? defaults.model;
    if (manufacturer === undefined) diagnostics.push(missingAttribute(token, "manufacturer", location));
    if (model === undefined) diagnostics.push(missingAttribute(token, "model", location));
    if (manufacturer === undefined || model === undefined) continue;
    const timeIntervalInSeconds = token.timeIntervalInSeconds ?? defaultInterval;
    const hashFunction = token.hashFunction ?? defaultHash;
    const { serial, state, upn } = token;
    // Literals of one shape for the common tokens (no spread per token); the same fields, in the same order.
    tokens.push(
      token.returnedBy === undefined && token.displayName === undefined
        ? upn === undefined
          ? { serial, state, manufacturer, model, timeIntervalInSeconds, hashFunction, location }
          : { serial, state, upn, manufacturer, model, timeIntervalInSeconds, hashFunction, location }
        : {
            serial,
            state,
            ...(upn === undefined ? {} : { upn }),
            ...(token.returnedBy === undefined ? {} : { returnedBy: token.returnedBy }),
            ...(token.displayName === undefined ? {} : { displayName: token.displayName }),
            manufacturer,
            model,
            timeIntervalInSeconds,
            hashFunction,
            location,
          },
    );
  }

  if (diagnostics.length > 0) return { ok: false, diagnostics };
  const policy: Policy = { unmanaged: file.policy?.unmanaged ?? "report", maxDeletes: file.policy?.maxDeletes ?? 0, selfService: file.policy?.selfService ?? "keep", ...(file.policy?.staleAfterDays === undefined ? {} : { staleAfterDays: file.policy.staleAfterDays }) };
  const seedFiles = (file.seeds ?? []).map(({ file: seedFile, pgpKeyFile, ...rest }) => ({
    ...rest,
    path: resolve(dirname(fileName), seedFile),
    ...(pgpKeyFile === undefined ? {} : { pgpKeyFile: resolve(dirname(fileName), pgpKeyFile) }),
  }));
  const tenant = file.tenant === undefined ? undefined : { id: file.tenant.id.toLowerCase(), ...(file.tenant.name === undefined ? {} : { name: file.tenant.name }) };
  return { ok: true, desired: { file: fileName, version: 1, ...(tenant ? { tenant } : {}), policy, seedFiles, tokens } };
}
