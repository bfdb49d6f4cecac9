import * as pulumi from "@pulumi/pulumi";
import type { InventoryInputs, TokenInputs } from "./runtime.js";

// The dynamic providers of HardwareOathToken and TokenInventory. Pulumi stores a provider's text in
// both the inputs and the outputs of every resource (the `__provider` property: sdk/nodejs/dynamic
// index.ts sets it, cmd/dynamic-provider/index.ts copies it into the outputs), where it stays: Read
// and Delete of a resource run the text stored when it was last updated, forever. So the text is
// small and fixed: a kind and one `configure` function that finds the project and takes every other
// method from the runtime's `v1` interface, which every later version of runtime.ts must keep
// answering. No clients, no credentials, no paths of this machine. (States written before hold
// longer texts, from the SDK's closure serializer, that call the same `v1`: test/fixtures/pulumi-state-v1*.)

type Kind = "token" | "inventory";

/**
 * The text the plugin runs for `kind`: `handler()` gives the provider, whose one method,
 * `configure`, makes it the runtime's `v1[kind]`. Written here, minified, rather than by the SDK's
 * closure serializer (sdk/nodejs/runtime/closure), whose wrappers of each function took 1.1 KB.
 * - The plugin loads a text once per process (`requireFromString(text).handler()`), awaits its
 *   `configure` and only then calls any other method (cmd/dynamic-provider getProvider).
 * - The body completes before its first await, so a concurrent call that finds the provider in the
 *   plugin's cache finds it complete too.
 * - It may only use `require`, `process` and `this`.
 * - The engine starts the plugin in the folder of Pulumi.yaml's `main`, or the project root when
 *   there is none (pkg/engine/project.go getPwdMain): the compiled runtime is found there or above.
 */
function providerText(kind: Kind): string {
  // Single quotes: the state's JSON escapes every double quote.
  return (
    `exports.handler=()=>({kind:'${kind}',async configure(c){` +
    `let d=process.cwd(),f='/dist/provider/pulumi/runtime.js';` +
    `while(!require('fs').existsSync(d+f))if(d===(d=require('path').dirname(d)))throw new Error('entra-tokens: no '+f+' at or above '+process.cwd()+': run npm run build');` +
    `const v=require(d+f).v1;v.configure(k=>c.config.get(k));Object.assign(this,v[this.kind])}})`
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
  declare readonly secretFingerprint: pulumi.Output<string | undefined>;

  constructor(name: string, args: Args<TokenInputs>, opts?: pulumi.CustomResourceOptions) {
    const props = {
      ...args,
      ...(args.secretKey === undefined ? {} : { secretKey: pulumi.secret(args.secretKey) }),
      deviceId: undefined,
      status: undefined,
      secretFingerprint: undefined,
    };
    super("token", "HardwareOathToken", name, props, { ...opts, additionalSecretOutputs: ["secretKey", "secretFingerprint"] });
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
