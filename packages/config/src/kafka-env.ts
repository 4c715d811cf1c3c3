import { z } from 'zod';
import { bool, commaList } from './fields';
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
  /** SASL for managed clusters: `plain`, `scram-sha-256` or `scram-sha-512`, with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD */
  KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512'], {
      message: 'must be plain, scram-sha-256 or scram-sha-512',
    })
    .optional(),
  /** the SASL user (with KAFKA_SASL_MECHANISM) */
  KAFKA_SASL_USERNAME: z.string().optional(),
  /** the SASL password (with KAFKA_SASL_MECHANISM) */
  KAFKA_SASL_PASSWORD: z.string().optional(),
  /** `false` where services may not create topics: they then only check that their topics exist and refuse to start, naming the missing ones */
  KAFKA_CREATE_TOPICS: bool(true),
};

const kafkaEnvSchema = z.object(kafkaEnv);
export type KafkaEnv = z.infer<typeof kafkaEnvSchema>;

type Sasl = { mechanism: NonNullable<KafkaEnv['KAFKA_SASL_MECHANISM']>; username: string; password: string };

/** Turns validated KAFKA_* variables into client options; SASL needs all three variables. */
export function kafkaClientOptions(env: KafkaEnv, clientId = env.KAFKA_CLIENT_ID) {
  const options: { brokers: string[]; clientId: string; ssl: boolean; sasl?: Sasl } = {
    brokers: env.KAFKA_BROKERS,
    clientId,
    ssl: env.KAFKA_SSL,
  };
  if (env.KAFKA_SASL_MECHANISM) {
    if (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD) {
      throw new ConfigError(
        env.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME',
        'is required when KAFKA_SASL_MECHANISM is set',
      );
    }
    options.sasl = {
      mechanism: env.KAFKA_SASL_MECHANISM,
      username: env.KAFKA_SASL_USERNAME,
      password: env.KAFKA_SASL_PASSWORD,
    };
  }
  return options;
}
