import * as pulumi from "@pulumi/pulumi";
import type { TokenInputs } from "./runtime.js";

// The HardwareOathToken dynamic provider. Pulumi serializes this object's methods and runs them in
// its own provider process: each method therefore only `require`s the runtime there, from the
// project (ENTRA_TOKENS_ROOT, or the working directory Pulumi starts it in: the one holding
// Pulumi.yaml), and captures nothing else: no clients, no credentials, no paths of this machine.

type Runtime = typeof import("./runtime.js");

/** Serialized along with the methods: it may only use `require` and `process`. */
function runtime(): Runtime {
  return require(require("node:path").join(process.env["ENTRA_TOKENS_ROOT"] ?? process.cwd(), "dist/provider/pulumi/runtime.js"));
}

export const hardwareOathTokenProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return runtime().check(news);
  },
  async diff(_id, olds, news) {
    return runtime().diff(olds, news);
  },
  async create(inputs) {
    return runtime().create(inputs);
  },
  async read(id, props) {
    return runtime().read(id, props);
  },
  async update(id, olds, news) {
    return runtime().update(id, olds, news);
  },
  async delete(id) {
    await runtime().remove(id);
  },
};

export interface HardwareOathTokenArgs {
  serial: pulumi.Input<string>;
  state: pulumi.Input<TokenInputs["state"]>;
  upn?: pulumi.Input<string>;
  displayName?: pulumi.Input<string>;
  manufacturer: pulumi.Input<string>;
  model: pulumi.Input<string>;
  timeIntervalInSeconds: pulumi.Input<30 | 60>;
  hashFunction: pulumi.Input<"hmacsha1" | "hmacsha256">;
  /** The seed, base32. Always stored as a Pulumi secret. */
  secretKey?: pulumi.Input<string>;
}

/** One hardware OATH token of Entra ID; the resource name is the serial. */
export class HardwareOathToken extends pulumi.dynamic.Resource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly status: pulumi.Output<string>;
  declare readonly state: pulumi.Output<string>;
  declare readonly upn: pulumi.Output<string | undefined>;
  declare readonly secretFingerprint: pulumi.Output<string | undefined>;

  constructor(name: string, args: HardwareOathTokenArgs, opts?: pulumi.CustomResourceOptions) {
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
