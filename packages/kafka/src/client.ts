import type { Logger } from '@cio-bridge/logger';
import { Kafka, type KafkaConfig, type logCreator, logLevel, type SASLOptions } from 'kafkajs';
import { type OAuthClientCredentials, OAuthTokenSource } from './oauth-token';

/** TLS towards the brokers: the cluster's CA and a client certificate, for these connections only. */
export interface KafkaTlsOptions {
  ca?: string[];
  cert?: string;
  key?: string;
  passphrase?: string;
}

export type KafkaSaslOptions =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | ({ mechanism: 'oauthbearer'; extensions?: Record<string, string> } & OAuthClientCredentials);

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** true: TLS with the system's CAs; an object: with the cluster's CA and/or a client certificate */
  ssl?: boolean | KafkaTlsOptions;
  sasl?: KafkaSaslOptions;
  /** connection retries; tests, health checks and the CLI want fewer */
  retry?: KafkaConfig['retry'];
  /** ms to establish a connection (default 3 s) */
  connectionTimeout?: number;
}

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** kafkajs logs through the service's pino logger, one JSON line per entry. */
const pinoLogCreator =
  (logger: Logger): logCreator =>
  () =>
  ({ level, log }) => {
    const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
    logger[levels[level] ?? 'info']({ kafkajs: fields }, message);
  };

/** A kafkajs client; with OAUTHBEARER, its token source (readiness reports the token's state). */
export type KafkaClient = Kafka & { readonly oauthTokens?: OAuthTokenSource };

function saslConfig(sasl: KafkaSaslOptions | undefined, tokens: OAuthTokenSource | undefined) {
  if (!sasl) return undefined;
  if (sasl.mechanism !== 'oauthbearer') return sasl;
  // kafkajs asks on every connection's (re-)authentication; the source caches and renews.
  const { extensions } = sasl;
  return {
    mechanism: 'oauthbearer',
    oauthBearerProvider: async () => ({
      value: await tokens!.token(),
      ...(extensions ? { extensions } : {}),
    }),
  };
}

/**
 * The one Kafka client factory of every service and the CLI: plain, TLS (with the
 * cluster's CA, mutual TLS) and SASL (PLAIN, SCRAM, OAUTHBEARER) clusters. Creating it
 * does not connect.
 */
export function createKafka(options: KafkaClientOptions, logger: Logger): KafkaClient {
  const tokens =
    options.sasl?.mechanism === 'oauthbearer'
      ? new OAuthTokenSource(options.sasl, { logger: logger.child({ component: 'oauth' }) })
      : undefined;
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.ssl || undefined,
    sasl: saslConfig(options.sasl, tokens) as SASLOptions | undefined,
    connectionTimeout: options.connectionTimeout ?? 3_000,
    retry: options.retry ?? { initialRetryTime: 300, retries: 8 },
    // kafkajs logs every transient broker error at ERROR; warn and above is what an operator needs.
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ component: 'kafkajs' })),
  });
  return Object.assign(kafka, { oauthTokens: tokens });
}
