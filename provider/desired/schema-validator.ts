import type { ValidateFunction } from "ajv/dist/2020.js";

// tokens.schema.json's validators: the whole file, and one token (checked one by one, since ajv's
// allErrors over a long invalid list costs quadratic time). `npm run build` precompiles both
// (scripts/compile-schema.ts) so a command starts without ajv's compiler; a bare `tsc` build has no
// generated file, and then the schema is compiled here, as before, at the cost of ~0.1 s.

export interface SchemaValidators<T, Token> {
  file: ValidateFunction<T>;
  token: ValidateFunction<Token>;
}

/** The `$defs` entry one token is checked against. */
export const TOKEN_DEF = "#/$defs/token";

/** The schema validators; `T` is the shape the schema admits, `Token` that of one token. */
export function schemaValidators<T, Token>(): SchemaValidators<T, Token> {
  try {
    const generated = require("./tokens-schema.generated.js") as { validateFile: ValidateFunction<T>; validateToken: ValidateFunction<Token> };
    return { file: generated.validateFile, token: generated.validateToken };
  } catch (error: unknown) {
    if (!(error instanceof Error && "code" in error && error.code === "MODULE_NOT_FOUND")) throw error;
    const { schemaCompiler } = require("./schema-options.js") as typeof import("./schema-options.js");
    const schema = require("../../schemas/tokens.schema.json") as { $id: string };
    const ajv = schemaCompiler();
    const file = ajv.compile<T>(schema);
    const token = ajv.getSchema<Token>(`${schema.$id}${TOKEN_DEF}`);
    if (!token) throw new Error(`tokens.schema.json has no ${TOKEN_DEF}`);
    return { file, token };
  }
}
