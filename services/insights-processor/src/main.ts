import { kafkaClientOptions, loadConfig, runMain } from '@cio-bridge/config';
import { closeServer, createRegistry, listen } from '@cio-bridge/http';
import {
  createConsumer,
  createKafka,
  ensureTopics,
  kafkaReadiness,
  onShutdown,
  topicNamesFromEnv,
  topicSpecs,
} from '@cio-bridge/kafka';
import { createLogger } from '@cio-bridge/logger';
import { startTracing } from '@cio-bridge/tracing';
import {
  createApp,
  createInsightsMetrics,
  createPool,
  createWorker,
  insightsEnv,
  openStores,
  runMigrations,
} from '.';
import { createMemoryCache, createRedisCache } from './cache';

runMain(async () => {
  const config = loadConfig(insightsEnv, process.env);
  const topics = topicNamesFromEnv(process.env);
  const logger = createLogger({ name: 'insights-processor', level: config.LOG_LEVEL });
  const tracing = startTracing({ serviceName: 'cio-bridge-insights-processor' });
  const usersTable = { table: config.USERS_TABLE, keyColumn: config.USERS_KEY_COLUMN };

  if (config.MIGRATE_ON_START) {
    await runMigrations({ databaseUrl: config.DATABASE_URL, logger, ...usersTable });
  }
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_MAX, logger);
  const { users, reporting } = await openStores(pool, usersTable, logger);

  // ioredis is loaded only when used (about 9 MB of resident memory otherwise).
  const redis = config.REDIS_URL
    ? new (await import('ioredis')).Redis(config.REDIS_URL, {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
      })
    : undefined;
  redis?.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  await redis?.connect();
  const ttlSeconds = config.AI_FEATURES_CACHE_TTL_SECONDS;
  const cache = redis
    ? createRedisCache({ redis, ttlSeconds, keyPrefix: config.REDIS_KEY_PREFIX })
    : createMemoryCache({ ttlSeconds, maxEntries: config.AI_FEATURES_CACHE_MAX_ENTRIES });

  const kafka = createKafka(kafkaClientOptions(config), logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topics, ['predictions', 'reporting']), {
    create: config.KAFKA_CREATE_TOPICS,
  });
  await admin.disconnect();

  const registry = createRegistry();
  const metrics = createInsightsMetrics(registry);
  const worker = createWorker({
    consumer: createConsumer(kafka, {
      groupId: config.KAFKA_GROUP_ID,
      maxBytesPerPartition: config.KAFKA_MAX_BYTES_PER_PARTITION,
      // One fetch holds at most what the concurrent partitions write at once.
      maxBytes: config.KAFKA_MAX_BYTES_PER_PARTITION * config.INSIGHTS_PARTITIONS_CONCURRENCY,
    }),
    topics: { predictions: topics.predictions, reporting: topics.reporting },
    users,
    reporting,
    cache,
    metrics,
    logger,
    partitionsConcurrently: config.INSIGHTS_PARTITIONS_CONCURRENCY,
    tracing,
  });
  await worker.start();

  const app = createApp({
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
      ...(redis ? { redis: () => cache.check() } : {}),
    },
  });
  const server = await listen(app, config.PORT);
  logger.info(
    { port: config.PORT, cache: cache.kind, usersTable: config.USERS_TABLE },
    'insights-processor started',
  );

  onShutdown(
    async () => {
      await closeServer(server);
      await worker.stop();
      await tracing.shutdown();
      await redis?.quit().catch(() => redis.disconnect());
      await pool.end();
    },
    { logger },
  );
});
