import { httpNetworkOptions } from '@cio-bridge/config';
import { createRegistry } from '@cio-bridge/http';
import { kafkaReadiness, Publisher, topicRolesOf } from '@cio-bridge/kafka';
import { runService } from '@cio-bridge/service-main';
import { createApp, createReplayStore, createWebhookProducer, webhookEnv } from './index';

runService(
  { name: 'webhook-handler', env: webhookEnv, topics: topicRolesOf('webhook-handler') },
  async ({ env, topics, logger, tracing, kafka, onStop, listen }) => {
    const producer = createWebhookProducer(kafka);
    await producer.connect();
    onStop(() => producer.disconnect());
    const publisher = new Publisher({ producer, timeoutMs: env.WEBHOOK_PUBLISH_TIMEOUT_MS });
    const replay = await createReplayStore({
      redisUrl: env.REDIS_URL,
      maxEntries: env.WEBHOOK_REPLAY_CACHE_SIZE,
      logger,
    });
    onStop(() => replay.close());

    const app = createApp({
      tracing,
      logger,
      registry: createRegistry(),
      publisher,
      topics,
      signingKeys: env.CIO_WEBHOOK_SIGNING_KEYS,
      toleranceSeconds: env.WEBHOOK_TOLERANCE_SECONDS,
      suppressOnBounce: env.WEBHOOK_SUPPRESS_ON_BOUNCE,
      bodyLimitBytes: env.WEBHOOK_MAX_BODY_BYTES,
      publishTimeoutMs: env.WEBHOOK_PUBLISH_TIMEOUT_MS,
      replayStore: replay.store,
      readiness: { kafka: kafkaReadiness(kafka), ...replay.readiness },
      network: httpNetworkOptions(env),
    });
    await listen(app);
    logger.info(
      {
        port: env.PORT,
        topics,
        replayStore: replay.store.kind,
        suppressOnBounce: env.WEBHOOK_SUPPRESS_ON_BOUNCE,
      },
      'webhook-handler listening',
    );
  },
);
