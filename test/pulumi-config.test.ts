import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { GraphEmulator } from "../emulator/server.js";
import { ADMIN_APP, startHttpsEmulator, TENANT } from "./support/emulator.js";
import { FakeEngine, type OperationResult } from "./support/pulumi-engine.js";
import { copyProject, DEMO_SEED_PASSPHRASE, DEMO_SERIALS, OTHER_TENANT } from "./support/pulumi-project.js";

// Credentials and the seed passphrase as stack config secrets (`pulumi config set --secret`), and
// the provider's own tenant check, through the engine harness: the engine decrypts Pulumi.<stack>.yaml
// and hands the values to the program (PULUMI_CONFIG) and the dynamic provider (Configure).

const SEED_PASSPHRASE = DEMO_SEED_PASSPHRASE;
const STATE_PASSPHRASE = "state passphrase for tests";

/** What a deploy job's environment holds when its secrets live in the stack's config: no credential, no seed passphrase. */
function bareEnv(emulator: GraphEmulator): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"],
    AZURE_AUTHORITY_HOST: emulator.url,
    // Program and plugins start in other folders: the CA path must not be relative.
    NODE_EXTRA_CA_CERTS: resolve(process.env["NODE_EXTRA_CA_CERTS"] ?? ""),
    PULUMI_CONFIG_PASSPHRASE: STATE_PASSPHRASE,
  };
}

/** Everything a user would see of a run, and what it left on disk (the stack file without its comments, which quote the public demo passphrase). */
function seen(result: OperationResult, dir: string, stack = "demo"): string {
  const stackFile = readFileSync(join(dir, "stacks", `Pulumi.${stack}.yaml`), "utf8").replace(/^\s*#.*$/gm, "");
  return [...result.errors, ...result.diagnostics, stackFile, readFileSync(join(dir, `state-${stack}.json`), "utf8")].join("\n");
}

function assertOk(result: OperationResult): void {
  // Diagnostics are shown only when no secret can be in them (the tests below check that first).
  assert.equal(result.ok, true, `${result.errors.length} error(s)`);
}

const registered = (result: OperationResult) => result.steps.filter((s) => !s.urn.includes("::pulumi:pulumi:Stack::"));

describe("Pulumi stack config secrets: credentials and the seed passphrase from `pulumi config set --secret`", function () {
  this.timeout(300_000);
  let emulator: GraphEmulator;
  beforeEach(async () => {
    emulator = await startHttpsEmulator();
  });
  afterEach(async () => {
    await emulator.stop();
  });

  it("converges, refreshes and previews with no secret in the environment, and no secret reaches the stack file, the state or the log", async () => {
    const dir = copyProject();
    const engine = new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: bareEnv(emulator) });
    engine.configSet("entra-tokens:tenantId", TENANT);
    engine.configSet("entra-tokens:clientId", ADMIN_APP.clientId);
    engine.configSet("entra-tokens:graphUrl", emulator.graphUrl);
    engine.configSet("entra-tokens:clientSecret", ADMIN_APP.clientSecret, { secret: true });
    const stackFile = readFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), "utf8");
    assert.match(stackFile, /^encryptionsalt: v1:/m, "the first secret gives the stack its passphrase salt");
    assert.match(stackFile, /entra-tokens:clientSecret:\n\s+secure: v1:/);
    assert.ok(!stackFile.includes(ADMIN_APP.clientSecret), "the client secret is in the stack file in clear");

    // A preview opens no seed: with no seed passphrase anywhere it still plans every token.
    const preview = await engine.preview();
    assert.ok(!preview.diagnostics.join("\n").includes(ADMIN_APP.clientSecret), "the client secret reached the log");
    assertOk(preview);
    assert.equal(registered(preview).filter((s) => s.op === "create").length, DEMO_SERIALS.length + 1);
    assert.equal(emulator.tenant.allDevices().length, 0);

    engine.configSet("entra-tokens:seedPassphrase", SEED_PASSPHRASE, { secret: true });
    const up = await engine.up();
    assert.ok(!up.diagnostics.join("\n").includes(ADMIN_APP.clientSecret), "the client secret reached the log");
    assertOk(up);
    const devices = emulator.tenant.allDevices();
    assert.deepEqual(devices.map((d) => d.serialNumber).sort(), [...DEMO_SERIALS].sort());
    assert.equal(emulator.tenant.deviceBySerial("60234561")?.status, "activated", "the seeds were opened with the passphrase from the stack config");

    // A refresh runs the provider alone: it signs in with the credentials its Configure carried.
    emulator.tenant.deleteDevice(emulator.tenant.deviceBySerial("60234566")!.id);
    const refresh = await engine.refresh();
    assertOk(refresh);
    assert.deepEqual(refresh.steps.filter((s) => s.op === "gone").map((s) => s.name), ["60234566"]);

    for (const result of [preview, up, refresh]) {
      const text = seen(result, dir);
      for (const value of [ADMIN_APP.clientSecret, SEED_PASSPHRASE, ...devices.map((d) => d.secretKey)]) assert.ok(!text.includes(value), "a secret is in the log, the stack file or the state in clear");
    }
  });

  it("refuses a secret setting stored in clear, without showing it, before anything is registered", async () => {
    const dir = copyProject();
    const engine = new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: { ...bareEnv(emulator), AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: ADMIN_APP.clientId, ENTRA_TOKENS_GRAPH_URL: emulator.graphUrl } });
    engine.configSet("entra-tokens:clientSecret", ADMIN_APP.clientSecret);
    for (const run of ["preview", "up"] as const) {
      const result = await engine[run]();
      assert.equal(result.ok, false);
      const errors = result.errors.join("\n");
      assert.ok(!errors.includes(ADMIN_APP.clientSecret) && !result.diagnostics.join("\n").includes(ADMIN_APP.clientSecret), "the clear secret was shown");
      assert.match(errors, /entra-tokens:clientSecret is stored in clear in the config of stack demo .*Fix: pulumi config set --secret entra-tokens:clientSecret <value> --stack demo/);
      assert.deepEqual(registered(result), []);
    }
    assert.equal(emulator.requests.length, 0, "nothing was sent");
  });

  it("refuses a wrong PULUMI_CONFIG_PASSPHRASE as the engine does, before program or provider start", async () => {
    const dir = copyProject();
    const env = { ...bareEnv(emulator), AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: ADMIN_APP.clientId, ENTRA_TOKENS_GRAPH_URL: emulator.graphUrl };
    new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env }).configSet("entra-tokens:clientSecret", ADMIN_APP.clientSecret, { secret: true });
    const wrong = await new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: { ...env, PULUMI_CONFIG_PASSPHRASE: "not the passphrase" } }).preview();
    assert.equal(wrong.ok, false);
    assert.match(wrong.errors.join("\n"), /incorrect passphrase/);
    const none: NodeJS.ProcessEnv = { ...env };
    delete none["PULUMI_CONFIG_PASSPHRASE"];
    const unset = await new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: none }).preview();
    assert.match(unset.errors.join("\n"), /passphrase must be set with PULUMI_CONFIG_PASSPHRASE/);
    assert.equal(emulator.requests.length, 0, "nothing was sent");
  });
});

