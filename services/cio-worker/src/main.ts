// First: may re-execute the process with its V8 heap settings before anything else loads.
import './heap-settings';
import { createServer } from 'node:http';
import { httpNetworkOptions, kafkaClientOptions, loadConfig, runMain } from '@cio-bridge/config';
import { closeServer, createRegistry } from '@cio-bridge/http';
import { createKafka, ensureTopics, onShutdown, topicNamesFromEnv, topicSpecs } from '@cio-bridge/kafka';
import { createLogger } from '@cio-bridge/logger';
import { startTracing } from '@cio-bridge/tracing';
import { Redis } from 'ioredis';
import { receiptsTopicSpec } from './delivery/receipts';
import {
  createWorker,
  customerioOptions,
  tuningOptions,
  workerConsumer,
  workerEnv,
  workerProducer,
} from './index';
import { outputOptions } from './output/output';

runMain(async () => {
  const env = loadConfig(workerEnv, process.env);
  const output = outputOptions(env);
  const topics = topicNamesFromEnv(process.env);
  const logger = createLogger({ name: 'cio-worker', level: env.LOG_LEVEL });
  const tracing = startTracing({ serviceName: 'cio-bridge-cio-worker' });
  const kafka = createKafka(kafkaClientOptions(env, `${env.KAFKA_CLIENT_ID}-cio-worker`), logger);

  const admin = kafka.admin();
  await admin.connect();
  const receipts = env.WORKER_RECEIPTS_TOPIC ? [receiptsTopicSpec(env.WORKER_RECEIPTS_TOPIC)] : [];
  await ensureTopics(admin, [...topicSpecs(topics, ['track', 'transactional', 'dlq']), ...receipts], {
    create: env.KAFKA_CREATE_TOPICS,
  });
  await admin.disconnect();

  const redis = env.REDIS_URL ? new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
  // Without a listener ioredis prints every reconnect failure as an unhandled error; the
  // budget logs one warning per change between the shared budget and its fallback.
  redis?.on('error', (error: Error) => logger.debug({ err: error }, 'Redis connection error'));
  const tuning = tuningOptions(env);
  // The composition root: the Kafka clients and the HTTP server are made here.
  const server = createServer();
  // Behind load balancers: keep idle connections open longer than their idle timeout.
  server.keepAliveTimeout = 65_000;
  const worker = createWorker({
    kafka,
    consumer: workerConsumer(kafka, env.KAFKA_GROUP_ID, tuning),
    producer: workerProducer(kafka),
    server,
    topics,
    groupId: env.KAFKA_GROUP_ID,
    customerio: customerioOptions(env),
    output,
    rateLimitRps: env.CIO_RATE_LIMIT_RPS,
    logger,
    registry: createRegistry(),
    redis,
    network: httpNetworkOptions(env),
    tuning,
    receiptsTopic: env.WORKER_RECEIPTS_TOPIC,
    tracing,
    onFatal: (error) => {
      logger.fatal({ err: error }, 'the Kafka consumer gave up: stopping');
      void worker.stop().finally(() => process.exit(1));
    },
  });
  // Signals are trapped before starting: joining the group can take a while after a crash.
  onShutdown(
    async () => {
      await worker.stop();
      await closeServer(server);
      await redis?.quit();
      await tracing.shutdown();
    },
    { logger, timeoutMs: env.WORKER_SHUTDOWN_TIMEOUT_MS + 10_000 },
  );
  // Listening first: /readyz answers (not ready) while the group is being joined.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(env.PORT, '0.0.0.0', () => resolve());
  });
  await worker.start();
});
