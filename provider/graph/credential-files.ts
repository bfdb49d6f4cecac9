import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { InputFileError, readInputText } from "../safety/regular-file.js";
import { CredentialConfigError } from "./errors.js";

// Files named by AZURE_FEDERATED_TOKEN_FILE and AZURE_CLIENT_CERTIFICATE_PATH. Given a path,
// @azure/identity reads it with a plain readFile (credentials/workloadIdentityCredential.js
// readFileContents, clientCertificateCredential.js parseCertificate; 4.13): a FIFO would hang the
// sign-in and /dev/zero would fill memory. So we read them through the regular-file guards and hand
// the library their contents.

/** A federated token is a JWT of a few KB, a PEM certificate with its chain some 10 KB. */
export const CREDENTIAL_FILE_BYTES = 1024 * 1024;

/** The text of the file the variable `variable` names; a CredentialConfigError naming the variable otherwise. */
export async function readCredentialFile(variable: string, path: string): Promise<string> {
  try {
    // Kubernetes projects both files as links into the volume's `..data` folder; the variable is the operator's.
    const text = (await readInputText(path, variable, CREDENTIAL_FILE_BYTES, { followLinks: true })).trim();
    if (text === "") throw new InputFileError(`the file ${variable} names is empty; point ${variable} at the file that holds the credential`);
    return text;
  } catch (error: unknown) {
    if (error instanceof InputFileError) throw new CredentialConfigError(error.message, "read credentials");
    throw error;
  }
}

/**
 * A credential whose construction needs files read first: `prepare` runs at the first sign-in (and
 * again after a failure), so a bad file is a clear error there, before the library sees anything.
 */
export function credentialAfterReading(prepare: () => Promise<TokenCredential>): TokenCredential {
  let ready: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      ready ??= prepare().catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      return (await ready).getToken(scopes, options);
    },
  };
}
