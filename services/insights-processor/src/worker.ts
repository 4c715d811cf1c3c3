import { type Logger, messageLogger } from '@cio-bridge/logger';
import { SpanKind, startLinkedSpan, type Tracing } from '@cio-bridge/tracing';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { FeatureCache } from './cache';
import type { InsightsMetrics } from './metrics';
import { collapse, type MergeRow, type Prediction, parsePrediction } from './prediction';
import { parseReporting, type ReportingRow, type ReportingStore } from './reporting';
import { isDataError } from './sql';
import type { FeaturesRecord, MergeResult, UsersStore } from './users-store';

export interface WorkerOptions {
  consumer: Consumer;
  topics: { predictions: string; reporting: string };
  users: UsersStore;
  reporting: ReportingStore;
  cache: FeatureCache;
  metrics: InsightsMetrics;
  logger: Logger;
  /** partitions written at the same time (each holds one pool connection while writing) */
  partitionsConcurrently?: number;
  /** backoff between attempts while Postgres or the cache fails */
  retry?: { initialMs?: number; maxMs?: number };
  /** a span per Postgres merge, linked to the predictions' traces (default: off) */
  tracing?: Tracing;
}

export interface Worker {
  start(): Promise<void>;
  /** stops fetching, lets the batch in hand finish (or hands it back), commits, disconnects */
  stop(): Promise<void>;
  /** readiness: throws while writes fail, before the group was joined, or after a crash */
  check(): void;
}

type Dependency = 'postgres' | 'cache';
type BatchContext = Pick<EachBatchPayload, 'heartbeat' | 'pause' | 'isRunning' | 'isStale'>;

/** The batch was handed back (stopping, or the partition moved): it is not committed. */
const ABANDONED = Symbol('abandoned');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Consumes predictions and reporting events in batches (one kafkajs batch per
 * partition). Each batch is one statement; its offsets are resolved, and so committed,
 * only after Postgres committed it and the cache holds the result. While Postgres (or
 * Redis) fails, the partition is paused and the same batch retried with backoff, so
 * nothing is skipped; a batch handed back on stop or rebalance is redelivered, which
 * the idempotent writes make harmless.
 */
