import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files of a test's own certificate authority, a broker certificate and client certificates. */
export interface TestCertificates {
  dir: string;
  /** the CA certificate */
  caFile: string;
  /** the broker's key (PKCS#8, unencrypted) followed by its certificate: a Kafka PEM keystore */
  brokerKeystoreFile: string;
  /** a client certificate signed by the CA, and its key */
  clientCertFile: string;
  clientKeyFile: string;
  /** the same key encrypted with `clientKeyPassword` */
  clientEncryptedKeyFile: string;
  clientKeyPassword: string;
  /** a client certificate and key from another CA, which the broker does not trust */
  strangerCertFile: string;
  strangerKeyFile: string;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A P-256 key in PKCS#8 PEM (what both Node and Kafka's PEM keystore read). */
function newKey(dir: string, name: string): string {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
  return join(dir, name);
}

function selfSignedCa(dir: string, name: string): { cert: string; key: string } {
  const key = newKey(dir, `${name}.key`);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    `${name}.pem`,
  ]);
  return { cert: join(dir, `${name}.pem`), key };
}

function signedBy(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  extensions: string,
): { cert: string; key: string } {
  const key = newKey(dir, `${name}.key`);
  openssl(dir, ['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  ]);
  return { cert: join(dir, `${name}.pem`), key };
}

/** Generates, with openssl, everything a TLS or mutual-TLS test needs, into `dir`. */
export function createTestCertificates(dir: string): TestCertificates {
  const ca = selfSignedCa(dir, 'test-ca');
  const broker = signedBy(
    dir,
    ca,
    'broker',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  const brokerKeystoreFile = join(dir, 'broker-keystore.pem');
  writeFileSync(brokerKeystoreFile, readFileSync(broker.key, 'utf8') + readFileSync(broker.cert, 'utf8'));
  const client = signedBy(dir, ca, 'client', 'extendedKeyUsage=clientAuth\n');
  const clientKeyPassword = 'client-key-password';
  openssl(dir, [
    'pkcs8',
    '-topk8',
    '-v2',
    'aes-256-cbc',
    '-in',
    client.key,
    '-passout',
    `pass:${clientKeyPassword}`,
    '-out',
    'client-encrypted.key',
  ]);
  const strangerCa = selfSignedCa(dir, 'stranger-ca');
  const stranger = signedBy(dir, strangerCa, 'stranger', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caFile: ca.cert,
    brokerKeystoreFile,
    clientCertFile: client.cert,
    clientKeyFile: client.key,
    clientEncryptedKeyFile: join(dir, 'client-encrypted.key'),
    clientKeyPassword,
    strangerCertFile: stranger.cert,
    strangerKeyFile: stranger.key,
  };
}
