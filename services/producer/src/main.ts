import { httpNetworkOptions, kafkaClientOptions, loadConfig, runMain } from '@cio-bridge/config';
import { closeServer, createRegistry, listen } from '@cio-bridge/http';
import {
  createKafka,
  ensureTopics,
  kafkaReadiness,
  MessagePlacement,
  onShutdown,
  Publisher,
  topicNamesFromEnv,
  topicRolesOf,
  topicSpecs,
} from '@cio-bridge/kafka';
import { createLogger } from '@cio-bridge/logger';
import { startTracing } from '@cio-bridge/tracing';
import { Partitioners } from 'kafkajs';
import { createApp, producerEnv } from './index';

runMain(async () => {
  const env = loadConfig(producerEnv, process.env);
  const topics = topicNamesFromEnv(process.env);
  const logger = createLogger({ name: 'producer', level: env.LOG_LEVEL });
  const tracing = startTracing({ serviceName: 'cio-bridge-producer' });
  const kafka = createKafka(kafkaClientOptions(env, `${env.KAFKA_CLIENT_ID}-producer`), logger);

  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topics, topicRolesOf('producer')), {
    create: env.KAFKA_CREATE_TOPICS,
  });
  await admin.disconnect();

  // records the partition of each message, for the spans' partition and offset
  const placement = new MessagePlacement();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // murmur2 like the Java client: one person's key lands on the same partition whoever produces it
    createPartitioner: placement.partitioner(Partitioners.DefaultPartitioner),
  });
  await producer.connect();
  const publisher = new Publisher({ producer, timeoutMs: env.PRODUCER_PUBLISH_TIMEOUT_MS, placement });

  const app = createApp({
    logger,
    registry: createRegistry(),
    publisher,
    topics,
    tokens: env.INGEST_API_TOKENS,
    maxBodyBytes: env.PRODUCER_MAX_BODY_BYTES,
    maxBatchItems: env.PRODUCER_MAX_BATCH_ITEMS,
    retryAfterSeconds: env.PRODUCER_RETRY_AFTER_SECONDS,
    maxPendingBytes: env.PRODUCER_MAX_PENDING_BYTES,
    readiness: { kafka: kafkaReadiness(kafka) },
    network: httpNetworkOptions(env),
    tracing,
  });
  const server = await listen(app, env.PORT);
  logger.info(
    { port: env.PORT, topics: { track: topics.track, transactional: topics.transactional } },
    'producer listening',
  );

  onShutdown(
    async () => {
      await closeServer(server);
      await producer.disconnect();
      await tracing.shutdown();
    },
    { logger },
  );
});
