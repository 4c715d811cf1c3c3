import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, messageLogger } from '@cio-bridge/logger';
import { SpanKind, startLinkedSpan, type Tracing } from '@cio-bridge/tracing';
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { FeatureCache } from './cache';
import { type MessagePublisher, predictionDeadLetter } from './dead-letter';
import type { InsightsMetrics } from './metrics';
import type { PendingStore } from './pending-store';
import { collapse, type MergeRow, type Prediction, parsePrediction } from './prediction';
import { parseReporting, type ReportingRow, type ReportingStore } from './reporting';
import { isDataError } from './sql';
import type { FeaturesRecord, UsersStore } from './users-store';

export interface WorkerOptions {
  consumer: Consumer;
  topics: { predictions: string; reporting: string; predictionsDlq: string };
  /** the consumer's group id, recorded on dead letters */
  groupId: string;
  users: UsersStore;
  /** where predictions for users not in the users table wait (not used when predictions create users) */
  pending: PendingStore;
  /** publishes to the predictions dead-letter topic */
  deadLetters: MessagePublisher;
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

type Dependency = 'postgres' | 'kafka';
type BatchContext = Pick<EachBatchPayload, 'heartbeat' | 'pause' | 'isRunning' | 'isStale'>;

/** A valid prediction and the message it came in. */
interface Received {
  prediction: Prediction;
  message: KafkaMessage;
}

interface Merged {
  /** the state of the users the batch found (changed or already up to date) */
  records: FeaturesRecord[];
  /** how many of them changed */
  changed: number;
  /** merge rows of users not in the table */
  unknown: MergeRow[];
  rejected: { item: Received; error: unknown }[];
}

/** The batch was handed back (stopping, or the partition moved): it is not committed. */
const ABANDONED = Symbol('abandoned');

/**
 * Consumes predictions and reporting events in batches (one kafkajs batch per
 * partition). Each batch is one statement; its offsets are resolved, and so committed,
 * only after Postgres committed it, what the database rejected is on the predictions
 * dead-letter topic, predictions of users not in the table wait in ai_features_pending,
 * and the cache holds the result (never waited for: Postgres is the truth). While Postgres
 * (or Kafka for dead letters) fails, the partition is paused and the same batch retried with backoff, so nothing is
 * skipped; a batch handed back on stop or rebalance is redelivered, which the
 * idempotent writes make harmless.
 */
export function createWorker(options: WorkerOptions): Worker {
  const { tracing } = options;
  const { consumer, topics, groupId, users, pending, deadLetters, reporting, cache, metrics, logger } =
    options;
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

  /**
   * The batch in one statement; on a data error, row by row, and a rejected row that
   * merged several messages of one user message by message (in offset order, as the
   * collapse would have applied them), so only the messages the database rejects are
   * left out, each with its error.
   */
  async function merge(predictions: Received[]): Promise<Merged> {
    const merged: Merged = { records: [], changed: 0, unknown: [], rejected: [] };
    const byUser = new Map<string, Received[]>();
    for (const item of predictions) {
      const list = byUser.get(item.prediction.userId);
      if (list) list.push(item);
      else byUser.set(item.prediction.userId, [item]);
    }
    const rows = collapse(predictions.map((item) => item.prediction));
    for (const { row, error } of await mergeRows(rows, merged)) {
      const messages = byUser.get(row.k) ?? [];
      if (messages.length === 1) {
        merged.rejected.push({ item: messages[0]!, error });
        continue;
      }
      for (const item of messages) {
        for (const one of await mergeRows(collapse([item.prediction]), merged))
          merged.rejected.push({ item, error: one.error });
      }
    }
    return merged;
  }

  /** Merges rows into `into`; returns the rows the database rejected (bisecting to single rows). */
  async function mergeRows(rows: MergeRow[], into: Merged): Promise<{ row: MergeRow; error: unknown }[]> {
    if (rows.length === 0) return [];
    try {
      const result = await users.merge(rows);
      into.records.push(...result.changed, ...result.current);
      into.changed += result.changed.length;
      const unknown = new Set(result.unknown);
      into.unknown.push(...rows.filter((row) => unknown.has(row.k)));
      return [];
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (rows.length === 1) return [{ row: rows[0]!, error }];
    }
    const rejected: { row: MergeRow; error: unknown }[] = [];
    for (const row of rows) rejected.push(...(await mergeRows([row], into)));
    return rejected;
  }

  /**
   * Keeps the predictions of users not in the table, and applies what already waited
   * for the users this batch found. A data error here leaves the rows to the sweep and
   * the TTL rather than holding the partition.
   */
  async function settlePending(merged: Merged, where: Record<string, unknown>): Promise<FeaturesRecord[]> {
    if (users.upsert) return [];
    await pending.add(merged.unknown);
    if (merged.unknown.length > 0) metrics.pendingAdded.inc(merged.unknown.length);
    if (!pending.mayHoldRows) return [];
    try {
      const applied = await pending.applyFor(merged.records.map((record) => record.userId));
      if (applied.rows > 0) metrics.pendingApplied.inc({ via: 'prediction' }, applied.rows);
      return applied.records;
    } catch (error) {
      if (!isDataError(error)) throw error;
      logger.error({ ...where, err: error }, 'the database rejected pending predictions: left to expire');
      return [];
    }
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
    const valid: Received[] = [];
    for (const message of messages) {
      const parsed = parsePrediction(message.value, users.key);
      if (parsed.ok) valid.push({ prediction: parsed.prediction, message });
      else {
        metrics.predictionsSkipped.inc({ reason: 'invalid' });
        invalid(topic, partition, message, parsed.field, parsed.reason);
      }
    }
    const where = { topic, partition, offset: batch.firstOffset() };
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
    const result = await persistently(
      'postgres',
      async () => {
        const merged = await merge(valid);
        return { merged, applied: await settlePending(merged, where) };
      },
      ctx,
      where,
    );
    span?.end();
    if (result === ABANDONED) return false;
    const { merged, applied } = result;

    // What the database rejected is on the dead-letter topic before the offset moves on.
    if (merged.rejected.length > 0) {
      const letters = merged.rejected.map(({ item, error }) =>
        predictionDeadLetter(
          { topic, partition, message: item.message, consumerGroup: groupId },
          error,
          Date.now(),
        ),
      );
      const published = await persistently(
        'kafka',
        () => deadLetters.publish(topics.predictionsDlq, letters),
        ctx,
        where,
      );
      if (published === ABANDONED) return false;
      for (const { item, error } of merged.rejected) {
        messageLogger(logger, { topic, partition, offset: item.message.offset }).error(
          { sqlState: (error as { code?: string }).code, dlq: topics.predictionsDlq },
          'the database rejected a prediction: dead-lettered',
        );
      }
      metrics.predictionsDeadLettered.inc(merged.rejected.length);
      metrics.predictionsSkipped.inc({ reason: 'rejected' }, merged.rejected.length);
    }

    const records: FeaturesRecord[] = [...merged.records, ...applied];
    // Postgres is the truth and has committed: the cache never holds the partition up
    // (with Redis it falls back to the in-process LRU by itself).
    await cache.offer(records).catch((error: unknown) => {
      logger.warn({ ...where, err: error }, 'caching ai_features failed: reads go to Postgres');
    });

    const unknownUsers = new Set(merged.unknown.map((row) => row.k));
    const waiting = valid.filter(
      (item) => unknownUsers.has(item.prediction.userId) && !merged.rejected.some((r) => r.item === item),
    ).length;
    if (waiting > 0) {
      metrics.predictionsSkipped.inc({ reason: 'pending' }, waiting);
      logger.info(
        { ...where, users: unknownUsers.size, messages: waiting, table: users.table },
        'predictions for users not in the users table kept in ai_features_pending',
      );
    }
    metrics.predictionsPersisted.inc(valid.length - waiting - merged.rejected.length);
    metrics.usersUpdated.inc(merged.changed);
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
