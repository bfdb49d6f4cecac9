import { readFileSync, writeFileSync } from "node:fs";

// A process's peak resident memory, for tests that bound it (memory is not timing: asserting it is
// fair). Preloaded with `node --require` into a CLI child, it writes the peak, in MiB, to the file
// ENTRA_TOKENS_TEST_PEAK_RSS_FILE names as the process exits.

/**
 * This process's own peak resident memory. getrusage's maxRSS is no good here: Linux carries the
 * parent's peak over a fork and exec into it, so a big test runner would be measured, not us.
 */
export function peakRssMiB(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kib === undefined ? process.resourceUsage().maxRSS / 1024 : Number(kib) / 1024;
}

const target = process.env["ENTRA_TOKENS_TEST_PEAK_RSS_FILE"];
if (target) process.on("exit", () => writeFileSync(target, String(peakRssMiB())));
