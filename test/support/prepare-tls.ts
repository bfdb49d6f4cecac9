// Run before mocha (see package.json "test"): a CA and server certificate for the emulator, which
// mocha's process then trusts through NODE_EXTRA_CA_CERTS exactly as a user's process would.
import { mkdirSync, writeFileSync } from "node:fs";
import { generateTls } from "../../emulator/tls.js";
import { TEST_TLS_DIR } from "./tls.js";

mkdirSync(TEST_TLS_DIR, { recursive: true });
const tls = generateTls();
writeFileSync(`${TEST_TLS_DIR}/ca.pem`, tls.caCert);
writeFileSync(`${TEST_TLS_DIR}/key.pem`, tls.key, { mode: 0o600 });
writeFileSync(`${TEST_TLS_DIR}/cert.pem`, tls.cert);
