import { z } from 'zod';
import { bool, commaList } from './fields';
import { type KafkaTls, kafkaTlsFromFiles } from './kafka-tls';
import { ConfigError } from './load';

const hostPort = /^[^\s:,]+:\d{1,5}$/;

/** KAFKA_* variables shared by every service and the CLI. */
export const kafkaEnv = {
  /** comma-separated `host:port` bootstrap servers */
  KAFKA_BROKERS: commaList('host:port bootstrap servers')
    .refine(
      (brokers) => brokers.every((b) => hostPort.test(b)),
      'must be a comma-separated list of host:port',
    )
    .default(['127.0.0.1:9092']),
  /** client id prefix (each service appends its name) */
  KAFKA_CLIENT_ID: z.string().default('cio-bridge'),
  /** TLS towards the brokers */
  KAFKA_SSL: bool(false),
  /** the cluster's CA (PEM, one or more certificates), for the Kafka connections only; implies TLS */
  KAFKA_SSL_CA_FILE: z.string().optional(),
  /** a client certificate (PEM, optionally followed by its chain), for mutual TLS; with KAFKA_SSL_KEY_FILE */
  KAFKA_SSL_CERT_FILE: z.string().optional(),
  /** the client certificate's private key (PEM), for mutual TLS; with KAFKA_SSL_CERT_FILE */
  KAFKA_SSL_KEY_FILE: z.string().optional(),
  /** the password of an encrypted KAFKA_SSL_KEY_FILE */
  KAFKA_SSL_KEY_PASSWORD: z.string().optional(),
  /** SASL for managed clusters: `plain`, `scram-sha-256` or `scram-sha-512` (with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD), or `oauthbearer` (with the KAFKA_SASL_OAUTHBEARER_* variables) */
  KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'], {
      message: 'must be plain, scram-sha-256, scram-sha-512 or oauthbearer',
    })
    .optional(),
  /** the SASL user (with KAFKA_SASL_MECHANISM) */
  KAFKA_SASL_USERNAME: z.string().optional(),
  /** the SASL password (with KAFKA_SASL_MECHANISM) */
  KAFKA_SASL_PASSWORD: z.string().optional(),
  /** OAUTHBEARER: the OIDC token endpoint of the client-credentials grant */
  KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .optional(),
  /** OAUTHBEARER: the client id */
  KAFKA_SASL_OAUTHBEARER_CLIENT_ID: z.string().optional(),
  /** OAUTHBEARER: the client secret (never logged) */
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: z.string().optional(),
  /** OAUTHBEARER: the scope asked for, when the token endpoint needs one */
  KAFKA_SASL_OAUTHBEARER_SCOPE: z.string().optional(),
  /** OAUTHBEARER: SASL extensions sent with the token, `key=value,...` (Confluent Cloud: logicalCluster, identityPoolId) */
  KAFKA_SASL_OAUTHBEARER_EXTENSIONS: commaList('key=value SASL extensions')
    .refine(
      (items) => items.every((item) => /^[A-Za-z]+=[^\s=]+$/.test(item)),
      'must be a comma-separated list of key=value (letters only in keys)',
    )
    .transform((items) => Object.fromEntries(items.map((item) => item.split('=') as [string, string])))
    .optional(),
  /** `false` where services may not create topics: they then only check that their topics exist and refuse to start, naming the missing ones */
  KAFKA_CREATE_TOPICS: bool(true),
};

const kafkaEnvSchema = z.object(kafkaEnv);
export type KafkaEnv = z.infer<typeof kafkaEnvSchema>;

type Mechanism = NonNullable<KafkaEnv['KAFKA_SASL_MECHANISM']>;
type Sasl =
  | { mechanism: Exclude<Mechanism, 'oauthbearer'>; username: string; password: string }
  | {
      mechanism: 'oauthbearer';
      tokenEndpointUrl: string;
      clientId: string;
      clientSecret: string;
      scope?: string;
    };

/** The first of `variables` that is not set, named in a ConfigError. */
function requireAll(env: KafkaEnv, variables: (keyof KafkaEnv)[], reason: string): void {
  const missing = variables.find((variable) => env[variable] === undefined);
  if (missing) throw new ConfigError(missing, reason);
}

function saslOptions(env: KafkaEnv): Sasl | undefined {
  const mechanism = env.KAFKA_SASL_MECHANISM;
  if (!mechanism) return undefined;
  if (mechanism === 'oauthbearer') {
    requireAll(
      env,
      [
        'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL',
        'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
        'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
      ],
      'is required when KAFKA_SASL_MECHANISM is oauthbearer',
    );
    return {
      mechanism,
      tokenEndpointUrl: env.KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL!,
      clientId: env.KAFKA_SASL_OAUTHBEARER_CLIENT_ID!,
      clientSecret: env.KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET!,
      ...(env.KAFKA_SASL_OAUTHBEARER_SCOPE ? { scope: env.KAFKA_SASL_OAUTHBEARER_SCOPE } : {}),
      ...(env.KAFKA_SASL_OAUTHBEARER_EXTENSIONS ? { extensions: env.KAFKA_SASL_OAUTHBEARER_EXTENSIONS } : {}),
    };
  }
  requireAll(
    env,
    ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'],
    'is required when KAFKA_SASL_MECHANISM is set',
  );
  return { mechanism, username: env.KAFKA_SASL_USERNAME!, password: env.KAFKA_SASL_PASSWORD! };
}

/**
 * Turns validated KAFKA_* variables into client options, reading the certificate files
 * once (a bad file is a ConfigError naming its variable). A CA or a client certificate
 * implies TLS.
 */
export function kafkaClientOptions(env: KafkaEnv, clientId = env.KAFKA_CLIENT_ID) {
  const tls = kafkaTlsFromFiles(env);
  const sasl = saslOptions(env);
  const options: { brokers: string[]; clientId: string; ssl: boolean | KafkaTls; sasl?: Sasl } = {
    brokers: env.KAFKA_BROKERS,
    clientId,
    ssl: tls ?? env.KAFKA_SSL,
  };
  if (sasl) options.sasl = sasl;
  return options;
}
