import { httpEnv, integer, kafkaEnv, logLevel, port, tokenList } from '@cio-bridge/config';
import { z } from 'zod';

/** The producer's environment; `loadConfig(producerEnv, process.env)` validates it. */
export const producerEnv = z.object({
  ...kafkaEnv,
  /** the HTTP port (API, health, metrics) */
  PORT: port(8081),
  ...httpEnv,
  /** `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent` */
  LOG_LEVEL: logLevel,
  /** bearer tokens accepted by the HTTP API, comma-separated (several during a rotation), 16+ characters each */
  INGEST_API_TOKENS: tokenList('bearer tokens'),
  /** largest accepted request body (413 above it) */
  PRODUCER_MAX_BODY_BYTES: integer(1_024, 10 * 1024 * 1024).prefault(String(1024 * 1024)),
  /** most operations in one {"batch": [...]} */
  PRODUCER_MAX_BATCH_ITEMS: integer(1, 10_000).prefault('1000'),
  /** how long to wait for Kafka's acknowledgement before answering 503 */
  PRODUCER_PUBLISH_TIMEOUT_MS: integer(100, 60_000).prefault('5000'),
  /** most message bytes waiting for Kafka at once; beyond it requests get 503 at once */
  PRODUCER_MAX_PENDING_BYTES: integer(1024 * 1024, 1024 * 1024 * 1024).prefault(String(32 * 1024 * 1024)),
  /** longest `Prefer: wait=N` honoured, in seconds (a longer one is cut to it) */
  PRODUCER_MAX_WAIT_SECONDS: integer(1, 300).prefault('30'),
  /** most operations this instance waits for at once; past it a waited request gets 202 at once */
  PRODUCER_MAX_WAITERS: integer(1, 1_000_000).prefault('10000'),
  /** Retry-After (seconds) on a 503 */
  PRODUCER_RETRY_AFTER_SECONDS: integer(1, 3_600).prefault('5'),
});

export type ProducerEnv = z.infer<typeof producerEnv>;
