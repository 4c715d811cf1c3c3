import { randomBytes } from 'node:crypto';
import type { TestCertificates } from './certificates';
import { type DedicatedBroker, type SecuredListener, startKafkaBroker } from './dedicated-broker';
import type { TokenEndpoint } from './token-endpoint';

/** The ways a managed or private Kafka cluster secures its clients. */
export type KafkaSecurityMode =
  | 'tls'
  | 'mutual-tls'
  | 'sasl-plain'
  | 'sasl-scram-sha-512'
  | 'sasl-oauthbearer';

export interface SecuredBroker extends DedicatedBroker {
  mode: KafkaSecurityMode;
  /** the KAFKA_* variables of a client that may connect */
  clientEnv: Record<string, string>;
  /** the same with credentials the broker refuses */
  refusedEnv: Record<string, string>;
  /** secrets of both: none may appear in any output */
  secrets: string[];
}

const USER = 'cio-bridge';
const jaas = (module: string, options: string) => `${module} required ${options};`;

/**
 * A single-node broker whose only client listener is secured as `mode`, with the
 * test's own CA (`certs`). OAUTHBEARER uses Kafka's unsecured-JWT validator, so the
 * test's `tokens` endpoint (unsecured JWTs) is the identity provider.
 */
export async function startSecuredKafkaBroker(
  mode: KafkaSecurityMode,
  certs: TestCertificates,
  tokens?: TokenEndpoint,
): Promise<SecuredBroker> {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
  const tls = [
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${certs.brokerKeystoreFile}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${certs.caFile}`,
  ];
  const ca = { KAFKA_SSL_CA_FILE: certs.caFile };
  const sasl = (mechanism: string, loginModule: string) => [
    ...tls,
    `sasl.enabled.mechanisms=${mechanism}`,
    `listener.name.secured.${mechanism.toLowerCase()}.sasl.jaas.config=${loginModule}`,
  ];
  const user = (mechanism: string, secret: string) => ({
    ...ca,
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: USER,
    KAFKA_SASL_PASSWORD: secret,
  });

  let listener: SecuredListener;
  let clientEnv: Record<string, string>;
  let refusedEnv: Record<string, string>;
  let secrets = [password, wrongPassword];
  switch (mode) {
    case 'tls':
      listener = { protocol: 'SSL', properties: tls };
      clientEnv = ca;
      // a client that does not know the cluster's CA cannot trust the broker
      refusedEnv = { KAFKA_SSL: 'true' };
      secrets = [];
      break;
    case 'mutual-tls':
      listener = { protocol: 'SSL', properties: [...tls, 'ssl.client.auth=required'] };
      clientEnv = {
        ...ca,
        KAFKA_SSL_CERT_FILE: certs.clientCertFile,
        KAFKA_SSL_KEY_FILE: certs.clientEncryptedKeyFile,
        KAFKA_SSL_KEY_PASSWORD: certs.clientKeyPassword,
      };
      refusedEnv = {
        ...ca,
        KAFKA_SSL_CERT_FILE: certs.strangerCertFile,
        KAFKA_SSL_KEY_FILE: certs.strangerKeyFile,
      };
      secrets = [certs.clientKeyPassword];
      break;
    case 'sasl-plain':
      listener = {
        protocol: 'SASL_SSL',
        properties: sasl(
          'PLAIN',
          jaas('org.apache.kafka.common.security.plain.PlainLoginModule', `user_${USER}="${password}"`),
        ),
      };
      clientEnv = user('plain', password);
      refusedEnv = user('plain', wrongPassword);
      break;
    case 'sasl-scram-sha-512':
      listener = {
        protocol: 'SASL_SSL',
        properties: sasl(
          'SCRAM-SHA-512',
          jaas('org.apache.kafka.common.security.scram.ScramLoginModule', ''),
        ),
        // KRaft: SCRAM users exist from the storage format on
        formatArgs: ['--add-scram', `SCRAM-SHA-512=[name=${USER},password=${password}]`],
      };
      clientEnv = user('scram-sha-512', password);
      refusedEnv = user('scram-sha-512', wrongPassword);
      break;
    case 'sasl-oauthbearer': {
      if (!tokens) throw new Error('OAUTHBEARER needs a token endpoint');
      const unsecured = 'org.apache.kafka.common.security.oauthbearer.internals.unsecured';
      listener = {
        protocol: 'SASL_SSL',
        properties: [
          ...sasl(
            'OAUTHBEARER',
            jaas(
              'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule',
              'unsecuredLoginStringClaim_sub="broker"',
            ),
          ),
          `listener.name.secured.oauthbearer.sasl.server.callback.handler.class=${unsecured}.OAuthBearerUnsecuredValidatorCallbackHandler`,
          `listener.name.secured.oauthbearer.sasl.login.callback.handler.class=${unsecured}.OAuthBearerUnsecuredLoginCallbackHandler`,
          // sessions end with the token: clients re-authenticate with a renewed one
          'connections.max.reauth.ms=3600000',
        ],
      };
      const oauth = (secret: string) => ({
        ...ca,
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: tokens.url,
        KAFKA_SASL_OAUTHBEARER_CLIENT_ID: tokens.clientId,
        KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: secret,
        KAFKA_SASL_OAUTHBEARER_SCOPE: 'kafka',
        KAFKA_SASL_OAUTHBEARER_EXTENSIONS: 'logicalCluster=lkc-test',
      });
      clientEnv = oauth(tokens.clientSecret);
      refusedEnv = oauth(wrongPassword);
      secrets = [tokens.clientSecret, wrongPassword];
      break;
    }
  }
  const broker = await startKafkaBroker(listener);
  return Object.assign(broker, { mode, clientEnv, refusedEnv, secrets });
}
