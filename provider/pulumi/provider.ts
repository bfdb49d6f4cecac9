import * as pulumi from "@pulumi/pulumi";
import type { InventoryInputs, ProviderRuntimeV1, TokenInputs } from "./runtime.js";

// The dynamic providers of HardwareOathToken and TokenInventory. Pulumi serializes these objects
// (sdk/nodejs/runtime/closure: each function with its own wrapper) and stores the text in both the
// inputs and the outputs of every resource, where it stays: Read and Delete of a resource run the
// text stored when it was last updated, forever (sdk/nodejs/cmd/dynamic-provider/index.ts). So the
// text is small and fixed: a kind and one `configure` function that finds the project and takes
// every other method from the runtime's `v1` interface, which every later version of runtime.ts
// must keep answering. No clients, no credentials, no paths of this machine. (State written before
// holds a longer text that calls the same `v1`: test/fixtures/pulumi-state-v1*.)

type Config = { config: { get(key: string): unknown } };
type Kind = "token" | "inventory";

/**
 * The one method stored: it makes its provider the runtime's `v1[kind]`. The plugin deserializes
 * a provider text once per process, awaits its `configure` and only then calls any other method
 * (cmd/dynamic-provider getProvider); the body completes before its first await, so a concurrent
 * call that finds the provider in the plugin's cache finds it complete too. It may only use
 * `require`, `process` and `this`. The engine starts the plugin in the folder of Pulumi.yaml's
 * `main`, or the project root when there is none (pkg/engine/project.go getPwdMain): the compiled
 * runtime is found there or above.
 */
async function configure(this: { kind: Kind }, request: Config): Promise<void> {
  const { existsSync } = require("node:fs"), { dirname } = require("node:path");
  let dir = process.cwd();
  while (!existsSync(`${dir}/dist/provider/pulumi/runtime.js`)) {
    if (dir === (dir = dirname(dir))) throw new Error(`entra-tokens: no dist/provider/pulumi/runtime.js at or above ${process.cwd()}: run npm run build in the project`);
  }
  const v1: ProviderRuntimeV1 = require(`${dir}/dist/provider/pulumi/runtime.js`).v1;
  v1.configure((key) => request.config.get(key));
  Object.assign(this, v1[this.kind]);
}

// The SDK's type asks for `create` up front; these providers have it (and the rest) once configured.
export const hardwareOathTokenProvider = { kind: "token", configure } as { kind: Kind; configure: typeof configure } & pulumi.dynamic.ResourceProvider;
export const tokenInventoryProvider = { kind: "inventory", configure } as { kind: Kind; configure: typeof configure } & pulumi.dynamic.ResourceProvider;

type Args<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** One hardware OATH token of Entra ID; the resource name is the serial. */
export class HardwareOathToken extends pulumi.dynamic.Resource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly status: pulumi.Output<string>;
  declare readonly state: pulumi.Output<string>;
  declare readonly upn: pulumi.Output<string | undefined>;
  declare readonly secretFingerprint: pulumi.Output<string | undefined>;

  constructor(name: string, args: Args<TokenInputs>, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      ...(args.secretKey === undefined ? {} : { secretKey: pulumi.secret(args.secretKey) }),
      deviceId: undefined,
      status: undefined,
      secretFingerprint: undefined,
    };
    super(hardwareOathTokenProvider, name, props, { ...opts, additionalSecretOutputs: ["secretKey", "secretFingerprint"] }, "entra-tokens", "HardwareOathToken");
  }
}

/**
 * The list of tokens tokens.yaml declares and its deletion policy, registered before every token:
 * its Check sees the previous list, so a run that would delete more than policy.maxDeletes is
 * refused before any token is touched.
 */
export class TokenInventory extends pulumi.dynamic.Resource {
  constructor(name: string, args: Args<InventoryInputs>, opts?: pulumi.CustomResourceOptions) {
    super(tokenInventoryProvider, name, { ...args }, opts, "entra-tokens", "TokenInventory");
  }
}
