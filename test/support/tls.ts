import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TlsMaterial } from "../../emulator/tls.js";

/** dist/test-tls: written by prepare-tls before the suites run. */
export const TEST_TLS_DIR = join(__dirname, "..", "..", "test-tls");

export function testTls(): TlsMaterial {
  const read = (name: string) => readFileSync(join(TEST_TLS_DIR, name), "utf8");
  return { caCert: read("ca.pem"), key: read("key.pem"), cert: read("cert.pem") };
}
