import { httpNetworkOptions } from '@cio-bridge/config';
import { createRegistry } from '@cio-bridge/http';
import { createConsumer, kafkaReadiness, Publisher, topicRolesOf } from '@cio-bridge/kafka';
import { runService } from '@cio-bridge/service-main';
import { Partitioners } from 'kafkajs';
import {
  createApp,
  createInsightsMetrics,
  createPendingSweeper,
  createPool,
  createWorker,
  insightsEnv,
  openStores,
  PendingStore,
  readApiAuth,
  runMigrations,
} from '.';
import { openFeatureCache } from './fallback-cache';

runService(
  {
    name: 'insights-processor',
    env: insightsEnv,
    // The read API's authentication is checked with the environment, before anything connects.
    settings: readApiAuth,
    topics: topicRolesOf('insights-processor'),
  },
  async ({ env: config, settings: auth, topics, logger, tracing, kafka, onStop, listen }) => {
    const usersTable = { table: config.USERS_TABLE, keyColumn: config.USERS_KEY_COLUMN };
    if (config.MIGRATE_ON_START) {
      await runMigrations({ databaseUrl: config.DATABASE_URL, logger, ...usersTable });
    }
    const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX, logger);
    onStop(() => pool.end());
    const { users, reporting } = await openStores(pool, usersTable, logger);

    const registry = createRegistry();
    const cacheSetup = await openFeatureCache({
      redisUrl: config.REDIS_URL,
      keyPrefix: config.REDIS_KEY_PREFIX,
      ttlSeconds: config.AI_FEATURES_CACHE_TTL_SECONDS,
      maxEntries: config.AI_FEATURES_CACHE_MAX_ENTRIES,
      logger,
      registry,
    });
    onStop(() => cacheSetup.close());
    const { cache } = cacheSetup;

    const metrics = createInsightsMetrics(registry);
    // Dead letters: idempotent, acks=all, one request in flight (the Publisher's contract).
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    onStop(() => producer.disconnect());
    const pending = new PendingStore(pool, users);
    const sweeper = createPendingSweeper({
      pending,
      cache,
      metrics,
      logger,
      ttlMs: config.INSIGHTS_PENDING_TTL,
      intervalMs: config.INSIGHTS_PENDING_SWEEP_SECONDS * 1000,
    });
    onStop(() => sweeper.stop());
    const worker = createWorker({
      consumer: createConsumer(kafka, {
        groupId: config.KAFKA_GROUP_ID,
        maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
        // One fetch holds at most what the concurrent partitions write at once.
        maxBytes: config.KAFKA_MAX_BYTES_PER_PARTITION * config.INSIGHTS_PARTITIONS_CONCURRENCY,
      }),
      topics: {
        predictions: topics.predictions,
        reporting: topics.reporting,
        predictionsDlq: topics.predictionsDlq,
      },
      groupId: config.KAFKA_GROUP_ID,
      users,
      pending,
      deadLetters: new Publisher({ producer }),
      reporting,
      cache,
      metrics,
      logger,
      partitionsConcurrently: config.INSIGHTS_PARTITIONS_CONCURRENCY,
      tracing,
    });
    onStop(() => worker.stop());
    await worker.start();
    if (!users.upsert) sweeper.start();

    const app = createApp({
      auth,
      network: httpNetworkOptions(config),
      users,
      cache,
      metrics,
      logger,
      registry,
      readiness: {
        postgres: async () => {
          await pool.query('SELECT 1');
        },
        kafka: kafkaReadiness(kafka),
        consumer: () => worker.check(),
        ...cacheSetup.readiness,
      },
    });
    await listen(app);
    if (auth === 'none') logger.warn('INSIGHTS_API_AUTH=none: the read API answers without a token');
    logger.info(
      { port: config.PORT, cache: cache.kind, usersTable: config.USERS_TABLE },
      'insights-processor started',
    );
  },
);
