import { httpNetworkOptions } from '@cio-bridge/config';
import { createRegistry } from '@cio-bridge/http';
import { kafkaReadiness, MessagePlacement, Publisher, ReplyInbox, topicRolesOf } from '@cio-bridge/kafka';
import { runService } from '@cio-bridge/service-main';
import { Partitioners } from 'kafkajs';
import { createApp, producerEnv } from './index';
import { createWaitMetrics } from './metrics';

runService(
  { name: 'producer', env: producerEnv, topics: topicRolesOf('producer') },
  async ({ env, topics, logger, tracing, kafka, onStop, listen }) => {
    // records the partition of each message, for the spans' partition and offset
    const placement = new MessagePlacement();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      // murmur2 like the Java client: one person's key lands on the same partition whoever produces it
      createPartitioner: placement.partitioner(Partitioners.DefaultPartitioner),
    });
    await producer.connect();
    onStop(() => producer.disconnect());
    const publisher = new Publisher({ producer, timeoutMs: env.PRODUCER_PUBLISH_TIMEOUT_MS, placement });

    const registry = createRegistry();
    const waitMetrics = createWaitMetrics(registry);
    // Replies to `Prefer: wait` requests: this instance's own partition of the replies topic.
    const inbox = new ReplyInbox({
      kafka,
      topic: topics.replies,
      maxWaiting: env.PRODUCER_MAX_WAITERS,
      logger,
      onReply: (matched) => waitMetrics.replies.inc({ result: matched ? 'matched' : 'unmatched' }),
    });
    await inbox.start();
    // Stop steps run newest first: the server closes (waiting requests are answered by
    // their own deadline) before the inbox stops and the producer disconnects.
    onStop(() => inbox.stop());

    const app = createApp({
      logger,
      registry,
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
      waiting: inbox,
      maxWaitSeconds: env.PRODUCER_MAX_WAIT_SECONDS,
      waitMetrics,
    });
    await listen(app);
    logger.info(
      { port: env.PORT, topics: { track: topics.track, transactional: topics.transactional } },
      'producer listening',
    );
  },
);
