import { httpNetworkOptions } from '@cio-bridge/config';
import { createRegistry } from '@cio-bridge/http';
import { kafkaReadiness, Publisher, topicRolesOf } from '@cio-bridge/kafka';
import { runService } from '@cio-bridge/service-main';
import { createApp, createReplayStore, createWebhookProducer, webhookAuth, webhookEnv } from './index';

runService(
  {
    name: 'webhook-handler',
    env: webhookEnv,
    // which ways in are open, checked before anything connects
    settings: webhookAuth,
    topics: topicRolesOf('webhook-handler'),
  },
  async ({ env, settings: auth, topics, logger, tracing, kafka, onStop, listen }) => {
    const producer = createWebhookProducer(kafka);
    await producer.connect();
    onStop(() => producer.disconnect());
    const publisher = new Publisher({ producer, timeoutMs: env.WEBHOOK_PUBLISH_TIMEOUT_MS });
    const registry = createRegistry();
    const replay = await createReplayStore({
      redisUrl: env.REDIS_URL,
      maxEntries: env.WEBHOOK_REPLAY_CACHE_SIZE,
      logger,
      registry,
    });
    onStop(() => replay.close());

    const app = createApp({
      tracing,
      logger,
      registry,
      publisher,
      topics,
      signingKeys: auth.signingKeys,
      journey: auth.journey,
      predictionsAuth: auth.predictionsAuth,
      allowedSources: auth.allowedSources,
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
        // Which ways in are open, never the credentials.
        auth: {
          signature: auth.signingKeys.length > 0,
          basic: auth.journey.basic.length,
          headerSecrets: auth.journey.headers.length,
          predictions: auth.predictionsAuth,
          allowedSources: Boolean(auth.allowedSources),
        },
        suppressOnBounce: env.WEBHOOK_SUPPRESS_ON_BOUNCE,
      },
      'webhook-handler listening',
    );
  },
);
