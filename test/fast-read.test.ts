import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseDesired } from "../provider/desired/load.js";
import { fastRead } from "../provider/desired/fast-read.js";

// The fast reader must never change a result: for plain valid files it gives exactly what the full
// reader gives (positions included); everything else goes to the full reader.

const HEAD = "version: 1\ndefaults: { manufacturer: Token2, model: C202 }\n";
const VARIANTS: Record<string, string> = {
  "flow items": `${HEAD}tokens:\n  - { serial: "A1", state: available }\n  - { serial: 'B2', state: activated, upn: ann@contoso.com, displayName: "Ann's key, #1" }\n`,
  "block items with comments": `# inventory: A & B | C, !tags, *stars, café\n${HEAD}policy:\n  unmanaged: report   # report | ignore | delete\n  maxDeletes: 3\ntokens:\n  # first\n  - serial: "A1"\n    state: assigned\n    upn: bob@contoso.com\n\n  - serial: "B2"\n    state: available\n    model: "C301"\n`,
  "items at the key's indentation, CRLF": `${HEAD}tokens:\r\n- serial: "A1"\r\n  state: available\r\n- { serial: "B2", state: available }\r\n`,
  "a quoted value that looks like a comment and an alias": `${HEAD}tokens:\n  - { serial: "A1", state: available, displayName: "# not a comment: *x" }\n`,
  "users holding two tokens, block style, quotes doubled": `${HEAD}tokens:\n  - serial: 'A''1'\n    state: assigned\n    upn: ann@contoso.com\n  -   serial: B2\n      state: activated\n      upn: Ann@Contoso.com\n`,
  "a flow item over two lines, tokens not last": `${HEAD}tokens:\n  - { serial: "A1",\n      state: available }\npolicy: { unmanaged: ignore }\n`,
};

describe("tokens.yaml fast reader", () => {
  for (const [name, text] of Object.entries(VARIANTS)) {
    it(`reads ${name} exactly as the full reader does`, () => {
      assert.ok(fastRead(text, "tokens.yaml"), "the fast reader takes this file");
      const fast = parseDesired(text, "tokens.yaml");
      // A document end marker sends a file through the full reader, and changes neither data nor positions.
      const forced = `${text}...\n`;
      assert.equal(fastRead(forced, "tokens.yaml"), undefined);
      const full = parseDesired(forced, "tokens.yaml");
      assert.ok(fast.ok, JSON.stringify(fast));
      assert.deepEqual(fast, full);
    });
  }

  it("takes the repository's example tokens.yaml, whose comments hold `|`", () => {
    const example = readFileSync(join(__dirname, "..", "..", "tokens.yaml"), "utf8");
    assert.ok(fastRead(example, "tokens.yaml"));
    assert.deepEqual(parseDesired(example, "tokens.yaml"), parseDesired(`${example}...\n`, "tokens.yaml"));
  });

  it("leaves anchors, tags, block scalars, tabs and broken YAML to the full reader", () => {
    for (const text of [
      `${HEAD}x: &a { model: C202 }\ntokens:\n  - { serial: "A1", state: available }\n`,
      `${HEAD}tokens:\n  - { serial: !!str 1, state: available }\n`,
      `${HEAD}tokens:\n  - serial: "A1"\n    state: available\n    displayName: |\n      two\n`,
      `${HEAD}tokens:\n  - serial: "A1"\n    state: available\n    displayName: | # a comment after the indicator\n      two\n`,
      `${HEAD}tokens:\n\t- { serial: "A1", state: available }\n`,
      `${HEAD}tokens:\n  - { serial: "A1", state: available\n`,
      `${HEAD}tokens: [{ serial: "A1", state: available }]\n`,
    ]) {
      assert.equal(fastRead(text, "tokens.yaml"), undefined, text);
    }
  });

  it("still refuses what the full reader refuses, with its positions", () => {
    const unquoted = parseDesired(`${HEAD}tokens:\n  - { serial: 00123, state: available }\n`, "tokens.yaml");
    assert.ok(!unquoted.ok && unquoted.diagnostics.some((d) => d.code === "wrong-type" && d.line === 4));
    const twice = parseDesired(`${HEAD}tokens:\n  - { serial: "A1", state: available }\n  - { serial: "a1", state: available }\n`, "tokens.yaml");
    assert.ok(!twice.ok && twice.diagnostics.some((d) => d.code === "duplicate-serial" && d.line === 5));
    const block = (serials: string[], upn: string) => serials.map((serial) => `  - serial: "${serial}"\n    state: assigned\n    upn: ${upn}\n`).join("");
    const sixTokens = parseDesired(`${HEAD}tokens:\n${block(["A1", "A2", "A3", "A4", "A5", "A6"], "ann@contoso.com")}`, "tokens.yaml");
    assert.ok(!sixTokens.ok && sixTokens.diagnostics.some((d) => d.code === "too-many-tokens" && d.line === 21 && d.message.includes("lines 4, 7, 10, 13, 16, 19")), JSON.stringify(sixTokens));
    const twiceInBlocks = parseDesired(`${HEAD}tokens:\n${block(["A1", "B1", "a1"], "ann@contoso.com")}`, "tokens.yaml");
    assert.ok(!twiceInBlocks.ok && twiceInBlocks.diagnostics.some((d) => d.code === "duplicate-serial" && d.line === 10 && d.message.includes("first at line 4")), JSON.stringify(twiceInBlocks));
    const duplicateKey = parseDesired(`${HEAD}tokens:\n  - { serial: "A1", serial: "A2", state: available }\n`, "tokens.yaml");
    assert.ok(!duplicateKey.ok && duplicateKey.diagnostics.some((d) => d.code === "duplicate-key"));
  });
});
