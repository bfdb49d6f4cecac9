import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { GraphEmulator } from "../emulator/server.js";
import { renderReportHtml } from "../provider/report/html.js";
import { escapeCsv, escapeHtml } from "../provider/safety/escape.js";
import { Chromium } from "./support/chromium.js";
import { runCli } from "./support/cli.js";
import { ADMIN_APP, call, clientEnv, FULL_ROLES, startHttpsEmulator, tokenFor, type SecretApp } from "./support/emulator.js";

// list, show, report and "who changed what", against the demo tenant (tokens.yaml at the root,
// converged by apply) in the emulator, over the real CLI.

const ROOT = join(__dirname, "..", "..");
const DEMO_FILE = join(ROOT, "tokens.yaml");
const DEMO_PASSPHRASE = "entra-tokens demo passphrase (public, demo only)";
/** Screenshots and reports the browser test keeps, under the build's test output. */
const TEST_OUTPUT = join(__dirname, "..", "test-output");
const FLEET_APP: SecretApp = { clientId: "fleet-app", clientSecret: "fleet-secret-value-321", displayName: "entra-tokens CI", roles: [...FULL_ROLES, "AuditLog.Read.All"] };
/** Another app registration of the same tenant, e.g. a helpdesk script: its writes are out of band. */
const HELPDESK_APP: SecretApp = { clientId: "5b1e0c3a-helpdesk", clientSecret: "helpdesk-secret-value-654", displayName: "Helpdesk script", roles: FULL_ROLES };

