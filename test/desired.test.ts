import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Diagnostic } from "../provider/desired/diagnostics.js";
import { githubAnnotation } from "../provider/desired/diagnostics.js";
import { checkDesiredData, loadDesired, MAX_FILE_BYTES, parseDesired } from "../provider/desired/load.js";

const dir = mkdtempSync(join(tmpdir(), "entra-tokens-desired-"));
let counter = 0;
function file(text: string): string {
  const path = join(dir, `tokens-${++counter}.yaml`);
  writeFileSync(path, text);
  return path;
}

const HEADER = "version: 1\ndefaults:\n  manufacturer: Token2\n  model: C202\ntokens:\n";

async function diagnosticsOf(text: string): Promise<Diagnostic[]> {
  const result = await loadDesired(file(text));
  assert.equal(result.ok, false, "expected the file to be rejected");
  return result.ok ? [] : result.diagnostics;
}

async function onlyDiagnostic(text: string): Promise<Diagnostic> {
  const all = await diagnosticsOf(text);
  assert.equal(all.length, 1, `expected one diagnostic, got ${JSON.stringify(all, null, 2)}`);
  return all[0]!;
}

function expectAt(d: Diagnostic, code: Diagnostic["code"], line: number, column: number): void {
  assert.equal(d.code, code, JSON.stringify(d));
  assert.deepEqual({ line: d.line, column: d.column }, { line, column }, JSON.stringify(d));
  assert.ok(d.message.length > 0 && d.fix.length > 0);
}

