import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCertificates, type TestCertificates } from '@cio-bridge/testkit';
import { z } from 'zod';
import { kafkaClientOptions, kafkaEnv } from './kafka-env';
import { ConfigError, loadConfig } from './load';

const schema = z.object(kafkaEnv);

/** kafkaClientOptions over a parsed environment, as every service's main.ts calls it. */
const optionsOf = (env: Record<string, string>) => kafkaClientOptions(loadConfig(schema, env), 'test');

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    optionsOf(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a configuration error');
}

describe('Kafka TLS files', () => {
  let certs: TestCertificates;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kafka-env-'));
    certs = createTestCertificates(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the CA file for the Kafka connections, and a CA implies TLS', () => {
    const options = optionsOf({ KAFKA_SSL_CA_FILE: certs.caFile });
    expect(options.ssl).toEqual({ ca: [readFileSync(certs.caFile, 'utf8').trim()] });
  });

  it('accepts a CA file with several certificates (a bundle)', () => {
    const bundle = join(dir, 'bundle.pem');
    writeFileSync(
      bundle,
      `${readFileSync(certs.caFile, 'utf8')}\n${readFileSync(certs.strangerCertFile, 'utf8')}`,
    );
    const options = optionsOf({ KAFKA_SSL_CA_FILE: bundle });
    expect((options.ssl as { ca: string[] }).ca).toHaveLength(2);
  });

  it('refuses a missing CA file in one line naming the variable', () => {
    const error = configErrorOf({ KAFKA_SSL_CA_FILE: join(dir, 'nowhere.pem') });
    expect(error.message).toBe('configuration error: KAFKA_SSL_CA_FILE cannot be read (no such file)');
  });

  it('refuses a CA file that is not PEM, without printing its content', () => {
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'top-secret-content\n');
    const error = configErrorOf({ KAFKA_SSL_CA_FILE: notPem });
    expect(error.message).toBe(
      'configuration error: KAFKA_SSL_CA_FILE must be a PEM file with one or more certificates',
    );
    expect(error.message).not.toContain('top-secret');
  });

  it('refuses a CA file whose PEM block is damaged', () => {
    const damaged = join(dir, 'damaged.pem');
    writeFileSync(damaged, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(configErrorOf({ KAFKA_SSL_CA_FILE: damaged }).variable).toBe('KAFKA_SSL_CA_FILE');
  });

  it('reads a client certificate and key for mutual TLS, which implies TLS', () => {
    const options = optionsOf({
      KAFKA_SSL_CERT_FILE: certs.clientCertFile,
      KAFKA_SSL_KEY_FILE: certs.clientKeyFile,
    });
    expect(options.ssl).toEqual({
      cert: readFileSync(certs.clientCertFile, 'utf8'),
      key: readFileSync(certs.clientKeyFile, 'utf8'),
    });
  });

  it('reads an encrypted key with its password', () => {
    const options = optionsOf({
      KAFKA_SSL_CA_FILE: certs.caFile,
      KAFKA_SSL_CERT_FILE: certs.clientCertFile,
      KAFKA_SSL_KEY_FILE: certs.clientEncryptedKeyFile,
      KAFKA_SSL_KEY_PASSWORD: certs.clientKeyPassword,
    });
    expect(options.ssl).toMatchObject({ passphrase: certs.clientKeyPassword });
  });

  it.each([
    [{ KAFKA_SSL_CERT_FILE: 'client' }, 'KAFKA_SSL_KEY_FILE', 'is required when KAFKA_SSL_CERT_FILE is set'],
    [{ KAFKA_SSL_KEY_FILE: 'client' }, 'KAFKA_SSL_CERT_FILE', 'is required when KAFKA_SSL_KEY_FILE is set'],
    [
      { KAFKA_SSL_KEY_PASSWORD: 'pw' },
      'KAFKA_SSL_KEY_FILE',
      'is required when KAFKA_SSL_KEY_PASSWORD is set',
    ],
  ])('refuses one of the pair without the other (%o)', (env, variable, reason) => {
    const resolved = Object.fromEntries(
      Object.entries(env).map(([name, value]) => [
        name,
        value === 'client' ? (name.includes('CERT') ? certs.clientCertFile : certs.clientKeyFile) : value,
      ]),
    );
    expect(configErrorOf(resolved).message).toBe(`configuration error: ${variable} ${reason}`);
  });

  it('refuses a certificate that does not match its key', () => {
    const error = configErrorOf({
      KAFKA_SSL_CERT_FILE: certs.clientCertFile,
      KAFKA_SSL_KEY_FILE: certs.strangerKeyFile,
    });
    expect(error.message).toBe(
      'configuration error: KAFKA_SSL_CERT_FILE does not match KAFKA_SSL_KEY_FILE (the certificate is for another key)',
    );
  });

  it('refuses an encrypted key without its password, or with a wrong one, never printing either', () => {
    const base = {
      KAFKA_SSL_CERT_FILE: certs.clientCertFile,
      KAFKA_SSL_KEY_FILE: certs.clientEncryptedKeyFile,
    };
    expect(configErrorOf(base).message).toBe(
      'configuration error: KAFKA_SSL_KEY_PASSWORD is required: KAFKA_SSL_KEY_FILE is encrypted',
    );
    const wrong = configErrorOf({ ...base, KAFKA_SSL_KEY_PASSWORD: 'wrong-password-123' });
    expect(wrong.message).toBe(
      'configuration error: KAFKA_SSL_KEY_PASSWORD does not decrypt KAFKA_SSL_KEY_FILE',
    );
  });

  it('refuses a key file that is not a PEM private key', () => {
    const error = configErrorOf({
      KAFKA_SSL_CERT_FILE: certs.clientCertFile,
      KAFKA_SSL_KEY_FILE: certs.caFile,
    });
    expect(error.message).toBe('configuration error: KAFKA_SSL_KEY_FILE must be a PEM private key');
  });
});

