// First: may re-execute the process with its V8 heap settings before anything else loads.
import './heap-settings';
import { createServer } from 'node:http';
import { cioRateLimitRps, httpNetworkOptions } from '@cio-bridge/config';
import { closeServer, createRegistry } from '@cio-bridge/http';
import { topicRolesOf } from '@cio-bridge/kafka';
import { runService } from '@cio-bridge/service-main';
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

runService(
  {
    name: 'cio-worker',
    env: workerEnv,
    settings: outputOptions,
    topics: topicRolesOf('cio-worker'),
    moreTopics: (env) => (env.WORKER_RECEIPTS_TOPIC ? [receiptsTopicSpec(env.WORKER_RECEIPTS_TOPIC)] : []),
    shutdownTimeoutMs: (env) => env.WORKER_SHUTDOWN_TIMEOUT_MS + 10_000,
  },
  async ({ env, settings: output, topics, logger, tracing, kafka, onStop }) => {
    const redis = env.REDIS_URL ? new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
    // Without a listener ioredis prints every reconnect failure as an unhandled error; the
    // budget logs one warning per change between the shared budget and its fallback.
    redis?.on('error', (error: Error) => logger.debug({ err: error }, 'Redis connection error'));
    if (redis)
      onStop(async () => {
        await redis.quit();
      });
    const tuning = tuningOptions(env);
    // The composition root: the Kafka clients and the HTTP server are made here.
    const server = createServer();
    // Behind load balancers: keep idle connections open longer than their idle timeout.
    server.keepAliveTimeout = 65_000;
    onStop(() => closeServer(server));
    const worker = createWorker({
      kafka,
      consumer: workerConsumer(kafka, env.KAFKA_GROUP_ID, tuning),
      producer: workerProducer(kafka),
      server,
      topics,
      groupId: env.KAFKA_GROUP_ID,
      customerio: customerioOptions(env),
      output,
      // the workspace's budget given to cio-bridge; unset: Customer.io's documented rate for CIO_API
      rateLimitRps: cioRateLimitRps(env),
      logger,
      registry: createRegistry(),
      redis,
      network: httpNetworkOptions(env),
      tuning,
      receiptsTopic: env.WORKER_RECEIPTS_TOPIC,
      repliesTopic: topics.replies,
      tracing,
      onFatal: (error) => {
        logger.fatal({ err: error }, 'the Kafka consumer gave up: stopping');
        void worker.stop().finally(() => process.exit(1));
      },
    });
    // Stop steps run newest first: the worker, then the server, Redis and tracing.
    onStop(() => worker.stop());
    // Listening first: /readyz answers (not ready) while the group is being joined.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(env.PORT, '0.0.0.0', () => resolve());
    });
    await worker.start();
  },
);
