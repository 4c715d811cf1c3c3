import {
  buildServices,
  createTestSchema,
  createTestTopics,
  type DedicatedRedis,
  type ServiceProcess,
  spawnService,
  startRedisServer,
  type TestSchema,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { predictionMessage, produce } from './testing/messages';

jest.setTimeout(180_000);

const TOKEN = 'insights-redis-outage-token';

// The built service with its own Redis (persistent, as in production), which the test
// kills with SIGKILL and starts again holding what it held before.
describe('insights-processor: losing the cache’s Redis degrades, never stops', () => {
  const topics = testTopicNames('insights-redis-outage');
  let kafka: Kafka;
  let schema: TestSchema;
  let db: pg.Client;
  let redis: DedicatedRedis;
  let service: ServiceProcess;

  beforeAll(async () => {
    buildServices('insights-processor');
    kafka = await testKafka('insights-redis-outage');
    await createTestTopics(kafka, topics);
    schema = await createTestSchema('insights_redis_outage');
    db = new pg.Client({ connectionString: schema.databaseUrl });
    await db.connect();
    await db.query('CREATE TABLE users (id bigint PRIMARY KEY, email text)');
    await db.query('INSERT INTO users (id) SELECT generate_series(1, 30)');
    redis = await startRedisServer({ persist: true });
    service = await spawnService('insights-processor', {
      DATABASE_URL: schema.databaseUrl,
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_PREDICTIONS: topics.predictions,
      KAFKA_TOPIC_REPORTING: topics.reporting,
      KAFKA_TOPIC_PREDICTIONS_DLQ: topics.predictionsDlq,
      INSIGHTS_API_TOKENS: TOKEN,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'info',
    });
  });
  afterAll(async () => {
    await service?.stop();
    await redis?.stop();
    await db?.end();
    await schema?.drop();
  });

  const read = (userId: number) =>
    fetch(`${service.url}/v1/users/${userId}/ai-features`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const churnOf = async (userId: number) =>
    ((await (await read(userId)).json()) as { ai_features: { churn_probability?: number } }).ai_features
      .churn_probability;
  const stored = async (value: number) =>
    Number(
      (
        await db.query(
          "SELECT count(*) AS n FROM users WHERE (ai_features->>'churn_probability')::float8 = $1",
          [value],
        )
      ).rows[0].n,
    );
  const readiness = async () =>
    (await (await fetch(`${service.url}/readyz`)).json()) as {
      status: string;
      checks: Record<string, string>;
    };
  const fallbackGauge = async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    return Number(/^cio_bridge_insights_cache_fallback (\S+)$/m.exec(text)?.[1]);
  };
  const lines = (text: string) =>
    service
      .output()
      .split('\n')
      .filter((line) => line.includes(text)).length;
  const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();

  it('stores every prediction while Redis is dead, reads never 5xx, and serves nothing stale once Redis is back', async () => {
    // Before the outage: every user's features are in Redis.
    await produce(
      kafka,
      topics.predictions,
      Array.from({ length: 20 }, (_, i) => predictionMessage(i + 1, { churn_probability: 0.1 }, at(1))),
    );
    await waitFor(async () => (await stored(0.1)) === 20, {
      timeoutMs: 60_000,
      what: 'the first predictions stored',
    });
    for (let user = 1; user <= 20; user++) expect(await churnOf(user)).toBe(0.1);
    expect((await read(1)).headers.get('x-cache')).toBe('hit');
    expect(await fallbackGauge()).toBe(0);

    await redis.kill();
    // One by one, so that they arrive in many batches.
    for (let user = 1; user <= 20; user++) {
      await produce(kafka, topics.predictions, [predictionMessage(user, { churn_probability: 0.9 }, at(2))]);
    }
    // Postgres commits without waiting for Redis.
    await waitFor(async () => (await stored(0.9)) === 20, {
      what: 'the predictions after the kill stored',
      timeoutMs: 60_000,
    });
    const statuses = [];
    for (let i = 0; i < 50; i++) statuses.push((await read((i % 30) + 1)).status);
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    for (let user = 1; user <= 20; user++) expect(await churnOf(user)).toBe(0.9);
    const ready = await readiness();
    expect(ready.status).toBe('ready');
    expect(ready.checks.cache).toBe('degraded');
    expect(await fallbackGauge()).toBe(1);

    // Redis returns with what it held before the outage (0.1 for users 1..20).
    await redis.restart();
    await waitFor(async () => (await readiness()).checks.cache === 'ok', {
      timeoutMs: 60_000,
      what: 'back on Redis',
    });
    expect(await fallbackGauge()).toBe(0);
    for (let user = 1; user <= 20; user++) expect(await churnOf(user)).toBe(0.9);
    expect((await read(1)).headers.get('x-cache')).toBe('hit');
    expect(lines('Redis unavailable for the ai_features cache')).toBe(1);
    expect(lines('Redis available again for the ai_features cache')).toBe(1);
  });
});
