import { relative, sep } from "node:path";
import type { Diagnostic, DiagnosticCode } from "./diagnostics.js";

// `validate --format sarif`: the diagnostics as a SARIF 2.1.0 log (OASIS SARIF v2.1.0, the schema
// vendored in test/fixtures/sarif-schema-2.1.0.json), for GitHub code scanning: the errors then
// stay on the pull request's Files tab and in the Security tab. Values from the file reach SARIF
// only as JSON strings; the secret-like field's value is never in a Diagnostic to begin with.

/** What each rule checks, shown by code scanning as the rule's help (docs/cli.md has the same table). */
const RULES: Record<DiagnosticCode, string> = {
  "file-unreadable": "The file is missing or cannot be read. Check the path given with -f (default ./tokens.yaml).",
  "file-too-large": "The file is above 8 MiB: far beyond one tenant's token inventory. Check that the right file is named.",
  empty: "The file holds nothing. Start from the example: `version: 1` and a `tokens:` list.",
  "not-a-file": "The path is a directory, a FIFO, a device or a socket; only a regular file is read.",
  "outside-repository": "The tokens file, or a seed or PGP key file it names, resolves (through a link or ../) outside the repository; it is not read. Keep them inside, or set ENTRA_TOKENS_ALLOW_SEEDS_OUTSIDE_REPO=true for seed files kept elsewhere on purpose.",
  "invalid-utf8": "A byte that is not UTF-8 (e.g. the file was saved as Latin-1). Save it as UTF-8.",
  "control-character": "A C0/C1 control character (NUL, ESC, BEL…) anywhere in the file, comments included. Remove it.",
  "bidi-control": "A bidirectional control (right-to-left override…) that makes the text read differently than it runs (Trojan Source). Remove it.",
  "invisible-character": "A zero-width or invisible character. Remove it.",
  "upn-not-ascii": "A UPN with a non-ASCII character, e.g. a Cyrillic look-alike; Entra UPNs are ASCII.",
  "unknown-tag": "A YAML tag other than the core ones (!!js/function, !!binary, !local…). Write the plain value.",
  "multiple-documents": "A second YAML document (---); tokens.yaml is one document.",
  "yaml-syntax": "The YAML is broken at this position.",
  "tab-indent": "A tab used for indentation; YAML forbids it. Indent with spaces.",
  "duplicate-key": "The same key twice in one mapping; YAML would silently keep only one.",
  "yaml-undefined-alias": "*name with no &name defined before it.",
  "yaml-aliases": "More than 100 alias expansions (an alias bomb). Write values out, or use `defaults`.",
  "yaml-too-deep": "Lists and mappings nested more than 64 levels.",
  "yaml-too-many-values": "More than 500,000 YAML values (about 50,000 tokens).",
  "unknown-field": "A field the schema does not know (often a typo). See schemas/tokens.schema.json.",
  "missing-field": "A field the schema requires is missing.",
  "wrong-type": "A value of the wrong type, e.g. `serial: 00123` unquoted (YAML reads a number). Quote serials.",
  schema: "The file does not match schemas/tokens.schema.json.",
  secret: "A secret-like field (secretKey, seed, password…). Secrets belong in encrypted seed files, never in tokens.yaml; the value is never echoed.",
  "upn-state": "`upn` is missing for an assigned or activated token, or present on an available one.",
  "upn-syntax": "The UPN is not of the form name@domain.tld.",
  "duplicate-serial": "A serial declared twice (case-insensitive); serials are unique in a tenant.",
  "too-many-tokens": "A user would hold more than 5 tokens, Entra's limit per user.",
  "missing-attribute": "No manufacturer or model from the token or `defaults`; Graph requires both.",
  "seed-mismatch": "The interval or hash differs from what the token's seed file states; the seed file is the token's truth.",
  "seed-file": "A seed file tokens.yaml names cannot be read (too large, malformed or unsafe), so the tokens could not be checked against it.",
  "plaintext-seeds": "A `seeds:` entry names nothing that opens its file, so its seeds would be in git in clear. Use `entra-tokens seeds import`, or mark made-up seeds `allowPlaintext: true`.",
};

const CODES = Object.keys(RULES) as DiagnosticCode[];

/** A path as code scanning wants it: relative to the repository (the working directory), with `/`. */
function artifactUri(file: string, root: string): string {
  return relative(root, file).split(sep).join("/");
}

export function sarifLog(diagnostics: readonly Diagnostic[], options: { version: string; root: string }): object {
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "entra-tokens",
            version: options.version,
            rules: CODES.map((code) => ({
              id: code,
              shortDescription: { text: RULES[code].split(". ")[0]!.replace(/\.$/, "") },
              fullDescription: { text: RULES[code] },
              help: { text: `${RULES[code]} Every code: docs/cli.md, "Validating".` },
              defaultConfiguration: { level: "error" },
            })),
          },
        },
        // Our columns count UTF-16 code units (JavaScript string positions), SARIF's default.
        columnKind: "utf16CodeUnits",
        results: diagnostics.map((d) => ({
          ruleId: d.code,
          ruleIndex: CODES.indexOf(d.code),
          level: "error",
          message: { text: `${d.message}${d.value === undefined ? "" : ` (found: ${d.value})`}. Fix: ${d.fix}` },
          locations: [{ physicalLocation: { artifactLocation: { uri: artifactUri(d.file, options.root) }, region: { startLine: Math.max(1, d.line), startColumn: Math.max(1, d.column) } } }],
        })),
      },
    ],
  };
}