export function createWorker(options: WorkerOptions): Worker {
  const { tracing } = options;
  const { consumer, topics, users, reporting, cache, metrics, logger } = options;
  const initialMs = options.retry?.initialMs ?? 250;
  const maxMs = options.retry?.maxMs ?? 10_000;
  const failing = new Map<Dependency, string>();
  let joined = false;
  let crashed: string | undefined;
  metrics.postgresAvailable.set(1);

  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) crashed = payload.error.message;
  });

  const setFailing = (dependency: Dependency, error: unknown) => {
    failing.set(dependency, (error as Error)?.message || String(error));
    if (dependency === 'postgres') metrics.postgresAvailable.set(0);
  };
  const setWorking = (dependency: Dependency) => {
    if (failing.delete(dependency)) logger.info({ dependency }, 'writes succeed again');
    if (dependency === 'postgres') metrics.postgresAvailable.set(1);
  };

  /** Runs `attempt` until it succeeds; pauses the partition meanwhile. */
  async function persistently<T>(
    dependency: Dependency,
    attempt: () => Promise<T>,
    ctx: BatchContext,
    where: Record<string, unknown>,
  ): Promise<T | typeof ABANDONED> {
    let resume: (() => void) | undefined;
    try {
      for (let n = 0; ; n++) {
        if (!ctx.isRunning() || ctx.isStale()) return ABANDONED;
        try {
          const value = await attempt();
          setWorking(dependency);
          return value;
        } catch (error) {
          metrics.writeFailures.inc({ dependency });
          setFailing(dependency, error);
          resume ??= ctx.pause();
          const delay = Math.round(Math.min(maxMs, initialMs * 2 ** n) * (0.5 + Math.random() / 2));
          logger.warn(
            { ...where, dependency, attempt: n + 1, retryInMs: delay, err: error },
            'write failed: retrying',
          );
          // Sleep in slices: keep the group membership alive, give up promptly on stop.
          for (let waited = 0; waited < delay && ctx.isRunning() && !ctx.isStale(); waited += 500) {
            await sleep(Math.min(500, delay - waited));
            await ctx.heartbeat();
          }
        }
      }
    } finally {
      resume?.();
    }
  }

  /** The batch in one statement; on a data error, row by row so only the bad rows are left out. */
  async function merge(rows: MergeRow[]): Promise<MergeResult & { rejected: MergeRow[] }> {
    try {
      return { ...(await users.merge(rows)), rejected: [] };
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (rows.length === 1) {
        logger.error({ userId: rows[0]?.k, err: error }, 'the database rejected a prediction: skipped');
        return { changed: [], current: [], unknown: [], rejected: rows };
      }
    }
    const total: MergeResult & { rejected: MergeRow[] } = {
      changed: [],
      current: [],
      unknown: [],
      rejected: [],
    };
    for (const row of rows) {
      const one = await merge([row]);
      total.changed.push(...one.changed);
      total.current.push(...one.current);
      total.unknown.push(...one.unknown);
      total.rejected.push(...one.rejected);
    }
    return total;
  }

  async function insertReporting(rows: ReportingRow[]): Promise<{ stored: number; rejected: number }> {
    try {
      return { stored: await reporting.insert(rows), rejected: 0 };
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (rows.length === 1) {
        logger.error(
          { eventId: rows[0]?.event_id, err: error },
          'the database rejected a reporting event: skipped',
        );
        return { stored: 0, rejected: 1 };
      }
    }
    const total = { stored: 0, rejected: 0 };
    for (const row of rows) {
      const one = await insertReporting([row]);
      total.stored += one.stored;
      total.rejected += one.rejected;
    }
    return total;
  }

  const invalid = (topic: string, partition: number, message: KafkaMessage, field: string, reason: string) =>
    messageLogger(logger, { topic, partition, offset: message.offset }).warn(
      { field },
      `invalid message skipped: ${field} ${reason}`,
    );

  async function predictionsBatch({ batch, ...ctx }: EachBatchPayload): Promise<boolean> {
    const { topic, partition, messages } = batch;
    const valid: Prediction[] = [];
    for (const message of messages) {
      const parsed = parsePrediction(message.value, users.key);
      if (parsed.ok) valid.push(parsed.prediction);
      else {
        metrics.predictionsSkipped.inc({ reason: 'invalid' });
        invalid(topic, partition, message, parsed.field, parsed.reason);
      }
    }
    const where = { topic, partition, offset: batch.firstOffset() };
    const rows = collapse(valid);
    const span = tracing?.enabled
      ? startLinkedSpan(
          tracing,
          'postgres merge users.ai_features',
          messages.map((m) => m.headers),
          {
            kind: SpanKind.CLIENT,
            attributes: { 'db.system.name': 'postgresql', 'messaging.batch.message_count': messages.length },
          },
        )
      : undefined;
    const result = await persistently('postgres', () => merge(rows), ctx, where);
    span?.end();
    if (result === ABANDONED) return false;
    const records: FeaturesRecord[] = [...result.changed, ...result.current];
    if ((await persistently('cache', () => cache.offer(records), ctx, where)) === ABANDONED) return false;

    const perUser = new Map<string, number>();
    for (const { userId } of valid) perUser.set(userId, (perUser.get(userId) ?? 0) + 1);
    const count = (ids: Iterable<string>) => [...ids].reduce((sum, id) => sum + (perUser.get(id) ?? 0), 0);
    const unknown = count(result.unknown);
    const rejected = count(result.rejected.map((row) => row.k));
    if (unknown > 0) {
      metrics.predictionsSkipped.inc({ reason: 'unknown_user' }, unknown);
      logger.warn(
        { ...where, users: result.unknown.length, messages: unknown, table: users.table },
        'predictions for users not in the users table skipped',
      );
    }
    if (rejected > 0) metrics.predictionsSkipped.inc({ reason: 'rejected' }, rejected);
    metrics.predictionsPersisted.inc(valid.length - unknown - rejected);
    metrics.usersUpdated.inc(result.changed.length);
    return true;
  }

  async function reportingBatch({ batch, ...ctx }: EachBatchPayload): Promise<boolean> {
    const { topic, partition, messages } = batch;
    const rows: ReportingRow[] = [];
    for (const message of messages) {
      const parsed = parseReporting(message.value);
      if (parsed.ok) rows.push(parsed.row);
      else {
        metrics.reportingStored.inc({ outcome: 'invalid' });
        invalid(topic, partition, message, parsed.field, parsed.reason);
      }
    }
    const where = { topic, partition, offset: batch.firstOffset() };
    const result = await persistently('postgres', () => insertReporting(rows), ctx, where);
    if (result === ABANDONED) return false;
    metrics.reportingStored.inc({ outcome: 'stored' }, result.stored);
    metrics.reportingStored.inc({ outcome: 'duplicate' }, rows.length - result.stored - result.rejected);
    if (result.rejected > 0) metrics.reportingStored.inc({ outcome: 'rejected' }, result.rejected);
    return true;
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { topic, messages } = payload.batch;
    const last = messages.at(-1);
    if (!last) return;
    const started = process.hrtime.bigint();
    const done =
      topic === topics.predictions ? await predictionsBatch(payload) : await reportingBatch(payload);
    // Not done: stopping or the partition was taken away; the offsets stay where they were.
    if (!done) return;
    payload.resolveOffset(last.offset);
    metrics.batchSize.observe({ topic }, messages.length);
    metrics.batchDuration.observe({ topic }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topics: [topics.predictions, topics.reporting], fromBeginning: true });
      await consumer.run({
        // Offsets are resolved by hand after the write; kafkajs commits resolved offsets after each batch.
        eachBatchAutoResolve: false,
        autoCommit: true,
        partitionsConsumedConcurrently: options.partitionsConcurrently ?? 6,
        eachBatch,
      });
    },
    async stop() {
      await consumer.disconnect();
    },
    check() {
      if (crashed) throw new Error(`consumer stopped: ${crashed}`);
      const reasons = [...failing].map(([dependency, message]) => `writes to ${dependency} fail: ${message}`);
      if (reasons.length > 0) throw new Error(reasons.join('; '));
      if (!joined) throw new Error('consumer has not joined its group yet');
    },
  };
}
