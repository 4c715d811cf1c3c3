import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './load';

/** TLS options for the Kafka connections only (Node's tls.connect options of the same names). */
export interface KafkaTls {
  ca?: string[];
  cert?: string;
  key?: string;
  passphrase?: string;
}

export interface KafkaTlsFiles {
  KAFKA_SSL_CA_FILE?: string;
  KAFKA_SSL_CERT_FILE?: string;
  KAFKA_SSL_KEY_FILE?: string;
  KAFKA_SSL_KEY_PASSWORD?: string;
}

const readReasons: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/** The file a variable names; a failure names the variable and the reason, never the content. */
function readVariableFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new ConfigError(variable, `cannot be read (${readReasons[code] ?? (code || 'unreadable')})`);
  }
}

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM file, each checked to parse. */
function certificates(variable: string, pem: string): { blocks: string[]; first: X509Certificate } {
  const blocks = pem.match(certificateBlock) ?? [];
  const reason = 'must be a PEM file with one or more certificates';
  if (blocks.length === 0) throw new ConfigError(variable, reason);
  try {
    const parsed = blocks.map((block) => new X509Certificate(block));
    return { blocks, first: parsed[0]! };
  } catch {
    throw new ConfigError(variable, reason);
  }
}

function privateKey(pem: string, passphrase: string | undefined): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new ConfigError('KAFKA_SSL_KEY_FILE', 'must be a PEM private key');
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem);
  if (encrypted && passphrase === undefined)
    throw new ConfigError('KAFKA_SSL_KEY_PASSWORD', 'is required: KAFKA_SSL_KEY_FILE is encrypted');
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch {
    throw encrypted
      ? new ConfigError('KAFKA_SSL_KEY_PASSWORD', 'does not decrypt KAFKA_SSL_KEY_FILE')
      : new ConfigError('KAFKA_SSL_KEY_FILE', 'must be a PEM private key');
  }
}

/** Requires the variables of a set together: the first missing one is named. */
function requireTogether(env: KafkaTlsFiles, given: keyof KafkaTlsFiles, needed: keyof KafkaTlsFiles): void {
  if (env[given] !== undefined && env[needed] === undefined)
    throw new ConfigError(needed, `is required when ${given} is set`);
}

/**
 * The cluster's CA and the client's certificate for mutual TLS, read and checked once at
 * start-up. Undefined when none is set. The certificates go to the Kafka connections only;
 * nothing process-wide (such as NODE_EXTRA_CA_CERTS) is needed.
 */
export function kafkaTlsFromFiles(env: KafkaTlsFiles): KafkaTls | undefined {
  requireTogether(env, 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE');
  requireTogether(env, 'KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_CERT_FILE');
  requireTogether(env, 'KAFKA_SSL_KEY_PASSWORD', 'KAFKA_SSL_KEY_FILE');
  const tls: KafkaTls = {};
  if (env.KAFKA_SSL_CA_FILE) {
    const pem = readVariableFile('KAFKA_SSL_CA_FILE', env.KAFKA_SSL_CA_FILE);
    tls.ca = certificates('KAFKA_SSL_CA_FILE', pem).blocks;
  }
  if (env.KAFKA_SSL_CERT_FILE && env.KAFKA_SSL_KEY_FILE) {
    const cert = readVariableFile('KAFKA_SSL_CERT_FILE', env.KAFKA_SSL_CERT_FILE);
    const key = readVariableFile('KAFKA_SSL_KEY_FILE', env.KAFKA_SSL_KEY_FILE);
    const { first } = certificates('KAFKA_SSL_CERT_FILE', cert);
    if (!first.checkPrivateKey(privateKey(key, env.KAFKA_SSL_KEY_PASSWORD)))
      throw new ConfigError(
        'KAFKA_SSL_CERT_FILE',
        'does not match KAFKA_SSL_KEY_FILE (the certificate is for another key)',
      );
    Object.assign(tls, { cert, key });
    if (env.KAFKA_SSL_KEY_PASSWORD !== undefined) tls.passphrase = env.KAFKA_SSL_KEY_PASSWORD;
  }
  return Object.keys(tls).length > 0 ? tls : undefined;
}
