/** A throw-away self-signed certificate for 127.0.0.1, for services the tests run over HTTPS (Azurite with OAuth). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface TestCertificate {
  certPath: string;
  keyPath: string;
  /** PEM, for a client of this process (`ca` option); child processes get `NODE_EXTRA_CA_CERTS=certPath`. */
  cert: string;
}

export async function createTestCertificate(dir: string): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      // Its own trust anchor: NODE_EXTRA_CA_CERTS takes it as a root.
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  writeFileSync(certPath, pems.cert);
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  return { certPath, keyPath, cert: pems.cert };
}
