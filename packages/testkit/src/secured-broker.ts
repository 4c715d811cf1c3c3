import { randomBytes } from 'node:crypto';
import type { TestCertificates } from './certificates';
import { type SecuredListener, startKafkaBroker } from './dedicated-broker';
import type { TokenEndpoint } from './token-endpoint';

/** The ways a managed or private Kafka cluster secures its clients. */
export type KafkaSecurityMode =
  | 'tls'
  | 'mutual-tls'
  | 'sasl-plain'
  | 'sasl-scram-sha-512'
  | 'sasl-oauthbearer';

/** One secured listener of the broker, and the KAFKA_* variables of its clients. */
export interface SecuredEndpoint {
  brokers: string[];
  /** a client that may connect */
  clientEnv: Record<string, string>;
  /** the same with credentials the broker refuses */
  refusedEnv: Record<string, string>;
  /** secrets of both: none may appear in any output */
  secrets: string[];
}

export interface SecuredBroker {
  modes: Record<KafkaSecurityMode, SecuredEndpoint>;
  /** stops it and removes its data */
  close(): Promise<void>;
}

const USER = 'cio-bridge';
const jaas = (module: string, options: string) => `${module} required ${options};`;
const unsecured = 'org.apache.kafka.common.security.oauthbearer.internals.unsecured';

/**
 * One single-node broker with a listener per security mode, all with the test's own CA
 * (`certs`): TLS, mutual TLS (`ssl.client.auth=required`), and SASL_SSL with PLAIN,
 * SCRAM-SHA-512 (users added at storage format, as KRaft wants) and OAUTHBEARER, the
 * latter with Kafka's unsecured-JWT validator, so that the test's `tokens` endpoint
 * (unsecured JWTs) is the identity provider.
 */
export async function startSecuredKafkaBroker(
  certs: TestCertificates,
  tokens: TokenEndpoint,
): Promise<SecuredBroker> {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
  const sasl = (
    name: string,
    mechanism: string,
    loginModule: string,
    more: string[] = [],
  ): SecuredListener => ({
    name,
    protocol: 'SASL_SSL',
    properties: [
      `listener.name.${name.toLowerCase()}.sasl.enabled.mechanisms=${mechanism}`,
      `listener.name.${name.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config=${loginModule}`,
      ...more,
    ],
  });
  const listeners: Record<KafkaSecurityMode, SecuredListener> = {
    tls: {
      name: 'TLS',
      protocol: 'SSL',
      // the broker's certificate, and the CA it trusts for client certificates (every listener)
      properties: [
        'ssl.keystore.type=PEM',
        `ssl.keystore.location=${certs.brokerKeystoreFile}`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${certs.caFile}`,
      ],
    },
    'mutual-tls': {
      name: 'MTLS',
      protocol: 'SSL',
      properties: ['listener.name.mtls.ssl.client.auth=required'],
    },
    'sasl-plain': sasl(
      'PLAIN',
      'PLAIN',
      jaas('org.apache.kafka.common.security.plain.PlainLoginModule', `user_${USER}="${password}"`),
    ),
    'sasl-scram-sha-512': {
      ...sasl('SCRAM', 'SCRAM-SHA-512', jaas('org.apache.kafka.common.security.scram.ScramLoginModule', '')),
      formatArgs: ['--add-scram', `SCRAM-SHA-512=[name=${USER},password=${password}]`],
    },
    'sasl-oauthbearer': sasl(
      'OAUTH',
      'OAUTHBEARER',
      jaas(
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule',
        'unsecuredLoginStringClaim_sub="broker"',
      ),
      [
        `listener.name.oauth.oauthbearer.sasl.server.callback.handler.class=${unsecured}.OAuthBearerUnsecuredValidatorCallbackHandler`,
        `listener.name.oauth.oauthbearer.sasl.login.callback.handler.class=${unsecured}.OAuthBearerUnsecuredLoginCallbackHandler`,
      ],
    ),
  };
  const broker = await startKafkaBroker(Object.values(listeners));
  const brokers = (mode: KafkaSecurityMode) => [broker.endpoints[listeners[mode].name]!];

  const ca = { KAFKA_SSL_CA_FILE: certs.caFile };
  const user = (mechanism: string, secret: string) => ({
    ...ca,
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: USER,
    KAFKA_SASL_PASSWORD: secret,
  });
  const oauth = (secret: string) => ({
    ...ca,
    KAFKA_SASL_MECHANISM: 'oauthbearer',
    KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: tokens.url,
    KAFKA_SASL_OAUTHBEARER_CLIENT_ID: tokens.clientId,
    KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: secret,
    KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka',
    KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster=lkc-test',
  });
  const modes: Record<KafkaSecurityMode, SecuredEndpoint> = {
    tls: {
      brokers: brokers('tls'),
      clientEnv: ca,
      // a client that does not know the cluster's CA cannot trust the broker
      refusedEnv: { KAFKA_SSL: 'true' },
      secrets: [],
    },
    'mutual-tls': {
      brokers: brokers('mutual-tls'),
      clientEnv: {
        ...ca,
        KAFKA_SSL_CERT_FILE: certs.clientCertFile,
        KAFKA_SSL_KEY_FILE: certs.clientEncryptedKeyFile,
        KAFKA_SSL_KEY_PASSWORD: certs.clientKeyPassword,
      },
      // a certificate of another CA
      refusedEnv: {
        ...ca,
        KAFKA_SSL_CERT_FILE: certs.strangerCertFile,
        KAFKA_SSL_KEY_FILE: certs.strangerKeyFile,
      },
      secrets: [certs.clientKeyPassword],
    },
    'sasl-plain': {
      brokers: brokers('sasl-plain'),
      clientEnv: user('plain', password),
      refusedEnv: user('plain', wrongPassword),
      secrets: [password, wrongPassword],
    },
    'sasl-scram-sha-512': {
      brokers: brokers('sasl-scram-sha-512'),
      clientEnv: user('scram-sha-512', password),
      refusedEnv: user('scram-sha-512', wrongPassword),
      secrets: [password, wrongPassword],
    },
    'sasl-oauthbearer': {
      brokers: brokers('sasl-oauthbearer'),
      clientEnv: oauth(tokens.clientSecret),
      refusedEnv: oauth(wrongPassword),
      secrets: [tokens.clientSecret, wrongPassword],
    },
  };
  return { modes, close: () => broker.close() };
}
