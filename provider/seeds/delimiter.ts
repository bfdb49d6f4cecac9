// Excel writes CSV with the list separator of the machine's locale (";" in much of Europe), and
// some vendors send tab-separated files: a header read with the wrong delimiter is one long column.

const OTHER_DELIMITERS: [string, string][] = [
  [";", "';'"],
  ["\t", "tab"],
  ["|", "'|'"],
];

/** When `headerLine` looks separated by something other than `expected`, the fix that says so. */
export function delimiterHint(headerLine: string, expected: string, how: string): string | undefined {
  if (headerLine.includes(expected)) return undefined;
  const found = OTHER_DELIMITERS.find(([char]) => char !== expected && headerLine.includes(char));
  return found ? `the header looks ${found[1]}-separated: ${how.replace("{delimiter}", found[1])}` : undefined;
}

export function firstLine(text: string): string {
  return text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0] ?? "";
}
