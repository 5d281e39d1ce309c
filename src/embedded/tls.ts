import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedKafkaError } from './errors.js';

/** TLS material made for one embedded cluster: a throwaway CA and one server identity. */
export interface TlsMaterial {
  /** PEM CA certificate a client trusts (node:tls `ca`). */
  caFile: string;
  /** PKCS12 keystore holding the broker's key, its CA-signed certificate and the CA. */
  keystoreFile: string;
  password: string;
}

function keytool(keytoolPath: string, args: string[]): void {
  const result = spawnSync(keytoolPath, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new EmbeddedKafkaError(
      'START_FAILED',
      `keytool ${args[0]} failed while generating the test TLS certificates: ` +
        (result.error?.message ?? `${result.stderr}${result.stdout}`.trim()),
    );
  }
}

/**
 * Generates a self-signed CA and a broker certificate it signs, valid for localhost and
 * 127.0.0.1, with the JDK's keytool (so nothing beyond Java is needed).
 */
export function generateTlsMaterial(keytoolPath: string, dir: string): TlsMaterial {
  mkdirSync(dir, { recursive: true });
  const password = 'kafka-wire-test';
  const ca = join(dir, 'ca.p12');
  const caFile = join(dir, 'ca.pem');
  const keystoreFile = join(dir, 'broker.p12');
  const csr = join(dir, 'broker.csr');
  const brokerCert = join(dir, 'broker.pem');
  const store = (file: string) => ['-keystore', file, '-storetype', 'PKCS12', '-storepass', password];
  const rsa = ['-keyalg', 'RSA', '-keysize', '2048', '-validity', '3650'];

  keytool(keytoolPath, ['-genkeypair', '-alias', 'ca', ...rsa, '-dname', 'CN=kafka-wire test CA', '-ext', 'bc:c', ...store(ca)]);
  keytool(keytoolPath, ['-exportcert', '-rfc', '-alias', 'ca', '-file', caFile, ...store(ca)]);
  keytool(keytoolPath, ['-genkeypair', '-alias', 'broker', ...rsa, '-dname', 'CN=localhost', ...store(keystoreFile)]);
  keytool(keytoolPath, ['-certreq', '-alias', 'broker', '-file', csr, ...store(keystoreFile)]);
  keytool(keytoolPath, [
    '-gencert',
    '-rfc',
    '-alias',
    'ca',
    '-infile',
    csr,
    '-outfile',
    brokerCert,
    '-validity',
    '3650',
    '-ext',
    'SAN=dns:localhost,ip:127.0.0.1',
    '-ext',
    'EKU=serverAuth',
    ...store(ca),
  ]);
  keytool(keytoolPath, ['-importcert', '-noprompt', '-alias', 'ca', '-file', caFile, ...store(keystoreFile)]);
  keytool(keytoolPath, ['-importcert', '-alias', 'broker', '-file', brokerCert, ...store(keystoreFile)]);
  return { caFile, keystoreFile, password };
}
