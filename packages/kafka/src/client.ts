import type { Logger } from '@cio-bridge/logger';
import { Kafka, type KafkaConfig, type logCreator, logLevel, type SASLOptions } from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
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

/** A kafkajs client for plain, SSL or SASL clusters. Creating it does not connect. */
export function createKafka(options: KafkaClientOptions, logger: Logger): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.ssl || undefined,
    sasl: options.sasl as SASLOptions | undefined,
    connectionTimeout: options.connectionTimeout ?? 3_000,
    retry: options.retry ?? { initialRetryTime: 300, retries: 8 },
    // kafkajs logs every transient broker error at ERROR; warn and above is what an operator needs.
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger.child({ component: 'kafkajs' })),
  });
}
