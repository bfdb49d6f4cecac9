import type { ValidateFunction } from "ajv/dist/2020.js";

// tokens.schema.json's validator. `npm run build` precompiles it (scripts/compile-schema.ts) so a
// command starts without ajv's compiler; a bare `tsc` build has no generated file, and then the
// schema is compiled here, as before, at the cost of ~0.1 s.

/** The schema validator; `T` is the shape the schema admits. */
export function schemaValidator<T>(): ValidateFunction<T> {
  try {
    return require("./tokens-schema.generated.js") as ValidateFunction<T>;
  } catch (error: unknown) {
    if (!(error instanceof Error && "code" in error && error.code === "MODULE_NOT_FOUND")) throw error;
    const { schemaCompiler } = require("./schema-options.js") as typeof import("./schema-options.js");
    return schemaCompiler().compile<T>(require("../../schemas/tokens.schema.json"));
  }
}
