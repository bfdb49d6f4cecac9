// The names the command line offers, kept apart from the commands' code so that building the
// program (and --help, --version) loads none of it.

/** Exit codes shared by every command: 2 means "changes" (plan) or "drift" (drift), nothing else. */
export const EXIT = { ok: 0, failure: 1, changes: 2, interrupted: 130 } as const;

/** The version of the JSON error document (provider/cli/json-error.ts). */
export const ERROR_FORMAT_VERSION = 1;

export const OUTPUT_FORMATS = ["text", "markdown", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const VALIDATE_FORMATS = ["text", "json", "sarif"] as const;
export type ValidateFormat = (typeof VALIDATE_FORMATS)[number];

export const EXPORT_FORMATS = ["entra-csv", "entra-json"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const LIST_FORMATS = ["text", "json"] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export const FLEET_FORMATS = ["text", "json", "csv"] as const;
export type FleetFormat = (typeof FLEET_FORMATS)[number];

export const SECRET_ENCODINGS = ["base32", "hex", "base64"] as const;

export const DEFAULT_PASSPHRASE_ENV = "ENTRA_TOKENS_SEED_PASSPHRASE";

/** `NO_COLOR` set to anything but the empty string turns colour off (https://no-color.org). */
export const colorWanted = (stream: NodeJS.WriteStream): boolean => stream.isTTY === true && !process.env["NO_COLOR"];
