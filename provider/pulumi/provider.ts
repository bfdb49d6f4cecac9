import * as pulumi from "@pulumi/pulumi";
import type { InventoryInputs, ProviderRuntimeV1, TokenInputs } from "./runtime.js";

// The dynamic providers of HardwareOathToken and TokenInventory. Pulumi serializes these objects
// with every resource and stores the text in the state, where it stays: Read and Delete of a resource
// run the text stored when it was last updated, forever (sdk/nodejs/cmd/dynamic-provider/index.ts).
// So the text stays small and fixed: it only finds the project and calls the runtime's `v1`
// interface, which every later version of runtime.ts must keep answering. It captures nothing
// else: no clients, no credentials, no paths of this machine.

/**
 * Serialized along with the methods: it may only use `require` and `process`. The engine starts the
 * provider in the folder of Pulumi.yaml's `main`, or the project root when there is none
 * (pkg/engine/project.go getPwdMain): the project is the nearest folder above holding Pulumi.yaml.
 */
function runtime(): ProviderRuntimeV1 {
  const fs = require("node:fs");
  const path = require("node:path");
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml")) || fs.existsSync(path.join(dir, "Pulumi.yml"))) {
      return require(path.join(dir, "dist", "provider", "pulumi", "runtime.js")).v1;
    }
    if (path.dirname(dir) === dir) throw new Error(`entra-tokens: no Pulumi.yaml in ${process.cwd()} or above; run pulumi in the entra-tokens project (after npm run build)`);
  }
}

type Config = { config: { get(key: string): unknown } };

export const hardwareOathTokenProvider: pulumi.dynamic.ResourceProvider = {
  async configure(request: Config) {
    runtime().configure((key) => request.config.get(key));
  },
  async check(olds, news) {
    return runtime().token.check(olds, news);
  },
  async diff(id, olds, news) {
    return runtime().token.diff(id, olds, news);
  },
  async create(inputs) {
    return runtime().token.create(inputs);
  },
  async read(id, props) {
    return runtime().token.read(id, props);
  },
  async update(id, olds, news) {
    return runtime().token.update(id, olds, news);
  },
  async delete(id, props) {
    await runtime().token.delete(id, props);
  },
};

export const tokenInventoryProvider: pulumi.dynamic.ResourceProvider = {
  async configure(request: Config) {
    runtime().configure((key) => request.config.get(key));
  },
  async check(olds, news) {
    return runtime().inventory.check(olds, news);
  },
  async diff(id, olds, news) {
    return runtime().inventory.diff(id, olds, news);
  },
  async create(inputs) {
    return runtime().inventory.create(inputs);
  },
  async update(id, olds, news) {
    return runtime().inventory.update(id, olds, news);
  },
};

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
