import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as proto from "@pulumi/pulumi/proto/provider_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type { GraphEmulator } from "../emulator/server.js";
import { hardwareOathTokenProvider } from "../provider/pulumi/provider.js";
import { encodeBase32 } from "../provider/seeds/normalize.js";
import { clientEnv, startHttpsEmulator } from "./support/emulator.js";

// The provider as the Pulumi engine runs it: the SDK's own dynamic-provider gRPC server in a
// separate process, fed the provider exactly as the SDK serializes it, driven over gRPC.

const PROJECT_ROOT = join(__dirname, "..", "..");
const DYNAMIC_PROVIDER = require.resolve("@pulumi/pulumi/cmd/dynamic-provider/index.js");
const TYPE = "pulumi-nodejs:dynamic/entra-tokens:HardwareOathToken";

type Props = Record<string, unknown>;

class ProviderHarness {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: ResourceProviderClient,
    private readonly providerText: string,
  ) {}

  static async start(env: Record<string, string>): Promise<ProviderHarness> {
    // The working directory is the project, as when `pulumi up` starts the provider.
    const child = spawn(process.execPath, [DYNAMIC_PROVIDER, "127.0.0.1:1"], { cwd: PROJECT_ROOT, env: { PATH: process.env["PATH"], ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
      child.once("exit", (code) => reject(new Error(`dynamic provider exited ${code}`)));
    });
    const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const serialized = await pulumi.runtime.serializeFunction(() => hardwareOathTokenProvider, { allowSecrets: true });
    return new ProviderHarness(child, client, serialized.text);
  }

  stop(): void {
    this.client.close();
    this.child.kill();
  }

  private struct(props: Props): Struct {
    return Struct.fromJavaScript({ ...props, __provider: this.providerText } as Parameters<typeof Struct.fromJavaScript>[0]);
  }

  private call<Req, Res>(method: (req: Req, callback: (error: grpc.ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => method.call(this.client, request, (error, response) => (error ? reject(error) : resolve(response))));
  }

  urn(name: string): string {
    return `urn:pulumi:test::entra-tokens::${TYPE}::${name}`;
  }

  async check(news: Props, olds: Props = {}): Promise<{ inputs: Props; failures: { property: string; reason: string }[] }> {
    const req = new proto.CheckRequest();
    req.setUrn(this.urn(String(news["serial"])));
    req.setOlds(this.struct(olds));
    req.setNews(this.struct(news));
    const res = await this.call<proto.CheckRequest, proto.CheckResponse>(this.client.check, req);
    return { inputs: res.getInputs()?.toJavaScript() ?? {}, failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })) };
  }

  async diff(id: string, olds: Props, news: Props): Promise<{ changes: boolean; replaces: string[]; deleteBeforeReplace: boolean }> {
    const req = new proto.DiffRequest();
    req.setId(id);
    req.setUrn(this.urn(String(news["serial"])));
    req.setOlds(this.struct(olds));
    req.setNews(this.struct(news));
    const res = await this.call<proto.DiffRequest, proto.DiffResponse>(this.client.diff, req);
    return { changes: res.getChanges() === proto.DiffResponse.DiffChanges.DIFF_SOME, replaces: res.getReplacesList(), deleteBeforeReplace: res.getDeletebeforereplace() };
  }

  async create(props: Props): Promise<{ id: string; outs: Props }> {
    const req = new proto.CreateRequest();
    req.setUrn(this.urn(String(props["serial"])));
    req.setProperties(this.struct(props));
    const res = await this.call<proto.CreateRequest, proto.CreateResponse>(this.client.create, req);
    return { id: res.getId(), outs: res.getProperties()?.toJavaScript() ?? {} };
  }

  async read(id: string, props: Props): Promise<{ id: string; outs: Props }> {
    const req = new proto.ReadRequest();
    req.setId(id);
    req.setUrn(this.urn(String(props["serial"] ?? id)));
    req.setProperties(this.struct(props));
    const res = await this.call<proto.ReadRequest, proto.ReadResponse>(this.client.read, req);
    return { id: res.getId(), outs: res.getProperties()?.toJavaScript() ?? {} };
  }

  async update(id: string, olds: Props, news: Props): Promise<Props> {
    const req = new proto.UpdateRequest();
    req.setId(id);
    req.setUrn(this.urn(String(news["serial"])));
    req.setOlds(this.struct(olds));
    req.setNews(this.struct(news));
    const res = await this.call<proto.UpdateRequest, proto.UpdateResponse>(this.client.update, req);
    return res.getProperties()?.toJavaScript() ?? {};
  }

  async delete(id: string, props: Props): Promise<void> {
    const req = new proto.DeleteRequest();
    req.setId(id);
    req.setUrn(this.urn(String(props["serial"])));
    req.setProperties(this.struct(props));
    await this.call(this.client.delete, req);
  }
}

const seedOf = (i: number) => encodeBase32(Buffer.from(`pulumi-seed-${i}`.padEnd(20, "*")));
const inputs = (i: number, extra: Props = {}): Props => ({
  serial: `PU${String(i).padStart(3, "0")}`,
  state: i % 2 === 0 ? "activated" : "available",
  ...(i % 2 === 0 ? { upn: `puser${i}@contoso.com` } : {}),
  manufacturer: "Token2",
  model: "C202",
  timeIntervalInSeconds: 30,
  hashFunction: "hmacsha1",
  secretKey: seedOf(i),
  ...extra,
});