describe('Kafka OAUTHBEARER', () => {
  const oauth = {
    KAFKA_SASL_MECHANISM: 'oauthbearer',
    KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'https://login.example.com/oauth2/token',
    KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'cio-bridge',
    KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: 'client-secret-value',
  };

  it('builds client-credentials options, with the optional scope', () => {
    expect(optionsOf({ ...oauth, KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka' }).sasl).toEqual({
      mechanism: 'oauthbearer',
      tokenEndpointUrl: 'https://login.example.com/oauth2/token',
      clientId: 'cio-bridge',
      clientSecret: 'client-secret-value',
      scope: 'kafka',
    });
  });

  it('passes SASL extensions (Confluent Cloud names its cluster and identity pool in them)', () => {
    const env = {
      ...oauth,
      KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster=lkc-123, identityPoolId=pool-AbC',
    };
    expect(optionsOf(env).sasl).toMatchObject({
      extensions: { logicalCluster: 'lkc-123', identityPoolId: 'pool-AbC' },
    });
    expect(configErrorOf({ ...oauth, KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'lkc-123' }).message).toBe(
      'configuration error: KAFKA_SASL_OAUTHBEARER_EXTENSIONS must be a comma-separated list of key=value (letters only in keys)',
    );
  });

  it.each([
    'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL',
    'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
    'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
  ])('requires %s', (variable) => {
    const { [variable as keyof typeof oauth]: _, ...rest } = oauth;
    expect(configErrorOf(rest).message).toBe(
      `configuration error: ${variable} is required when KAFKA_SASL_MECHANISM is oauthbearer`,
    );
  });

  it('refuses a token endpoint that is not a URL', () => {
    const error = configErrorOf({ ...oauth, KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'login.example.com' });
    expect(error.message).toBe(
      'configuration error: KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL must be an http(s) URL',
    );
  });
});