describe("the fleet: list, show, report and the audit log", function () {
  this.timeout(120_000);
  let emulator: GraphEmulator;
  let env: Record<string, string>;
  const cli = (args: string[], app = FLEET_APP) => runCli(args, { ...clientEnv(emulator, app), CI: "true" });

  before(async () => {
    emulator = await startHttpsEmulator({ apps: [FLEET_APP, HELPDESK_APP, ADMIN_APP] });
    env = { ...clientEnv(emulator, FLEET_APP), ENTRA_TOKENS_SEED_PASSPHRASE: DEMO_PASSPHRASE, CI: "true" };
    const applied = await runCli(["apply", "-y", "-f", DEMO_FILE], env);
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(() => emulator.stop());

  const device = (serial: string) => {
    const d = emulator.tenant.deviceBySerial(serial);
    assert.ok(d, serial);
    return d;
  };
  const upnOf = (userId: string | null) => (userId === null ? undefined : emulator.tenant.userById(userId)?.userPrincipalName);

  it("list --upn answers which token a user holds, as the tenant says", async () => {
    const r = await cli(["list", "-f", DEMO_FILE, "--upn", "LEE.GU@contoso.com", "--format", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.formatVersion, 1);
    const held = emulator.tenant.allDevices().filter((d) => upnOf(d.assignedToUserId) === "lee.gu@contoso.com").map((d) => d.serialNumber);
    assert.deepEqual(out.tokens.map((t: { serial: string }) => t.serial), held);
    assert.equal(out.tokens[0].liveStatus, device(held[0]!).status);
    assert.equal(out.tokens[0].holderName, "Lee Gu");
    const text = await cli(["list", "-f", DEMO_FILE, "--upn", "lee.gu@contoso.com"]);
    assert.match(text.stdout, /^SERIAL\s+STATE/m);
    assert.match(text.stdout, /60234564\s+assigned\s+assigned\s+lee\.gu@contoso\.com\s+Lee Gu\s+Token2\s+C202/);
  });

  it("list --state available --format csv is the tenant's pool, without a secret", async () => {
    const r = await cli(["list", "-f", DEMO_FILE, "--state", "available", "--format", "csv"]);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...lines] = r.stdout.trimEnd().split("\r\n");
    assert.equal(header, "serial,state,desired,upn,name,manufacturer,model,interval,lastUsed,pool,managed,drift");
    const pool = emulator.tenant.allDevices().filter((d) => d.status === "available").map((d) => d.serialNumber).sort();
    assert.deepEqual(lines.map((l) => l.split(",")[0]).sort(), pool);
    for (const d of emulator.tenant.allDevices()) assert.ok(!r.stdout.includes(d.secretKey), "a seed reached the CSV");
  });

  it("show <serial> gives the token with its holder and what the audit log says", async () => {
    const r = await cli(["show", "60234562", "-f", DEMO_FILE]);
    assert.equal(r.code, 0, r.stderr);
    const d = device("60234562");
    assert.match(r.stdout, /Token 60234562/);
    assert.match(r.stdout, new RegExp(`state\\s+${d.status}`));
    assert.match(r.stdout, /upn\s+alex\.wilber@contoso\.com/);
    assert.match(r.stdout, /Assign Hardware Oath Token\s+by app entra-tokens CI \(fleet-app\)/);
    assert.match(r.stdout, /Admin registered security info\s+by app entra-tokens CI/);
    for (const x of emulator.tenant.allDevices()) assert.ok(!r.stdout.includes(x.secretKey));
    const user = await cli(["show", "nestor.wilke@contoso.com", "-f", DEMO_FILE, "--format", "json"]);
    const shown = JSON.parse(user.stdout);
    assert.equal(shown.user.displayName, "Nestor Wilke");
    assert.deepEqual(shown.tokens.map((t: { serial: string }) => t.serial), ["FT-0001"]);
    assert.ok(shown.audit.records.length >= 2);
    const missing = await cli(["show", "NOPE-1", "-f", DEMO_FILE]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no token with serial NOPE-1/);
  });

  it("an out-of-band unassign by another app shows in drift with that app as actor and its time", async () => {
    const lee = emulator.tenant.userByUpn("lee.gu@contoso.com")!;
    const token = await tokenFor(emulator, HELPDESK_APP);
    const answer = await call(emulator, token, "DELETE", `/users/${lee.id}/authentication/hardwareOathMethods/${device("60234564").id}`);
    assert.equal(answer.status, 204);
    const logged = emulator.audit.all().at(-1)!;
    assert.equal(logged.activityDisplayName, "Admin deleted security info");
    const r = await cli(["drift", "-f", DEMO_FILE, "--format", "json"]);
    assert.equal(r.code, 2, r.stderr);
    const drift = JSON.parse(r.stdout);
    assert.equal(drift.audit.known, true);
    const finding = drift.items.find((i: { serial: string; category: string }) => i.serial === "60234564" && i.category === "unexpectedAssignee");
    assert.ok(finding, r.stdout);
    assert.deepEqual(finding.changedBy, { actor: { kind: "app", name: "Helpdesk script", id: HELPDESK_APP.clientId }, at: logged.activityDateTime, activity: "Admin deleted security info" });
    const text = await cli(["drift", "-f", DEMO_FILE]);
    assert.match(text.stdout, /changed by: app Helpdesk script \(5b1e0c3a-helpdesk\) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(Admin deleted security info\)/);
    const markdown = await cli(["drift", "-f", DEMO_FILE, "--format", "markdown", "--report-link", "https://github.com/o/r/actions/runs/1"]);
    assert.match(markdown.stdout, /\| changed by \|/);
    assert.match(markdown.stdout, /app Helpdesk script/);
    assert.match(markdown.stdout, /\[this run\]\(https:\/\/github\.com\/o\/r\/actions\/runs\/1\)/);
    // And the fix: apply gives it back, and the log names our app for that.
    const applied = await runCli(["apply", "-y", "-f", DEMO_FILE], env);
    assert.equal(applied.code, 0, applied.stderr);
  });

  it("without AuditLog.Read.All drift still works, says the actors are unknown, and names the permission", async () => {
    const lee = emulator.tenant.userByUpn("lee.gu@contoso.com")!;
    const token = await tokenFor(emulator, HELPDESK_APP);
    assert.equal((await call(emulator, token, "DELETE", `/users/${lee.id}/authentication/hardwareOathMethods/${device("60234564").id}`)).status, 204);
    const r = await cli(["drift", "-f", DEMO_FILE, "--format", "json"], ADMIN_APP);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /warning \[audit-unreadable\].*\n\s+fix: grant the app AuditLog\.Read\.All/);
    const drift = JSON.parse(r.stdout);
    assert.equal(drift.audit.known, false);
    assert.ok(drift.items.every((i: { changedBy?: unknown }) => i.changedBy === undefined));
    const text = await cli(["drift", "-f", DEMO_FILE], ADMIN_APP);
    assert.match(text.stdout, /changed by: unknown \(the audit log could not be read\)/);
    assert.equal((await runCli(["apply", "-y", "-f", DEMO_FILE], env)).code, 0);
  });

  it("the emulator's audit log filters on activityDateTime, category and activityDisplayName, and pages", async () => {
    const token = await tokenFor(emulator, FLEET_APP);
    const all = emulator.audit.all();
    const byName = await call(emulator, token, "GET", `/auditLogs/directoryAudits?$filter=${encodeURIComponent("activityDisplayName eq 'Assign Hardware Oath Token' and category eq 'ApplicationManagement'")}`);
    assert.equal(byName.status, 200);
    assert.equal(byName.body.value.length, all.filter((e) => e.activityDisplayName === "Assign Hardware Oath Token").length);
    const middle = all[Math.floor(all.length / 2)]!.activityDateTime;
    const later: unknown[] = [];
    let next: string | undefined = `/auditLogs/directoryAudits?$top=2&$filter=${encodeURIComponent(`activityDateTime ge ${middle}`)}`;
    while (next) {
      const page = await call(emulator, token, "GET", next);
      assert.equal(page.status, 200);
      assert.ok(page.body.value.length <= 2);
      later.push(...page.body.value);
      next = page.body["@odata.nextLink"];
    }
    assert.equal(later.length, all.filter((e) => e.activityDateTime >= middle).length);
    const bad = await call(emulator, token, "GET", "/auditLogs/directoryAudits?$filter=result eq 'success'");
    assert.equal(bad.status, 400);
    const denied = await call(emulator, await tokenFor(emulator, ADMIN_APP), "GET", "/auditLogs/directoryAudits");
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, "Authorization_RequestDenied");
  });

  it("policy.staleAfterDays: activated tokens unused for too long are notices in plan, drift, list and the report", async () => {
    const dir = mkdtempSync(join(tmpdir(), "entra-stale-"));
    const file = join(dir, "tokens.yaml");
    const text = readFileSync(DEMO_FILE, "utf8").replace("maxDeletes: 5", "maxDeletes: 5\n  staleAfterDays: 90");
    writeFileSync(file, text);
    // Seed files stay inside the tokens file's folder (no repository here): the demo's, copied.
    mkdirSync(join(dir, "demo"));
    copyFileSync(join(ROOT, "demo", "seeds.pskc"), join(dir, "demo", "seeds.pskc"));
    device("60234561").lastUsedDateTime = "2020-01-02T03:04:05.000Z";
    device("60234562").lastUsedDateTime = new Date().toISOString();
    try {
      const plan = await runCli(["plan", "-f", file, "--format", "json"], env);
      assert.equal(plan.code, 0, plan.stderr);
      assert.deepEqual(JSON.parse(plan.stdout).warnings.filter((w: { code: string }) => w.code === "stale").map((w: { serial: string }) => w.serial), ["60234561"]);
      const drift = await cli(["drift", "-f", file, "--format", "json"]);
      assert.equal(drift.code, 0, drift.stdout);
      assert.deepEqual(JSON.parse(drift.stdout).items.filter((i: { category: string }) => i.category === "stale").map((i: { serial: string }) => i.serial), ["60234561"]);
      const list = await cli(["list", "-f", file, "--stale", "90", "--format", "json"]);
      // --stale keeps the never-used activated token too; only the one over the policy is marked stale.
      assert.deepEqual(JSON.parse(list.stdout).tokens.map((t: { serial: string; staleDays?: number }) => [t.serial, t.staleDays !== undefined]), [["60234561", true], ["FT-0001", false]]);
      const out = join(dir, "report.html");
      assert.equal((await cli(["report", "-f", file, "--out", out])).code, 0);
      assert.match(readFileSync(out, "utf8"), /data-tile="stale"><div class="value">1</);
    } finally {
      device("60234561").lastUsedDateTime = null;
      device("60234562").lastUsedDateTime = null;
    }
  });

  it("list and show print tenant values through the terminal escaper: controls shown, long values cut", async () => {
    const user = emulator.tenant.userByUpn("lee.gu@contoso.com");
    assert.ok(user);
    const before = user.displayName;
    user.displayName = `Lee\u001b[2J\u001b]0;pwned\u0007${"x".repeat(70_000)}`;
    try {
      for (const args of [["list", "-f", DEMO_FILE, "--upn", "lee.gu@contoso.com"], ["show", "lee.gu@contoso.com", "-f", DEMO_FILE]]) {
        const r = await cli(args);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f]/, `${args[0]}: a raw control character`);
        assert.match(r.stdout, /Lee\\u\{1B\}\[2J\\u\{1B\}\]0;pwned\\u\{7\}x+…/, args[0]);
        assert.ok(r.stdout.split("\n").every((line) => line.length < 1_000), `${args[0]}: the 70,000-character name is cut`);
      }
    } finally {
      user.displayName = before;
    }
  });

  it("report --out naming an existing file is refused before the tenant is read, the path shown escaped", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "entra-out-")), "old\u001b]0;pwned\u0007.html");
    writeFileSync(out, "kept");
    const r = await cli(["report", "-f", DEMO_FILE, "--out", out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /old\\u\{1B\}\]0;pwned\\u\{7\}\.html \(--out\) exists; nothing was written: pass --force/);
    assert.doesNotMatch(r.stderr, /\u001b|\u0007/);
    assert.equal(readFileSync(out, "utf8"), "kept");
  });

  it("report writes one offline HTML file that headless Chromium renders, searches by UPN, with no network request", async function () {
    mkdirSync(TEST_OUTPUT, { recursive: true });
    const out = join(TEST_OUTPUT, "fleet-report.html");
    const r = await cli(["report", "-f", DEMO_FILE, "--out", out, "--force"]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, "utf8");
    assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, "the report references something outside itself");
    for (const d of emulator.tenant.allDevices()) assert.ok(!html.includes(d.secretKey));
    const again = await cli(["report", "-f", DEMO_FILE, "--out", out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; nothing was written: pass --force/);

    const browser = Chromium.launch();
    try {
      const session = await browser.page();
      const requests: string[] = [];
      browser.on((method, params, s) => {
        if (s === session && method === "Network.requestWillBeSent") requests.push(String((params["request"] as { url?: unknown } | undefined)?.url));
      });
      await browser.send("Network.enable", {}, session);
      await browser.send("Page.enable", {}, session);
      const loaded = browser.once("Page.loadEventFired", session);
      const url = pathToFileURL(out).href;
      await browser.send("Page.navigate", { url }, session);
      await loaded;
      const tiles = (await browser.evaluate(session, `Object.fromEntries([...document.querySelectorAll("[data-tile]")].map(t => [t.dataset.tile, Number(t.querySelector(".value").textContent)]))`)) as Record<string, number>;
      assert.equal(tiles["tokens"], emulator.tenant.allDevices().length);
      assert.equal(tiles["activated"], emulator.tenant.allDevices().filter((d) => d.status === "activated").length);
      assert.equal(tiles["pool"], emulator.tenant.allDevices().filter((d) => d.status === "available").length);
      assert.equal(await browser.evaluate(session, `document.querySelectorAll("figure.chart svg rect").length > 0`), true);
      const visible = `[...document.querySelectorAll("#tokens tbody tr")].filter(r => !r.hidden).map(r => r.dataset.serial)`;
      assert.equal(((await browser.evaluate(session, visible)) as string[]).length, emulator.tenant.allDevices().length);
      await browser.evaluate(session, `document.getElementById("search").focus()`);
      await browser.send("Input.insertText", { text: "lee.gu" }, session);
      // The input event runs in the task that changed the value: once the value is there, the filter has run.
      await browser.evaluate(session, `new Promise((done) => { const seen = () => (document.getElementById("search").value === "lee.gu" ? done(true) : requestAnimationFrame(seen)); seen(); })`);
      assert.deepEqual(await browser.evaluate(session, visible), ["60234564"]);
      const shot = (await browser.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true }, session)) as { data: string };
      writeFileSync(join(TEST_OUTPUT, "fleet-report.png"), Buffer.from(shot.data, "base64"));
      assert.deepEqual(requests.filter((u) => u !== url), [], "the report made a network request");
    } finally {
      await browser.close();
    }
  });
});

