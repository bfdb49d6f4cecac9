// The `yaml` library (72 modules, ~70 ms to load) is needed only when the fast reader (fast-read.ts)
// declines a file, for positions in diagnostics, and by the editors: it is loaded on first use, so
// `validate` of a plain file starts without it.

type YamlLibrary = typeof import("yaml");
let loaded: YamlLibrary | undefined;

export function yamlLibrary(): YamlLibrary {
  loaded ??= require("yaml") as YamlLibrary;
  return loaded;
}
