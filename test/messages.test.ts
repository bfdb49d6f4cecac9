import assert from "node:assert/strict";
import { CONFIG_ADOPT_EXISTING, CONFIG_ALLOW_DELETES, v1 } from "../provider/pulumi/runtime.js";
import { booleanSetting, SettingError } from "../provider/safety/settings.js";
import { runCli } from "./support/cli.js";
import { workspace } from "./support/workspace.js";

// Settings a tired admin gets wrong: each refusal names the setting, shows the value escaped and
// cut, says how to fix it, and sends nothing (these fail before any connection is tried).

// Nothing listens at this sign-in host: no case may reach a network.
const SIGN_IN = { AZURE_TENANT_ID: "contoso.onmicrosoft.com", AZURE_CLIENT_ID: "app", AZURE_CLIENT_SECRET: "not-used", AZURE_AUTHORITY_HOST: "https://127.0.0.1:9" };

describe("messages for bad settings", function () {
  this.timeout(60_000);
  const { file } = workspace(1, () => "state: available");
  const plan = (env: Record<string, string>) => runCli(["plan", "--file", file], { ...SIGN_IN, ...env });

  /** One readable error line, no stack trace, no raw control character, nothing quoted at length. */
  function refusedClearly(r: { code: number | null; stderr: string }, pattern: RegExp): void {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.match(r.stderr, /Fix: /);
    assert.doesNotMatch(r.stderr, /Invalid URL|Invalid regular expression|\n\s+at /);
    assert.doesNotMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f]/, "a raw control character");
    assert.ok(r.stderr.length < 1_000, `${r.stderr.length} characters`);
  }

  it("ENTRA_TOKENS_GRAPH_URL that is not a URL, has a bad port, or is not https", async () => {
    refusedClearly(await plan({ ENTRA_TOKENS_GRAPH_URL: "not a url" }), /ENTRA_TOKENS_GRAPH_URL=not a url is not a URL; nothing was sent/);
    refusedClearly(await plan({ ENTRA_TOKENS_GRAPH_URL: "https://localhost:99999/beta" }), /ENTRA_TOKENS_GRAPH_URL=https:\/\/localhost:99999\/beta has the port 99999, which is not a port number \(1 to 65535\)/);
    refusedClearly(await plan({ ENTRA_TOKENS_GRAPH_URL: "http://graph.example/beta" }), /uses http:, but Microsoft Graph is reached over https only/);
    refusedClearly(await plan({ ENTRA_TOKENS_GRAPH_URL: `https://graph.example/\u001b[2J${"a".repeat(5_000)}` }), /ENTRA_TOKENS_GRAPH_URL=https:\/\/graph\.example\/\\u\{1B\}\[2Ja+… holds U\+001B \(ESC\), which no URL has/);
    const flag = await runCli(["plan", "--file", file, "--graph-url", "https://graph.example:0/beta"], SIGN_IN);
    refusedClearly(flag, /--graph-url=https:\/\/graph\.example:0\/beta has the port 0/);
    refusedClearly(await plan({ AZURE_AUTHORITY_HOST: "login microsoft" }), /AZURE_AUTHORITY_HOST=login microsoft is not a URL/);
  });

  it("a 100 KB AZURE_TENANT_ID is refused as too long, without echoing it", async () => {
    const r = await plan({ AZURE_TENANT_ID: "a".repeat(100_000) });
    refusedClearly(r, /AZURE_TENANT_ID=a+… is 100000 characters long; nothing was sent\. Fix: set AZURE_TENANT_ID to the tenant's ID/);
    refusedClearly(await plan({ AZURE_TENANT_ID: "contoso/../x" }), /AZURE_TENANT_ID=contoso\/\.\.\/x holds characters no tenant ID or domain has/);
  });

  it("ENTRA_TOKENS_AUTH with an escape sequence is shown escaped, with the kinds it accepts", async () => {
    refusedClearly(await plan({ ENTRA_TOKENS_AUTH: "bogus\u001b[31m" }), /ENTRA_TOKENS_AUTH=bogus\\u\{1B\}\[31m is not a kind of sign-in we know.*one of client-secret, certificate/);
  });
});

describe("yes/no settings", () => {
  it("accept true and false, as booleans or strings, and refuse anything else naming the setting", () => {
    assert.equal(booleanSetting("entra-tokens:adoptExisting", "true", false), true);
    assert.equal(booleanSetting("entra-tokens:adoptExisting", false, true), false);
    assert.equal(booleanSetting("entra-tokens:adoptExisting", "false", true), false);
    assert.equal(booleanSetting("entra-tokens:adoptExisting", undefined, true), true);
    assert.equal(booleanSetting("entra-tokens:adoptExisting", "", true), true);
    for (const value of ["yes", "1", "True", "no", 1, "tru\u001be"]) {
      assert.throws(() => booleanSetting("entra-tokens:allowDeletes", value, false), (error: unknown) => {
        assert.ok(error instanceof SettingError);
        assert.match(error.message, /^entra-tokens:allowDeletes is .*, which is neither true nor false; nothing was done\. Fix: set entra-tokens:allowDeletes to true or false/);
        assert.doesNotMatch(error.message, /\u001b/);
        return true;
      }, String(value));
    }
  });

  it("the Pulumi provider refuses entra-tokens:adoptExisting or allowDeletes set to yes or 1 before it asks Graph anything", async () => {
    // The provider's runtime as the engine drives it (configure, then the inventory's Check); no
    // Graph session exists in this process, so reaching Graph would fail differently.
    for (const [key, value] of [[CONFIG_ADOPT_EXISTING, "yes"], [CONFIG_ALLOW_DELETES, "1"], [CONFIG_ADOPT_EXISTING, "True"]] as const) {
      v1.configure((asked) => (asked === key ? value : undefined));
      try {
        await assert.rejects(v1.inventory.check({}, { tokens: {}, unmanaged: "report", maxDeletes: 0 }), (error: unknown) => {
          assert.ok(error instanceof SettingError, String(error));
          assert.match(error.message, new RegExp(`^${key} is "${value}", which is neither true nor false; nothing was done\\. Fix: set ${key} to true or false`));
          return true;
        });
      } finally {
        v1.configure(() => undefined);
      }
    }
  });
});