describe("Pulumi provider's own tenant check: refresh and destroy without the program", function () {
  this.timeout(300_000);
  let contoso: GraphEmulator;
  let fabrikam: GraphEmulator;
  beforeEach(async () => {
    contoso = await startHttpsEmulator();
    fabrikam = await startHttpsEmulator({ tenantId: OTHER_TENANT });
  });
  afterEach(async () => {
    await Promise.all([contoso.stop(), fabrikam.stop()]);
  });

  it("refuses another tenant's credentials in `pulumi refresh` and `pulumi destroy`, leaving both tenants and the state as they were", async () => {
    const dir = copyProject();
    const tokens = join(dir, "tokens.yaml");
    // Under policy.unmanaged: delete a destroy deletes every token (otherwise the engine only releases them).
    writeFileSync(tokens, readFileSync(tokens, "utf8").replace(/^version: 1$/m, `version: 1\ntenant: { id: ${TENANT}, name: contoso }`).replace("unmanaged: report", "unmanaged: delete"));
    const envOf = (graph: GraphEmulator, tenant: string) => ({ ...bareEnv(graph), AZURE_TENANT_ID: tenant, AZURE_CLIENT_ID: ADMIN_APP.clientId, AZURE_CLIENT_SECRET: ADMIN_APP.clientSecret, ENTRA_TOKENS_GRAPH_URL: graph.graphUrl, ENTRA_TOKENS_SEED_PASSPHRASE: SEED_PASSPHRASE });
    const engine = (graph: GraphEmulator, tenant: string) => new FakeEngine({ cwd: dir, stack: "demo", stateFile: join(dir, "state-demo.json"), env: envOf(graph, tenant) });
    assertOk(await engine(contoso, TENANT).up());
    // fabrikam holds a token of the same serial: a destroy by serial there would delete it.
    fabrikam.tenant.createDevice({ serialNumber: "60234561", manufacturer: "Token2", model: "C202", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    writeFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), `${readFileSync(join(dir, "stacks", "Pulumi.demo.yaml"), "utf8")}  entra-tokens:allowDeletes: "true"\n`);

    const wrong = engine(fabrikam, OTHER_TENANT);
    for (const result of [await wrong.refresh(), await wrong.destroy()]) {
      assert.equal(result.ok, false);
      assert.match(result.errors.join("\n"), /tokens\.yaml is for tenant contoso \(11111111-2222-4333-8444-555555555555\), but the credentials sign in to tenant 22222222-3333-4444-8555-666666666666; nothing was sent to Entra/);
      // The SDK's plugin writes a failing Read's or Delete's stack to stderr, which the engine shows.
      assert.doesNotMatch(result.diagnostics.join("\n"), /\n\s+at |at .*\.js:\d+/, "no stack trace");
    }
    assert.deepEqual(fabrikam.requests.filter((r) => r.route !== "token" && r.route !== "identity"), [], "only sign-in reached the other tenant, no Graph request");
    assert.ok(fabrikam.tenant.deviceBySerial("60234561"));
    assert.equal(contoso.tenant.allDevices().length, DEMO_SERIALS.length);
    const tokensInState = () => (JSON.parse(readFileSync(join(dir, "state-demo.json"), "utf8")) as { resources: { urn: string }[] }).resources.filter((r) => r.urn.includes("HardwareOathToken")).length;
    assert.equal(tokensInState(), DEMO_SERIALS.length, "the refresh or the destroy dropped a token from the state");

    // With its own tenant's credentials the same refresh runs.
    assertOk(await engine(contoso, TENANT).refresh());

    // Without the tokens file the provider cannot tell the stack's tenant: it refuses, and says so.
    writeFileSync(tokens, "version: 1\ntokens: [\n");
    const unreadable = await engine(contoso, TENANT).refresh();
    assert.equal(unreadable.ok, false);
    assert.match(unreadable.errors.join("\n"), /could not read .*tokens\.yaml; nothing was sent to Entra:[\s\S]*Fix: run pulumi in the project whose stack names this file/);
    assert.doesNotMatch(unreadable.diagnostics.join("\n"), /TenantMismatchError|\n\s+at |at .*\.js:\d+/, "its own error, no stack trace");
    assert.equal(tokensInState(), DEMO_SERIALS.length);
  });
});
