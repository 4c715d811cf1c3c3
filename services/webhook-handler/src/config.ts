import { bool, commaList, httpEnv, integer, kafkaEnv, logLevel, port } from '@cio-bridge/config';
import { z } from 'zod';

/** The webhook-handler's environment; `loadConfig(webhookEnv, process.env)` validates it. */
export const webhookEnv = z.object({
  ...kafkaEnv,
  /** the HTTP port (API, health, metrics) */
  PORT: port(8082),
  ...httpEnv,
  /** `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent` */
  LOG_LEVEL: logLevel,
  /** one or more keys, comma-separated: during a rotation both the old and the new key */
  CIO_WEBHOOK_SIGNING_KEYS: commaList('webhook signing keys'),
  /** how far X-CIO-Timestamp may be from now, in the past or the future */
  WEBHOOK_TOLERANCE_SECONDS: integer(1, 86_400).prefault('300'),
  /** email `bounced`/`spammed` reporting events also produce a `suppress` operation */
  WEBHOOK_SUPPRESS_ON_BOUNCE: bool(false),
  /** largest accepted request body */
  WEBHOOK_MAX_BODY_BYTES: integer(1_024, 10 * 1024 * 1024).prefault(String(256 * 1024)),
  /** replay protection in this process when REDIS_URL is not set: most ids remembered */
  WEBHOOK_REPLAY_CACHE_SIZE: integer(1_000, 10_000_000).prefault('100000'),
  /** how long to wait for Kafka's acknowledgement before answering 503 (Customer.io waits 4 s) */
  WEBHOOK_PUBLISH_TIMEOUT_MS: integer(100, 60_000).prefault('2500'),
  /** shared replay protection for several replicas */
  REDIS_URL: z.url({ message: 'must be a redis:// URL' }).optional(),
});

export type WebhookEnv = z.infer<typeof webhookEnv>;
