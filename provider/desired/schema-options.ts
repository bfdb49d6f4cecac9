import { Ajv2020, type Options } from "ajv/dist/2020.js";

/** The one ajv configuration for tokens.schema.json: the build's precompiled code and a runtime compile agree. */
export function schemaCompiler(extra: Options = {}): Ajv2020 {
  return new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true, ...extra });
}
