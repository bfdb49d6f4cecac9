import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

// A CA and a loopback server certificate made for one run, so that HTTPS clients (MSAL behind
// @azure/identity insists on an https authority) trust the emulator via NODE_EXTRA_CA_CERTS or `ca`.

export interface TlsMaterial {
  /** The CA certificate to trust (PEM). */
  caCert: string;
  /** Server key and certificate chain (PEM). */
  key: string;
  cert: string;
}

function forgeKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  // node's native generator: forge's pure-JS one takes seconds.
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const forgePrivate = forge.pki.privateKeyFromPem(pem);
  return { privateKey: forgePrivate, publicKey: forge.pki.setRsaPublicKey(forgePrivate.n, forgePrivate.e), pem };
}

function certificate(subject: forge.pki.CertificateField[], issuer: forge.pki.CertificateField[], publicKey: forge.pki.rsa.PublicKey, extensions: object[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = `01${randomBytes(8).toString("hex")}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600 * 1000);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  cert.setExtensions(extensions);
  return cert;
}

export function generateTls(hosts: readonly string[] = ["127.0.0.1", "localhost", "::1"]): TlsMaterial {
  const ca = forgeKeys();
  // A name of its own: a client trusting two emulators' CAs finds a leaf's issuer by name (the leaf
  // names no key id), so two CAs of one name would make one emulator's certificate fail to verify.
  const caName = [{ name: "commonName", value: `entra-tokens emulator CA (this run only, ${randomBytes(6).toString("hex")})` }];
  const caCert = certificate(caName, caName, ca.publicKey, [
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  caCert.sign(ca.privateKey, forge.md.sha256.create());

  const leaf = forgeKeys();
  const altNames = hosts.map((host) => (/^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host }));
  const leafCert = certificate([{ name: "commonName", value: hosts[0] ?? "localhost" }], caName, leaf.publicKey, [
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames },
  ]);
  leafCert.sign(ca.privateKey, forge.md.sha256.create());

  const caPem = forge.pki.certificateToPem(caCert);
  return { caCert: caPem, key: leaf.pem, cert: forge.pki.certificateToPem(leafCert) + caPem };
}