describe("the report's escaping", () => {
  it("puts every tenant value through escapeHtml: a hostile name is text, never markup", () => {
    const evil = `<img src=x onerror="alert(1)">'\u202Etxt.exe`;
    const html = renderReportHtml({
      rows: [{ serial: evil, liveStatus: "assigned", desiredState: "assigned", upn: evil, holderName: evil, manufacturer: evil, model: evil, timeIntervalInSeconds: 30, pool: false, managed: true, drift: ["unexpectedAssignee"] }],
      summary: { tokens: 1, assigned: 1, activated: 0, failedActivation: 0, unmanaged: 0, drift: 1, stale: 0, poolLeft: { [evil]: 1 }, byState: { assigned: 1 }, byModel: { [evil]: 1 } },
      drift: [{ category: "unexpectedAssignee", serial: evil, user: evil, desired: evil, live: evil, fix: evil, changedBy: { actor: { kind: "app", name: evil, id: evil }, at: "2026-12-01T00:00:00Z", activity: evil } }],
      audit: { known: true, since: "2026-11-01T00:00:00Z", records: [] },
      generatedAt: "2026-12-01T00:00:00Z",
      poolLowWater: 2,
      source: evil,
    });
    assert.doesNotMatch(html, /<img/);
    assert.doesNotMatch(html, /\u202E/);
    assert.match(html, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;&#39;\\u\{202E\}txt\.exe/);
    assert.equal(escapeHtml(`a&b"c'd<e>`), "a&amp;b&quot;c&#39;d&lt;e&gt;");
  });

  it("CSV fields are quoted and never start a formula", () => {
    assert.equal(escapeCsv(`=HYPERLINK("x")`), `"'=HYPERLINK(""x"")"`);
    assert.equal(escapeCsv("a,b"), `"a,b"`);
    assert.equal(escapeCsv("plain"), "plain");
  });
});