describe("HardwareOathToken provider over the SDK's gRPC server", function () {
  this.timeout(180_000);
  let emulator: GraphEmulator;
  let harness: ProviderHarness;

  before(async () => {
    emulator = await startHttpsEmulator();
    for (let i = 0; i < 60; i++) emulator.tenant.addUser({ userPrincipalName: `puser${i}@contoso.com` });
    harness = await ProviderHarness.start(clientEnv(emulator));
  });
  after(async () => {
    harness.stop();
    await emulator.stop();
  });

  it("checks inputs with the tokens.yaml rules, without echoing the seed", async () => {
    const ok = await harness.check(inputs(0, { secretKey: "jbsw y3dp ehpk 3pxp" }));
    assert.deepEqual(ok.failures, []);
    assert.equal(ok.inputs["secretKey"], "JBSWY3DPEHPK3PXP");
    const bad = await harness.check(inputs(1, { state: "assigned", timeIntervalInSeconds: 45, secretKey: "NOT-BASE32-8" }));
    assert.deepEqual(bad.failures.map((f) => f.property).sort(), ["secretKey", "timeIntervalInSeconds", "upn"]);
    assert.ok(!JSON.stringify(bad.failures).includes("NOT-BASE32-8"));
  });

  it("creates 50 tokens, changes assignments, refreshes after out-of-band changes, and deletes", async () => {
    const created: { id: string; outs: Props; news: Props }[] = [];
    for (let i = 0; i < 50; i++) {
      const news = (await harness.check(inputs(i))).inputs;
      const { id, outs } = await harness.create(news);
      created.push({ id, outs, news });
    }
    assert.equal(emulator.tenant.allDevices().length, 50);
    assert.equal(emulator.tenant.allDevices().filter((d) => d.status === "activated").length, 25);
    const first = created[0]!;
    assert.deepEqual([first.outs["status"], first.outs["upn"], first.outs["deviceId"]], ["activated", "puser0@contoso.com", first.id]);
    assert.equal(first.outs["secretKey"], undefined, "the seed is never an output");
    assert.match(String(first.outs["secretFingerprint"]), /^[0-9a-f]{64}$/);

    // Change assignments: a pool token goes to a user; an activated token moves to someone else.
    const pool = created[1]!;
    const toUser = { ...pool.news, state: "assigned", upn: "puser51@contoso.com" };
    assert.deepEqual(await harness.diff(pool.id, pool.outs, toUser), { changes: true, replaces: [], deleteBeforeReplace: true });
    const poolOuts = await harness.update(pool.id, pool.outs, toUser);
    assert.deepEqual([poolOuts["status"], poolOuts["upn"]], ["assigned", "puser51@contoso.com"]);
    const moved = { ...first.news, upn: "puser52@contoso.com" };
    const movedOuts = await harness.update(first.id, first.outs, moved);
    assert.deepEqual([movedOuts["status"], movedOuts["upn"]], ["activated", "puser52@contoso.com"]);
    assert.deepEqual(await harness.diff(first.id, movedOuts, moved), { changes: false, replaces: [], deleteBeforeReplace: true });

    // What Graph cannot change on an assigned token means replacement, delete first.
    const replaced = await harness.diff(first.id, movedOuts, { ...moved, model: "C301", secretKey: seedOf(99) });
    assert.deepEqual(replaced.replaces.sort(), ["model", "secretKey"]);
    assert.equal(replaced.deleteBeforeReplace, true);

    // Out-of-band: someone unassigns a token and deletes another in the portal; refresh shows it.
    const third = created[2]!;
    emulator.tenant.unassign("puser2@contoso.com", third.id);
    const refreshed = await harness.read(third.id, third.outs);
    assert.deepEqual([refreshed.id, refreshed.outs["status"], refreshed.outs["upn"]], [third.id, "available", undefined]);
    assert.deepEqual(await harness.diff(third.id, refreshed.outs, third.news).then((d) => d.changes), true);
    const fourth = created[3]!;
    emulator.tenant.deleteDevice(fourth.id);
    assert.equal((await harness.read(fourth.id, fourth.outs)).id, "", "a token deleted out of band reads as gone");

    // Import by serial finds the device id.
    const imported = await harness.read(String(created[4]!.news["serial"]), { serial: created[4]!.news["serial"] });
    assert.equal(imported.id, created[4]!.id);

    for (const c of created) if (c !== fourth) await harness.delete(c.id, c.outs);
    assert.equal(emulator.tenant.allDevices().length, 0);
  });

  it("explains a create of a token that already exists and how to adopt it", async () => {
    emulator.tenant.createDevice({ serialNumber: "EXIST1", manufacturer: "T", model: "M", secretKey: "JBSWY3DPEHPK3PXP", timeIntervalInSeconds: 30 }, false);
    await assert.rejects(harness.create(inputs(7, { serial: "EXIST1" })), /already exists in Entra.*pulumi import/);
  });
});
