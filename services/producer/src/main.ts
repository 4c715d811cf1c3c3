import { httpNetworkOptions } from '@cio-bridge/config';
import { createRegistry } from '@cio-bridge/http';
import { kafkaReadiness, Publisher } from '@cio-bridge/kafka';
import { runService } from '@cio-bridge/service-main';
import { Partitioners } from 'kafkajs';
import { createApp, producerEnv } from './index';

runService(
  { name: 'producer', env: producerEnv, topics: ['track', 'transactional'] },
  async ({ env, topics, logger, tracing, kafka, onStop, listen }) => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // murmur2 like the Java client: one person's key lands on the same partition whoever produces it
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    onStop(() => producer.disconnect());
    const publisher = new Publisher({ producer, timeoutMs: env.PRODUCER_PUBLISH_TIMEOUT_MS });

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
    await listen(app);
    logger.info(
      { port: env.PORT, topics: { track: topics.track, transactional: topics.transactional } },
      'producer listening',
    );
  },
);