describe("tokens.yaml loading", () => {
  it("accepts the example file and applies defaults", async () => {
    const result = await loadDesired("tokens.yaml");
    assert.ok(result.ok, JSON.stringify(result));
    const feitian = result.desired.tokens.find((t) => t.serial === "FT-0001");
    assert.deepEqual(
      { manufacturer: feitian?.manufacturer, interval: feitian?.timeIntervalInSeconds, hash: feitian?.hashFunction },
      { manufacturer: "Feitian", interval: 60, hash: "hmacsha1" },
    );
    const first = result.desired.tokens[0]!;
    assert.equal(first.serial, "60234561");
    assert.equal(first.location.line, 20);
    assert.deepEqual(result.desired.seedFiles.map((f) => f.path.endsWith("demo/seeds.pskc")), [true]);
    assert.deepEqual(result.desired.policy, { unmanaged: "report", maxDeletes: 5, selfService: "keep" });
  });

  it("reports YAML syntax errors with their position", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: available: yes\n`);
    expectAt(d, "yaml-syntax", 7, 12);
    assert.match(d.message, /Nested mappings/);
  });

  it("reports duplicate keys", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: available\n    state: assigned\n`);
    expectAt(d, "duplicate-key", 8, 5);
  });

  it("reports tabs used for indentation", async () => {
    const d = (await diagnosticsOf(`${HEADER}  - serial: A1\n\tstate: available\n`))[0]!;
    expectAt(d, "tab-indent", 7, 1);
  });

  it("reports an empty file", async () => {
    expectAt(await onlyDiagnostic(""), "empty", 1, 1);
    expectAt(await onlyDiagnostic("# only a comment\n"), "empty", 1, 1);
  });

  it("refuses an alias bomb quickly instead of expanding it", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    const d = await onlyDiagnostic(`${levels.join("\n")}\n`);
    assert.equal(d.code, "yaml-aliases");
  });

  it("refuses files above the size limit before parsing them", async () => {
    const big = `${HEADER}${"  - serial: A1\n    state: available\n".repeat(Math.ceil((MAX_FILE_BYTES + 10) / 36))}`;
    const d = await onlyDiagnostic(big);
    expectAt(d, "file-too-large", 1, 1);
  });

  it("reports an unreadable file", async () => {
    const result = await loadDesired(join(dir, "missing.yaml"));
    assert.ok(!result.ok);
    assert.equal(result.diagnostics[0]?.code, "file-unreadable");
    assert.match(result.diagnostics[0]?.message ?? "", /ENOENT/);
  });

  it("reports unknown fields at the key, with the allowed names", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: available\n    colour: red\n`);
    expectAt(d, "unknown-field", 8, 5);
    assert.match(d.fix, /displayName/);
  });

  it("treats __proto__ as an unknown field, not as a prototype", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: available\n    __proto__: { polluted: true }\n`);
    expectAt(d, "unknown-field", 8, 5);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  });

  it("refuses secrets and never echoes them", async () => {
    const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: available\n    secretKey: ${secret}\n`);
    expectAt(d, "secret", 8, 5);
    assert.match(d.fix, /seed file/);
    assert.ok(!JSON.stringify(d).includes(secret));
  });

  it("reports missing required fields", async () => {
    expectAt(await onlyDiagnostic(`${HEADER}  - state: available\n`), "missing-field", 6, 5);
    expectAt(await onlyDiagnostic("tokens: []\n"), "missing-field", 1, 1);
  });

  it("keeps serial 00123 from silently becoming 123", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: 00123\n    state: available\n`);
    expectAt(d, "wrong-type", 6, 13);
    assert.equal(d.value, "00123");
    assert.match(d.fix, /"00123"/);
  });

  it("reports invalid states and intervals", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: activ\n`);
    expectAt(d, "schema", 7, 12);
    assert.match(d.message, /available, assigned, activated/);
    const interval = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: available\n    timeIntervalInSeconds: 45\n`);
    expectAt(interval, "schema", 8, 28);
  });

  it("requires a upn for assigned and activated tokens", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: activated\n`);
    expectAt(d, "upn-state", 6, 5);
    assert.match(d.message, /activated but has no upn/);
  });

  it("forbids a upn on available tokens", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: available\n    upn: a@contoso.com\n`);
    expectAt(d, "upn-state", 8, 5);
  });

  it("checks UPN syntax", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: assigned\n    upn: alice at contoso\n`);
    expectAt(d, "upn-syntax", 8, 10);
  });

  it("reports duplicate serials at the second one, naming the first", async () => {
    const d = await onlyDiagnostic(`${HEADER}  - serial: A1\n    state: available\n  - serial: a1\n    state: available\n`);
    expectAt(d, "duplicate-serial", 8, 13);
    assert.match(d.message, /first at line 6/);
  });

  it("refuses a sixth token for one user", async () => {
    const tokens = Array.from({ length: 6 }, (_, i) => `  - serial: S${i}\n    state: assigned\n    upn: ${i === 5 ? "Alice" : "alice"}@contoso.com\n`);
    const d = await onlyDiagnostic(`${HEADER}${tokens.join("")}`);
    expectAt(d, "too-many-tokens", 23, 10);
  });

  it("requires manufacturer and model from defaults or the token", async () => {
    const d = await onlyDiagnostic("version: 1\ntokens:\n  - serial: A1\n    state: available\n    model: C202\n");
    expectAt(d, "missing-attribute", 3, 5);
    assert.match(d.message, /manufacturer/);
  });

  it("reports a wrong version", async () => {
    expectAt(await onlyDiagnostic("version: 2\ntokens: []\n"), "schema", 1, 10);
  });

  it("handles a BOM and CRLF line endings with correct positions", async () => {
    const text = `\uFEFF${HEADER}  - serial: A1\n    state: bogus\n`.replace(/\n/g, "\r\n");
    expectAt(await onlyDiagnostic(text), "schema", 7, 12);
  });

  it("formats GitHub annotations with escaped properties", () => {
    const line = githubAnnotation({ file: "a,b.yaml", line: 3, column: 4, code: "schema", message: "50% bad\nnext", fix: "do x" });
    assert.equal(line, "::error file=a%2Cb.yaml,line=3,col=4,title=tokens.yaml%3A schema::50%25 bad%0Anext. Fix: do x");
  });
});

describe("an already parsed document (the Pulumi provider's inputs)", () => {
  const token = { serial: "FT-1", state: "assigned", upn: "adele.vance@contoso.com", manufacturer: "Token2", model: "C202", timeIntervalInSeconds: 30, hashFunction: "hmacsha1" };
  const cases: Record<string, unknown> = {
    valid: { version: 1, tokens: [token] },
    "an unknown state": { version: 1, tokens: [{ ...token, state: "lost" }] },
    "a upn on an available token": { version: 1, tokens: [{ ...token, state: "available" }] },
    "an invisible character": { version: 1, tokens: [{ ...token, upn: "adele.vance\u200b@contoso.com" }] },
    "a look-alike letter": { version: 1, tokens: [{ ...token, upn: "adele.v\u0430nce@contoso.com" }] },
    // JSON.stringify writes these as printable escapes: the check must still see the characters.
    "a terminal escape": { version: 1, tokens: [{ ...token, displayName: "esc\u001b[31m" }] },
    "a tab": { version: 1, tokens: [{ ...token, displayName: "tab\there" }] },
  };
  for (const [name, data] of Object.entries(cases)) {
    it(`gets what the reader gives for its JSON text: ${name}`, () => {
      // A document has no lines: a valid one's tokens are those of the text, positions aside.
      const withoutPositions = (result: ReturnType<typeof parseDesired>) => (result.ok ? { ...result, desired: { ...result.desired, tokens: result.desired.tokens.map(({ location: _, ...rest }) => rest) } } : result);
      assert.deepEqual(withoutPositions(checkDesiredData(data, "inputs")), withoutPositions(parseDesired(JSON.stringify(data), "inputs")));
      assert.equal(checkDesiredData(data, "inputs").ok, name === "valid");
    });
  }
});
