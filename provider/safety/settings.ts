import { escapeTerminal } from "./escape.js";

// Yes/no settings from outside (an environment variable, a Pulumi stack config key) accept only
// true or false: `yes`, `1` or a typo must not silently mean one of them.

/** A setting whose value is not one it accepts; the message names the setting and the values it accepts. */
export class SettingError extends Error {}

/** `value` of the yes/no setting `name`: true or false (booleans, or those words as strings); `fallback` when unset or empty. */
export function booleanSetting(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === "") return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  const shown = typeof value === "string" ? JSON.stringify(value) : typeof value;
  throw new SettingError(`${name} is ${escapeTerminal(shown)}, which is neither true nor false; nothing was done. Fix: set ${name} to true or false (or leave it unset: ${fallback})`);
}
