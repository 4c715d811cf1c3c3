import { signWebhook } from '@cio-bridge/cio-sandbox';
import { seedPredictionExamples } from '@cio-bridge/schemas';
import {
  buildServices,
  createTestTopics,
  type DedicatedRedis,
  readMessages,
  type ServiceProcess,
  spawnService,
  startRedisServer,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';

jest.setTimeout(180_000);

const KEY = 'whsec-redis-outage';

// The built service with its own Redis, which the test kills (SIGKILL) and starts again.
describe('webhook-handler: losing the replay store’s Redis degrades, never stops', () => {
  const topics = testTopicNames('webhook-redis-outage');
  let kafka: Kafka;
  let redis: DedicatedRedis;
  let service: ServiceProcess;

  beforeAll(async () => {
    buildServices('webhook-handler');
    kafka = await testKafka('webhook-redis-outage');
    await createTestTopics(kafka, topics);
    redis = await startRedisServer();
    service = await spawnService('webhook-handler', {
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_PREDICTIONS: topics.predictions,
      KAFKA_TOPIC_REPORTING: topics.reporting,
      KAFKA_TOPIC_TRACK: topics.track,
      KAFKA_TOPIC_QUARANTINE: topics.quarantine,
      CIO_WEBHOOK_SIGNING_KEYS: KEY,
      REDIS_URL: redis.url,
    });
  });
  afterAll(async () => {
    await service?.stop();
    await redis?.stop();
  });

  const example = Object.values(seedPredictionExamples())[0]!;
  let sequence = 0;
  const post = () => {
    const raw = JSON.stringify({ ...example, user_id: 9_000 + sequence++ });
    const timestamp = String(Math.floor(Date.now() / 1000));
    return fetch(`${service.url}/webhooks/customer-io`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-CIO-Timestamp': timestamp,
        'X-CIO-Signature': signWebhook(KEY, timestamp, raw),
      },
      body: raw,
    });
  };
  const readiness = async () =>
    (await (await fetch(`${service.url}/readyz`)).json()) as {
      status: string;
      checks: Record<string, string>;
    };
  const fallbackGauge = async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    return Number(/^cio_bridge_webhook_replay_store_fallback (\S+)$/m.exec(text)?.[1]);
  };
  const warnings = (text: string) =>
    service
      .output()
      .split('\n')
      .filter((line) => line.includes(text)).length;

  it('answers 200 after Kafka’s acknowledgement while Redis is dead, says so, and goes back to Redis', async () => {
    expect((await post()).status).toBe(200);
    expect(await fallbackGauge()).toBe(0);

    await redis.kill();
    const during = [];
    for (let i = 0; i < 10; i++) during.push((await post()).status);
    expect(during).toEqual(Array(10).fill(200));
    const ready = await readiness();
    expect(ready.status).toBe('ready');
    expect(ready.checks.replayStore).toBe('degraded');
    expect(await fallbackGauge()).toBe(1);
    // A replay is still caught, by the in-process store.
    const raw = JSON.stringify({ ...example, user_id: 8_999 });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const send = () =>
      fetch(`${service.url}/webhooks/customer-io`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-CIO-Timestamp': timestamp,
          'X-CIO-Signature': signWebhook(KEY, timestamp, raw),
        },
        body: raw,
      });
    expect((await send()).status).toBe(200);
    expect(((await (await send()).json()) as { status: string }).status).toBe('replayed');

    const published = await readMessages(kafka, topics.predictions, { count: 12, timeoutMs: 30_000 });
    expect(published).toHaveLength(12);

    await redis.restart();
    await waitFor(async () => (await readiness()).checks.replayStore === 'ok', { what: 'back on Redis' });
    expect(await fallbackGauge()).toBe(0);
    expect((await post()).status).toBe(200);
    // One warning line per change, whatever the number of requests meanwhile.
    expect(warnings('Redis unavailable for the replay store')).toBe(1);
    expect(warnings('Redis available again for the replay store')).toBe(1);
  });

  it('answers 200 while Redis hangs instead of refusing (every Redis call is bounded)', async () => {
    redis.pause();
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await post()).status);
      expect(statuses).toEqual([200, 200, 200]);
      expect((await readiness()).checks.replayStore).toBe('degraded');
    } finally {
      redis.resume();
    }
    await waitFor(async () => (await readiness()).checks.replayStore === 'ok', { what: 'back on Redis' });
  });
});
