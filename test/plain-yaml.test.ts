import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isNode, isSeq, LineCounter, parseDocument } from "yaml";
import { plainYaml } from "../provider/desired/plain-yaml.js";
import { seededRandom } from "../emulator/faults.js";

// The plain-subset reader must give exactly what the full reader (the `yaml` library, as load.ts
// calls it) gives, token positions included, or decline. Checked on tricky files and on thousands
// of randomly altered ones (a fixed seed: the same files every run).

/** What the full reader makes of `text`: its data and where each token starts, or undefined on an error. */
function fullRead(text: string): { data: unknown; tokenStarts: { file: string; line: number; column: number }[] } | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) return undefined;
  const tokens = doc.get("tokens", true);
  const tokenStarts = isSeq(tokens)
    ? tokens.items.map((item) => {
        const at = lineCounter.linePos(isNode(item) ? (item.range?.[0] ?? -1) : -1);
        return { file: "tokens.yaml", line: at.line, column: at.col };
      })
    : [];
  return { data: doc.toJS({ maxAliasCount: 100 }), tokenStarts };
}

/** The reader agrees with the full reader, or declines; true when it took the file. */
function agrees(text: string): boolean {
  const plain = plainYaml(text, "tokens.yaml");
  if (plain === undefined) return false;
  const full = fullRead(text);
  assert.ok(full, `the plain reader took a file the full reader refuses: ${JSON.stringify(text)}`);
  assert.deepEqual(plain.data, full.data, JSON.stringify(text));
  assert.deepEqual(plain.tokenStarts, full.tokenStarts, JSON.stringify(text));
  return true;
}

const BLOCK = [
  "# inventory: A & B | C, !tags, *stars, café",
  "version: 1",
  "defaults:",
  "  manufacturer: Token2   # the usual",
  "  model: OTP  c200",
  "  timeIntervalInSeconds: 30",
  "policy: { unmanaged: report, maxDeletes: 0 }",
  "seeds:",
  "- file: 'vendor''s seeds.csv'",
  "  allowPlaintext: true",
  "tokens:",
  "  # first",
  '  - serial: "A1 #2, x"',
  "    state: assigned",
  "    upn: bob@contoso.com",
  "",
  "  -   serial: B2",
  "      state: available",
  "      displayName: Adele's key (spare)",
  "  - { serial: 'C3', state: activated, upn: ann@contoso.com, displayName: \"Ann's, #1\" }",
  "  - {serial: D4,state: available}",
  "",
].join("\n");

describe("tokens.yaml plain-subset reader", () => {
  it("reads block and one-line flow files, comments, quotes and CRLF exactly as the full reader does", () => {
    const example = readFileSync(join(__dirname, "..", "..", "tokens.yaml"), "utf8");
    for (const text of [
      example,
      BLOCK,
      BLOCK.replace(/\n/g, "\r\n"),
      "version: 1\ntokens: []\n",
      "version: 1\ntokens:\n- serial: x\n  state: available\nextra:\n  deep:\n    list:\n    - a: TRUE\n      b: False\n      c: 0\n      d: 123456789012345\n",
      "tokens:\n  - serial: .5a\n    state: 1_000\n    upn: 0x1G\n",
      "version: 1\ntokens:\n  - serial: ''''\n    state: \"\"\n",
      "version: 1\ntokens:\n  - serial: a\n    state: b\n# a last comment without a line end",
    ]) {
      assert.ok(agrees(text), `the plain reader takes ${JSON.stringify(text)}`);
    }
  });

  it("declines what it does not read, so the full reader decides", () => {
    for (const text of [
      "x: &a { model: C202 }\ntokens:\n  - serial: A1\n    model: *a\n",
      "tokens:\n  - serial: !!str 1\n",
      'tokens:\n  - serial: "A\\u200B1"\n',
      "tokens:\n  - serial: A1\n    displayName: |\n      two\n",
      "tokens:\n  - serial: A1\n    displayName: >-\n      two\n",
      "tokens:\n  - serial: A1\n    displayName: two\n      lines\n",
      'tokens:\n  - serial: "two\n      lines"\n',
      "tokens:\n  - { serial: A1,\n      state: available }\n",
      "tokens:\n\t- serial: A1\n",
      "tokens:\n  - serial: A1\t# tab\n",
      "tokens:\n  - serial: A1\n    serial: A2\n",
      "tokens:\n  - { serial: A1, serial: A2 }\n",
      "tokens:\n  - serial: café\n",
      "tokens:\n  - serial: A1\n    upn: ann@contoso.com\u00a0\n",
      "tokens:\n  - serial:\n",
      "tokens:\n  - serial: ~\n",
      "tokens:\n  - serial: null\n",
      "tokens:\n  - serial: 00123\n",
      "tokens:\n  - serial: 1e5\n",
      "tokens:\n  - serial: 1.5\n",
      "tokens:\n  - serial: .inf\n",
      "tokens:\n  - serial: -1\n",
      "---\ntokens: []\n",
      "tokens: []\n...\n",
      "%YAML 1.2\n---\ntokens: []\n",
      "\uFEFFtokens: []\n",
      "tokens: []\rversion: 1\n",
      "tokens: [1]\n",
      "tokens:\n  - A1\n",
      "tokens:\n  -\n    serial: A1\n",
      "? tokens\n: []\n",
      "true: 1\ntokens: []\n",
      "tokens:\n  - serial: a: b\n",
      "tokens:\n  - serial: a#b\n",
      'tokens:\n  - serial: "a"b\n',
      "tokens:\n  - { serial: a, }\n",
      "tokens:\n  - { serial: a } x\n",
      "  tokens: []\n",
      `tokens: []\n${Array.from({ length: 12 }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n")}\n${"  ".repeat(12)}v: 1\n`,
    ]) {
      assert.equal(plainYaml(text, "tokens.yaml"), undefined, JSON.stringify(text));
    }
  });

  it("agrees with the full reader on thousands of randomly altered files", () => {
    const random = seededRandom(0x25a);
    const pieces = [" ", "  ", "\t", "\n", "\r\n", "\r", "#", " #", ":", ": ", "-", "- ", '"', "'", "''", "\\", "{", "}", "[", "]", ",", "&a", "*a", "!", "|", ">", "a", "Z", "1", "0", ".", "~", "?", "%", "@", "é", "\uFEFF", "true", "null", "0x1", "1e3", "---", "...", "serial", "state"];
    let taken = 0;
    const runs = 4000;
    for (let i = 0; i < runs; i++) {
      let text = BLOCK;
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
        const at = Math.floor(random() * text.length);
        const piece = pieces[Math.floor(random() * pieces.length)] ?? "";
        const cut = random() < 0.5 ? 0 : 1 + Math.floor(random() * 3);
        text = text.slice(0, at) + piece + text.slice(at + cut);
      }
      if (agrees(text)) taken++;
    }
    // Enough of the altered files stay readable for the comparison to mean something.
    assert.ok(taken > runs / 10, `only ${taken} of ${runs} altered files were taken`);
  });
});
