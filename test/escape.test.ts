import assert from "node:assert/strict";
import { parseDesired } from "../provider/desired/load.js";
import type { LiveState } from "../provider/model/index.js";
import { plan } from "../provider/plan/plan.js";
import { renderDriftMarkdown, renderDriftText, renderPlanMarkdown, renderPlanText } from "../provider/plan/render.js";
import { escapeActionsLog, escapeMarkdown, escapeMarkdownCode, escapeTerminal, truncate } from "../provider/safety/escape.js";

// The attacks of issue 19: values that pass `validate` (tokens.yaml) or come from the tenant.
const HOSTILE_MARKDOWN = ["@octocat <img src=x>", "</details><details open><summary>x", "[click](https://evil.test)", "![i](https://evil.test/i.png)", "#1 fixes", "<!-- entra-tokens:plan -->", "a|b", "https://evil.test www.evil.test"];
const HOSTILE_TERMINAL = "U3-\u001b[2J\u001b]0;pwned\u0007\u202E\u009b";

/** Markdown the way GitHub would act on it: live tags, mentions, references, links, images. */
function assertInertMarkdown(markdown: string): void {
  assert.doesNotMatch(markdown, /<(?!!-- entra)[a-z/!]/i, "no raw tag");
  assert.doesNotMatch(markdown, /(^|[^\\\w`])@octocat/m, "no mention");
  assert.doesNotMatch(markdown, /(^|[^\\`])#1\b/m, "no reference");
  assert.doesNotMatch(markdown, /(^|[^\\])\]\(https/m, "no link");
  assert.doesNotMatch(markdown, /[\u001b\u0007\u202e\u009b]/u, "no control character");
}

describe("escapers (one per output kind)", () => {
  it("shows terminal controls, bidi and invisible characters escaped, and adds no line", () => {
    const shown = escapeTerminal(`${HOSTILE_TERMINAL}\n::error title=x::owned`);
    assert.doesNotMatch(shown, /[\u0000-\u001f\u007f-\u009f\u202e]/u);
    assert.match(shown, /\\u\{1B\}\[2J/);
    assert.match(shown, /\\u\{202E\}/);
  });

  it("never lets an Actions log line start a workflow command", () => {
    const shown = escapeActionsLog("::error title=x::owned\n::set-env name=A::b");
    assert.ok(!shown.includes("::"));
    assert.ok(!shown.includes("\n"));
  });

  it("turns Markdown syntax, HTML, mentions and references into text", () => {
    for (const value of HOSTILE_MARKDOWN) assertInertMarkdown(escapeMarkdown(value));
    assert.equal(escapeMarkdown("a|b"), "a\\|b");
  });

  it("keeps a code span closed whatever backticks the value holds", () => {
    assert.equal(escapeMarkdownCode("S`1"), "``S`1``");
    assert.equal(escapeMarkdownCode("`x`"), "`` `x` ``");
    assert.equal(escapeMarkdownCode("a|b"), "`a\\|b`");
  });

  it("cuts long values with an ellipsis, never inside a surrogate pair", () => {
    assert.equal(truncate("x".repeat(70_000)).length, 200);
    assert.ok(truncate("x".repeat(70_000)).endsWith("…"));
    assert.equal(truncate("😀".repeat(300), 3), "😀😀…");
  });
});

describe("reports render hostile values inert", () => {
  const yaml = [
    "version: 1",
    'defaults: { manufacturer: "@octocat <img src=x>", model: "[click](https://evil.test)" }',
    "tokens:",
    '  - { serial: "S`1", state: available, displayName: "</details><details open><summary>#1" }',
    `  - { serial: S2, state: available, displayName: "${"y".repeat(250)}" }`,
    "",
  ].join("\n");
  const parsed = parseDesired(yaml, "tokens.yaml");
  assert.ok(parsed.ok, JSON.stringify(parsed).slice(0, 500));
  const live: LiveState = {
    devices: [{ id: "d-1", serial: HOSTILE_TERMINAL, manufacturer: "x", model: "y", hashFunction: "hmacsha1", timeIntervalInSeconds: 30, status: "available", displayName: "@octocat" },
      // A tenant value is not bound by our schema: one 70,000-character serial.
      { id: "d-2", serial: "z".repeat(70_000), manufacturer: "x", model: "y", hashFunction: "hmacsha1", timeIntervalInSeconds: 30, status: "available" }],
    directory: { users: new Map() },
  };
  const p = plan(parsed.desired, live, { seeds: new Set(["S`1", "S2"]) });

  it("in the Markdown plan (PR comment), terminal and Actions log", () => {
    const markdown = renderPlanMarkdown(p);
    assertInertMarkdown(markdown);
    assert.ok(markdown.includes("``S`1``"));
    assert.ok(markdown.length < 10_000, "a 70,000-character name is cut");
    for (const text of [renderPlanText(p), renderPlanText(p, { actionsLog: true })]) {
      assert.doesNotMatch(text, /[\u001b\u0007\u202e\u009b]/u);
      assert.ok(text.length < 10_000);
    }
    assert.ok(!renderPlanText(p, { actionsLog: true }).split("\n").some((line) => line.startsWith("::")));
  });

  it("in the drift report (issue) and drift text", () => {
    const items = [{ category: "unmanaged" as const, serial: HOSTILE_TERMINAL, user: "@octocat", desired: "<img src=x>", live: "[click](https://evil.test)", fix: "#1" }];
    assertInertMarkdown(renderDriftMarkdown(items));
    assert.doesNotMatch(renderDriftText(items), /[\u001b\u0007\u202e\u009b]/u);
  });
});
