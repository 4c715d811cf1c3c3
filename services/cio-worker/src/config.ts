import {
  cioAppUrl,
  cioEnv,
  cioTrackUrl,
  httpEnv,
  integer,
  kafkaEnv,
  logLevel,
  port,
  trackCredentialsIssues,
} from '@cio-bridge/config';
import { z } from 'zod';
import { outputEnv } from './output/output';
import type { WorkerTuning } from './settings';

/** The cio-worker's environment; `loadConfig(workerEnv, process.env)` validates it. */
export const workerEnv = z
  .object({
    ...kafkaEnv,
    ...cioEnv,
    ...outputEnv,
    /** health and metrics */
    PORT: port(8084),
    ...httpEnv,
    /** `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent` */
    LOG_LEVEL: logLevel,
    /** shared rate-limit budget for several worker instances */
    REDIS_URL: z.url({ message: 'must be a redis:// URL' }).optional(),
    /** consumer group */
    KAFKA_GROUP_ID: z.string().min(1, 'must not be empty').default('cio-worker'),
    /** opt-in: one delivery receipt per operation on this topic (receipts.ts); unset: none */
    WORKER_RECEIPTS_TOPIC: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'must be a Kafka topic name')
      .optional(),
    /** how long the group waits for a silent member (a killed process) before its partitions move */
    KAFKA_SESSION_TIMEOUT_MS: integer(6_000, 300_000).prefault('30000'),
    /** request budget towards the App API (transactional sends), which Customer.io limits separately */
    CIO_APP_RATE_LIMIT_RPS: integer(1, 100_000).prefault('100'),
    /** percent of each budget aimed at; the rest is headroom for jitter at Customer.io's end */
    WORKER_RATE_LIMIT_TARGET_PERCENT: integer(10, 100).prefault('96'),
    /** Customer.io request timeout */
    WORKER_REQUEST_TIMEOUT_MS: integer(100, 120_000).prefault('10000'),
    /** delivery attempts of one operation before it is dead-lettered (transient failures) */
    WORKER_MAX_ATTEMPTS: integer(1, 1_000).prefault('12'),
    /** time from an operation's first failure after which it is dead-lettered */
    WORKER_MAX_RETRY_MS: integer(1_000, 7 * 24 * 3_600_000).prefault(String(15 * 60_000)),
    /** first retry delay; doubles with each attempt, with jitter */
    WORKER_RETRY_BASE_MS: integer(1, 600_000).prefault('500'),
    /** longest retry delay */
    WORKER_RETRY_MAX_MS: integer(1, 3_600_000).prefault('60000'),
    /** messages taken from Kafka and not yet delivered or dead-lettered, per topic */
    WORKER_MAX_BUFFERED: integer(1, 1_000_000).prefault('10000'),
    /** operations one person may hold before the partition carrying them pauses (resumes at half) */
    WORKER_MAX_PER_PERSON: integer(1, 1_000_000).prefault('1000'),
    /** offsets one partition may hold past its commit point before it pauses */
    WORKER_MAX_UNCOMMITTED_PER_PARTITION: integer(100, 10_000_000).prefault('50000'),
    /** concurrent requests towards Customer.io, per API */
    WORKER_CONCURRENCY: integer(1, 1_000).prefault('32'),
    /** most operations in one /api/v2/batch request */
    WORKER_MAX_BATCH_OPERATIONS: integer(1, 10_000).prefault('1000'),
    /** most bytes of one fetch from Kafka */
    WORKER_FETCH_MAX_BYTES: integer(64 * 1024, 256 * 1024 * 1024).prefault(String(512 * 1024)),
    /** a transactional send that timed out or was reset after sending: `retry` (may repeat it) or `dead-letter` (class `ambiguous`) */
    WORKER_TRANSACTIONAL_AMBIGUOUS: z
      .enum(['retry', 'dead-letter'], { message: 'must be retry or dead-letter' })
      .default('dead-letter'),
    /** how long SIGTERM waits for requests in flight before handing the rest back */
    WORKER_SHUTDOWN_TIMEOUT_MS: integer(1_000, 600_000).prefault('15000'),
  })
  .superRefine((env, context) => {
    // CIO_API=track needs the Track API's site id and key; a Pipelines-only workspace has neither.
    for (const { variable, reason } of trackCredentialsIssues(env))
      context.addIssue({ code: 'custom', path: [variable], message: reason });
  });

export type WorkerEnv = z.infer<typeof workerEnv>;

/** The Customer.io part of the worker's dependencies, from validated variables. */
export function customerioOptions(env: WorkerEnv) {
  return {
    trackUrl: cioTrackUrl(env),
    appUrl: cioAppUrl(env),
    siteId: env.CIO_SITE_ID,
    apiKey: env.CIO_API_KEY,
    appApiKey: env.CIO_APP_API_KEY,
    region: env.CIO_REGION,
  };
}

/** The tuning knobs of the worker, from validated variables. */
export function tuningOptions(env: WorkerEnv): Partial<WorkerTuning> {
  return {
    appRateLimitRps: env.CIO_APP_RATE_LIMIT_RPS,
    rateLimitUtilisation: env.WORKER_RATE_LIMIT_TARGET_PERCENT / 100,
    requestTimeoutMs: env.WORKER_REQUEST_TIMEOUT_MS,
    maxAttempts: env.WORKER_MAX_ATTEMPTS,
    maxRetryMs: env.WORKER_MAX_RETRY_MS,
    retryBaseMs: env.WORKER_RETRY_BASE_MS,
    retryMaxMs: env.WORKER_RETRY_MAX_MS,
    maxBuffered: env.WORKER_MAX_BUFFERED,
    maxPerPerson: env.WORKER_MAX_PER_PERSON,
    maxUncommittedPerPartition: env.WORKER_MAX_UNCOMMITTED_PER_PARTITION,
    concurrency: env.WORKER_CONCURRENCY,
    maxBatchOperations: env.WORKER_MAX_BATCH_OPERATIONS,
    shutdownTimeoutMs: env.WORKER_SHUTDOWN_TIMEOUT_MS,
    sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
    fetchMaxBytes: env.WORKER_FETCH_MAX_BYTES,
    transactionalAmbiguous: env.WORKER_TRANSACTIONAL_AMBIGUOUS,
  };
}
