import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { GraphEmulator } from "../emulator/server.js";
import { clientEnv, startHttpsEmulator } from "./support/emulator.js";
import { PROJECT_ROOT } from "./support/pulumi-project.js";

// The stack program under pulumi.runtime.setMocks: one resource per token, right inputs, secret seeds.

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

describe("Pulumi program (stacks/index.ts) with mocks", () => {
  const registered: Registered[] = [];
  let program: () => Promise<Record<string, unknown>>;
  let emulator: GraphEmulator;
  const saved = { ...process.env };

  before(async () => {
    process.env["ENTRA_TOKENS_SEED_PASSPHRASE"] = "entra-tokens demo passphrase (public, demo only)";
    // The program checks once that Graph answers before it registers anything.
    emulator = await startHttpsEmulator();
    Object.assign(process.env, clientEnv(emulator));
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs });
          return { id: `${args.name}-id`, state: { ...args.inputs, deviceId: `${args.name}-device` } };
        },
        call: (args) => args.inputs,
      },
      "entra-tokens",
      "test",
      false,
    );
    program = require("../stacks/index.js");
  });
  after(async () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await emulator.stop();
  });

  it("registers one HardwareOathToken per token of tokens.yaml, named by serial, with its inputs", async () => {
    const outputs = await program();
    // Registration completes asynchronously: wait for every resource's outputs.
    const deviceIds = outputs["deviceIds"] as Record<string, pulumi.Output<string>>;
    await Promise.all(Object.values(deviceIds).map(outputValue));
    assert.equal(outputs["tokens"], 7);
    const tokens = registered.filter((r) => r.type.endsWith("HardwareOathToken"));
    assert.deepEqual(tokens.map((r) => r.name).sort(), ["60234561", "60234562", "60234563", "60234564", "60234565", "60234566", "FT-0001"]);
    // Besides the tokens, only the inventory that guards deletions.
    const inventory = registered.filter((r) => !r.type.endsWith("HardwareOathToken"));
    assert.deepEqual(inventory.map((r) => [r.type, r.name]), [["pulumi-nodejs:dynamic/entra-tokens:TokenInventory", "tokens"]]);
    assert.deepEqual([Object.keys(inventory[0]!.inputs["tokens"] as object).length, inventory[0]!.inputs["unmanaged"], inventory[0]!.inputs["maxDeletes"]], [7, "report", 5]);
    const feitian = registered.find((r) => r.name === "FT-0001")!.inputs;
    assert.deepEqual(
      [feitian["state"], feitian["upn"], feitian["manufacturer"], feitian["timeIntervalInSeconds"], feitian["hashFunction"]],
      ["activated", "nestor.wilke@contoso.com", "Feitian", 60, "hmacsha1"],
    );
    assert.equal(registered.find((r) => r.name === "60234565")!.inputs["upn"], undefined);
    assert.ok(typeof feitian["__provider"] === "string", "the serialized provider travels with the inputs");
    // It stays in the state for good: nothing of this machine may be in it.
    assert.ok(!String(feitian["__provider"]).includes(join(__dirname, "..", "..")), "the serialized provider holds an absolute path");
  });

  it("sends every seed to the engine as a secret, and keeps it out of the serialized provider", () => {
    const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
    for (const r of registered.filter((t) => t.type.endsWith("HardwareOathToken"))) {
      const secretKey = r.inputs["secretKey"];
      assert.ok(typeof secretKey === "object" && secretKey !== null, `${r.name}: secretKey should be a secret`);
      assert.equal(Object.values(secretKey).includes(SECRET_SIG), true, `${r.name}: secretKey is not marked secret`);
      const seed = Reflect.get(secretKey, "value");
      assert.match(String(seed), /^[A-Z2-7]{32}$/);
      assert.ok(!String(r.inputs["__provider"]).includes(String(seed)));
    }
  });

  it("stores a provider text that the SDK's plugin loader runs from the project root or a folder below, and that says to build when there is nothing built", () => {
    const text = String(registered.find((r) => r.name === "FT-0001")!.inputs["__provider"]);
    const inventoryText = String(registered.find((r) => r.name === "tokens")!.inputs["__provider"]);
    assert.ok(text.length < 250 && inventoryText.length < 250, `the text is stored twice per resource: ${text.length} characters`);
    // As cmd/dynamic-provider getProvider does: requireFromString(text).handler(), in the engine's folder.
    const load = (cwd: string, providerText: string) =>
      spawnSync(process.execPath, ["-e", `const p = require(${JSON.stringify(join(PROJECT_ROOT, "node_modules", "require-from-string"))})(process.argv[1]).handler(); console.log(Object.keys(p).sort().join(","))`, providerText], { cwd, encoding: "utf8" });
    for (const cwd of [PROJECT_ROOT, join(PROJECT_ROOT, "dist", "stacks")]) {
      const loaded = load(cwd, text);
      assert.equal(loaded.stdout.trim(), "check,configure,create,delete,diff,read,update", `${cwd}: ${loaded.stderr}`);
      assert.equal(load(cwd, inventoryText).stdout.trim(), "check,configure,create,diff,read,update");
    }
    const unbuilt = mkdtempSync(join(tmpdir(), "entra-unbuilt-"));
    symlinkSync(join(PROJECT_ROOT, "node_modules"), join(unbuilt, "node_modules"), "dir");
    mkdirSync(join(unbuilt, "stacks"));
    const failed = load(join(unbuilt, "stacks"), text);
    assert.notEqual(failed.status, 0);
    assert.match(failed.stderr, /Error: Cannot find module 'entra-tokens\/\.\.\/\.\.\/dist\/provider\/pulumi\/runtime\.js': run npm ci && npm run build/);
  });
});
