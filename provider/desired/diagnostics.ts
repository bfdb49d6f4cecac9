import type { SourceLocation } from "../model/index.js";

/** Every kind of mistake tokens.yaml can hold; one code per kind so CI logs can be grepped. */
export type DiagnosticCode =
  | "file-unreadable"
  | "file-too-large"
  | "empty"
  | "yaml-syntax"
  | "tab-indent"
  | "duplicate-key"
  | "yaml-aliases"
  | "schema"
  | "unknown-field"
  | "missing-field"
  | "wrong-type"
  | "secret"
  | "upn-state"
  | "upn-syntax"
  | "duplicate-serial"
  | "too-many-tokens"
  | "missing-attribute"
  | "seed-mismatch"
  | "seed-file"
  | "plaintext-seeds"
  // hostile input (see hostile.ts)
  | "not-a-file"
  | "outside-repository"
  | "invalid-utf8"
  | "control-character"
  | "bidi-control"
  | "invisible-character"
  | "upn-not-ascii"
  | "unknown-tag"
  | "multiple-documents"
  | "yaml-undefined-alias"
  | "yaml-too-deep"
  | "yaml-too-many-values";

export interface Diagnostic extends SourceLocation {
  code: DiagnosticCode;
  /** What is wrong, naming the token or field. */
  message: string;
  /** The offending text as written in the file; absent where it could be a secret. */
  value?: string;
  /** How to fix it. */
  fix: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const value = d.value === undefined ? "" : ` (found: ${d.value})`;
  return `${d.file}:${d.line}:${d.column}: error [${d.code}] ${d.message}${value}\n    fix: ${d.fix}`;
}

// GitHub's workflow-command escaping: data escapes %, CR, LF; properties also ':' and ','.
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}
function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** A GitHub Actions workflow command such as `::warning title=…::message`, escaped. */
export function workflowCommand(command: "error" | "warning", properties: Record<string, string | number>, message: string): string {
  const props = Object.entries(properties)
    .map(([name, value]) => `${name}=${escapeProperty(String(value))}`)
    .join(",");
  return `::${command} ${props}::${escapeData(message)}`;
}

/** A GitHub Actions annotation, so a pull request shows the error on the offending line. */
export function githubAnnotation(d: Diagnostic): string {
  const value = d.value === undefined ? "" : ` (found: ${d.value})`;
  return workflowCommand("error", { file: d.file, line: d.line, col: d.column, title: `tokens.yaml: ${d.code}` }, `${d.message}${value}. Fix: ${d.fix}`);
}
