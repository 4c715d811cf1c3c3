import { httpNetworkOptions, kafkaClientOptions, loadConfig, runMain } from '@cio-bridge/config';
import { closeServer, createRegistry, listen } from '@cio-bridge/http';
import {
  createConsumer,
  createKafka,
  ensureTopics,
  kafkaReadiness,
  onShutdown,
  Publisher,
  topicNamesFromEnv,
  topicSpecs,
} from '@cio-bridge/kafka';
import { createLogger } from '@cio-bridge/logger';
import { startTracing } from '@cio-bridge/tracing';
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

runMain(async () => {
  const config = loadConfig(insightsEnv, process.env);
  const auth = readApiAuth(config);
  const topics = topicNamesFromEnv(process.env);
  const logger = createLogger({ name: 'insights-processor', level: config.LOG_LEVEL });
  const tracing = startTracing({ serviceName: 'cio-bridge-insights-processor' });
  const usersTable = { table: config.USERS_TABLE, keyColumn: config.USERS_KEY_COLUMN };

  if (config.MIGRATE_ON_START) {
    await runMigrations({ databaseUrl: config.DATABASE_URL, logger, ...usersTable });
  }
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX, logger);
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
  const { cache } = cacheSetup;

  const kafka = createKafka(kafkaClientOptions(config), logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topics, ['predictions', 'reporting', 'predictionsDlq']), {
    create: config.KAFKA_CREATE_TOPICS,
  });
  await admin.disconnect();

  const metrics = createInsightsMetrics(registry);
  // Dead letters: idempotent, acks=all, one request in flight (the Publisher's contract).
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
    ttlMs: config.INSIGHTS_PENDING_TTL,
    intervalMs: config.INSIGHTS_PENDING_SWEEP_SECONDS * 1000,
  });
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
  const server = await listen(app, config.PORT);
  if (auth === 'none') logger.warn('INSIGHTS_API_AUTH=none: the read API answers without a token');
  logger.info(
    { port: config.PORT, cache: cache.kind, usersTable: config.USERS_TABLE },
    'insights-processor started',
  );

  onShutdown(
    async () => {
      await closeServer(server);
      await worker.stop();
      await sweeper.stop();
      await producer.disconnect();
      await tracing.shutdown();
      await cacheSetup.close();
      await pool.end();
    },
    { logger },
  );
});
