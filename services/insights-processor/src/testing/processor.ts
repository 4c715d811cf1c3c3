import { createRegistry } from '@cio-bridge/http';
import { createConsumer, createKafka, Publisher } from '@cio-bridge/kafka';
import { testKafkaBrokers, testLogger, uniqueName } from '@cio-bridge/testkit';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { Partitioners } from 'kafkajs';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { createApp } from '../app';
import { createMemoryCache, createRedisCache, type FeatureCache } from '../cache';
import { createPool, openStores } from '../db';
import { createInsightsMetrics } from '../metrics';
import { runMigrations } from '../migrations';
import { PendingStore } from '../pending-store';
import { createPendingSweeper, type PendingSweeper } from '../pending-sweep';
import type { UsersStore } from '../users-store';
import { createWorker, type Worker } from '../worker';

export interface TestProcessor {
  app: Express;
  worker: Worker;
  pool: pg.Pool;
  users: UsersStore;
  cache: FeatureCache;
  registry: Registry;
  groupId: string;
  pending: PendingStore;
  sweeper: PendingSweeper;
  /** the summed value of a counter (optionally only samples with these labels) */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export interface TestProcessorOptions {
  databaseUrl: string;
  topics: { predictions: string; reporting: string; predictionsDlq: string };
  redis?: Redis;
  brokers?: string[];
  table?: string;
  keyColumn?: string;
  retry?: { initialMs?: number; maxMs?: number };
  /** the sweep runs only when asked (`sweeper.runOnce()`) unless an interval is given */
  pending?: { sweepIntervalMs?: number; ttlMs?: number };
}

/** The composition of main.ts, in-process, on the given database, topics and cache. */
export async function startTestProcessor(options: TestProcessorOptions): Promise<TestProcessor> {
  const logger = testLogger('insights-processor');
  const usersTable = { table: options.table ?? 'users', keyColumn: options.keyColumn ?? 'id' };
  await runMigrations({ databaseUrl: options.databaseUrl, logger, ...usersTable });
  const pool = createPool(options.databaseUrl, 8, logger);
  const { users, reporting } = await openStores(pool, usersTable, logger);
  const cache = options.redis
    ? createRedisCache({ redis: options.redis, ttlSeconds: 60, keyPrefix: `${uniqueName('test-ai')}:` })
    : createMemoryCache({ ttlSeconds: 60, maxEntries: 1000 });
  const kafka = createKafka(
    { brokers: options.brokers ?? (await testKafkaBrokers()), clientId: 'insights-test' },
    logger,
  );
  const registry = createRegistry();
  const groupId = uniqueName('insights');
  const metrics = createInsightsMetrics(registry);
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const pending = new PendingStore(pool, users);
  const sweeper = createPendingSweeper({
    pending,
    cache,
    metrics,
    logger,
    ttlMs: options.pending?.ttlMs ?? 7 * 86_400_000,
    intervalMs: options.pending?.sweepIntervalMs ?? 60_000,
  });
  const worker = createWorker({
    consumer: createConsumer(kafka, { groupId, maxWaitTimeInMs: 100 }),
    topics: options.topics,
    groupId,
    users,
    pending,
    deadLetters: new Publisher({ producer }),
    reporting,
    cache,
    metrics,
    logger,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const app = createApp({
    auth: 'none',
    users,
    cache,
    metrics,
    logger,
    registry,
    readiness: {
      postgres: async () => {
        await pool.query('SELECT 1');
      },
      consumer: () => worker.check(),
    },
  });
  await worker.start();
  if (options.pending?.sweepIntervalMs) sweeper.start();
  return {
    app,
    worker,
    pool,
    users,
    cache,
    registry,
    groupId,
    pending,
    sweeper,
    async metric(name, labels = {}) {
      const metric = registry.getSingleMetric(name);
      if (!metric) throw new Error(`no metric ${name}`);
      const { values } = await metric.get();
      // Counters and gauges; for a histogram, its count.
      return (values as { metricName?: string; value: number; labels: Record<string, unknown> }[])
        .filter((v) => v.metricName === undefined || v.metricName.endsWith('_count'))
        .filter((v) => Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async stop() {
      await worker.stop();
      await sweeper.stop();
      await producer.disconnect();
      await pool.end();
    },
  };
}
