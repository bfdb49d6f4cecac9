import * as pulumi from "@pulumi/pulumi";
import type { InventoryInputs, TokenInputs } from "./runtime.js";

// The dynamic providers of HardwareOathToken and TokenInventory. Pulumi stores a provider's text in
// both the inputs and the outputs of every resource (the `__provider` property: sdk/nodejs/dynamic
// index.ts sets it, cmd/dynamic-provider/index.ts copies it into the outputs), where it stays: Read
// and Delete of a resource run the text stored when it was last updated, forever. So the text is
// small and fixed: it finds the project's compiled runtime and asks its `v1` interface, which every
// later version of runtime.ts must keep answering, for the provider of one kind. No clients, no
// credentials, no paths of this machine. (States written before hold longer texts, the SDK closure
// serializer's and then this file's, that call the same `v1`: test/fixtures/pulumi-state-v1*.)

type Kind = "token" | "inventory";

/** The compiled runtime, relative to the project root. */
const RUNTIME = "dist/provider/pulumi/runtime.js";

/**
 * The text the plugin runs for `kind`: `handler()` gives the runtime's `v1.provider(kind)`. Written
 * here, minified, rather than by the SDK's closure serializer (sdk/nodejs/runtime/closure), whose
 * wrappers of each function took 1.1 KB; stored twice per resource, every character counts.
 * - The plugin loads a text once per process (`requireFromString(text).handler()`), awaits its
 *   `configure` and only then calls any other method (cmd/dynamic-provider getProvider).
 * - The engine starts the plugin in the folder of Pulumi.yaml's `main`, or the project root when
 *   there is none (pkg/engine/project.go getPwdMain). require-from-string gives the text the module
 *   paths of that folder: its `node_modules` and every one above. Node resolves a bare name in each
 *   of them by joining the paths (lib/internal/modules/cjs/loader.js Module._findPath, the
 *   LOAD_NODE_MODULES step of the modules documentation), so `entra-tokens/../../dist/…` is
 *   `dist/…` beside the project's node_modules, from the root or any folder below it, with no path
 *   of this machine in the state. The name is only a path segment: no such package is installed.
 */
function providerText(kind: Kind): string {
  // Single quotes: the state's JSON escapes every double quote.
  return (
    `exports.handler=()=>{try{return require('entra-tokens/../../${RUNTIME}').v1.provider('${kind}')}` +
    `catch(e){throw Error(e.message.split('\\n')[0]+': run npm ci && npm run build')}}`
  );
}

/**
 * A resource of the SDK's dynamic provider, registered as `pulumi.dynamic.Resource` registers it
 * (sdk/nodejs/dynamic/index.ts: type `pulumi-nodejs:dynamic/<module>:<type>`, the provider text in
 * `__provider`), with this project's text.
 */
abstract class DynamicResource extends pulumi.CustomResource {
  constructor(kind: Kind, type: string, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions) {
    super(`pulumi-nodejs:dynamic/entra-tokens:${type}`, name, { ...props, __provider: providerText(kind) }, opts);
  }
}

type Args<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** One hardware OATH token of Entra ID; the resource name is the serial. */
export class HardwareOathToken extends DynamicResource {
  declare readonly deviceId: pulumi.Output<string>;
  declare readonly status: pulumi.Output<string>;
  declare readonly state: pulumi.Output<string>;
  declare readonly upn: pulumi.Output<string | undefined>;
  declare readonly seedFingerprint: pulumi.Output<string | undefined>;
  declare readonly secretFingerprint: pulumi.Output<string | undefined>;

  constructor(name: string, args: Args<TokenInputs>, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      ...(args.secretKey === undefined ? {} : { secretKey: pulumi.secret(args.secretKey) }),
      deviceId: undefined,
      status: undefined,
      seedFingerprint: args.seedFingerprint,
      secretFingerprint: undefined,
    };
    // A weak seed's fingerprint is a secret output. `secretKey` is never an output (and one named
    // after a secret input would be secret anyway).
    super("token", "HardwareOathToken", name, props, { ...opts, additionalSecretOutputs: ["secretFingerprint"] });
  }
}

/**
 * The list of tokens tokens.yaml declares and its deletion policy, registered before every token:
 * its Check sees the previous list, so a run that would delete more than policy.maxDeletes is
 * refused before any token is touched.
 */
export class TokenInventory extends DynamicResource {
  constructor(name: string, args: Args<InventoryInputs>, opts?: pulumi.CustomResourceOptions) {
    super("inventory", "TokenInventory", name, { ...args }, opts);
  }
}
