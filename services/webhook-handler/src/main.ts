import { httpNetworkOptions, kafkaClientOptions, loadConfig, runMain } from '@cio-bridge/config';
import { closeServer, createRegistry, listen } from '@cio-bridge/http';
import {
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
import { createApp, createReplayStore, createWebhookProducer, webhookAuth, webhookEnv } from './index';

runMain(async () => {
  const env = loadConfig(webhookEnv, process.env);
  const auth = webhookAuth(env);
  const topics = topicNamesFromEnv(process.env);
  const logger = createLogger({ name: 'webhook-handler', level: env.LOG_LEVEL });
  const tracing = startTracing({ serviceName: 'cio-bridge-webhook-handler' });
  const kafka = createKafka(kafkaClientOptions(env, `${env.KAFKA_CLIENT_ID}-webhook-handler`), logger);

  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topics, ['predictions', 'reporting', 'track', 'quarantine']), {
    create: env.KAFKA_CREATE_TOPICS,
  });
  await admin.disconnect();

  const producer = createWebhookProducer(kafka);
  await producer.connect();
  const publisher = new Publisher({ producer, timeoutMs: env.WEBHOOK_PUBLISH_TIMEOUT_MS });
  const registry = createRegistry();
  const replay = await createReplayStore({
    redisUrl: env.REDIS_URL,
    maxEntries: env.WEBHOOK_REPLAY_CACHE_SIZE,
    logger,
    registry,
  });

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
  const server = await listen(app, env.PORT);
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

  onShutdown(
    async () => {
      await closeServer(server);
      await producer.disconnect();
      await tracing.shutdown();
      await replay.close();
    },
    { logger },
  );
});
