import { createTestTopics, testKafka, testTopicNames, waitFor } from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import request from 'supertest';
import { type DedicatedPostgres, startDedicatedPostgres } from './testing/dedicated-postgres';
import { predictionMessage, produce } from './testing/messages';
import { startTestProcessor, type TestProcessor } from './testing/processor';

// Postgres of this test's own (initdb + pg_ctl in a temporary directory): stopping it
// takes the database away from the processor as an outage would, and leaves the
// machine's shared server alone.
let postgres: DedicatedPostgres;
let processor: TestProcessor;
let kafka: Kafka;
const topics = testTopicNames('insights-outage');
const USERS = 200;

beforeAll(async () => {
  postgres = await startDedicatedPostgres();
  const db = new pg.Client({ connectionString: postgres.databaseUrl });
  await db.connect();
  await db.query('CREATE TABLE users (id bigint PRIMARY KEY)');
  await db.query('INSERT INTO users SELECT generate_series(1, $1::int)', [USERS]);
  await db.end();
  kafka = await testKafka();
  await createTestTopics(kafka, topics);
  processor = await startTestProcessor({
    databaseUrl: postgres.databaseUrl,
    topics,
    retry: { initialMs: 100, maxMs: 1_000 },
  });
}, 60_000);
afterAll(async () => {
  await processor?.stop();
  await postgres?.close();
});

async function committedMessages(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({
      groupId: processor.groupId,
      topics: [topics.predictions],
    });
    return (committed?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const persisted = () => processor.metric('cio_bridge_insights_predictions_persisted_total');

it('pauses while Postgres is down, commits nothing it did not write, and loses nothing after the restart', async () => {
  await produce(
    kafka,
    topics.predictions,
    range(1, 100).map((id) => predictionMessage(id, { churn_probability: id }, '2024-05-22T10:00:00Z')),
  );
  await waitFor(async () => (await persisted()) >= 100, { what: 'the first 100 predictions persisted' });
  await waitFor(async () => (await committedMessages()) === 100, { what: 'their offsets committed' });
  await request(processor.app).get('/readyz').expect(200);

  await postgres.stop();
  await produce(
    kafka,
    topics.predictions,
    range(1, USERS).map((id) => predictionMessage(id, { engagement_score: id }, '2024-05-22T11:00:00Z')),
  );
  // The processor notices, reports not ready, and keeps retrying the same batches.
  await waitFor(async () => (await processor.metric('cio_bridge_insights_write_failures_total')) >= 3, {
    what: 'failed write attempts',
  });
  const notReady = await request(processor.app).get('/readyz').expect(503);
  expect(notReady.body.checks.consumer).toBe('failing');
  expect(notReady.body.checks.postgres).toBe('failing');
  expect(await processor.metric('cio_bridge_insights_postgres_available')).toBe(0);
  expect(await persisted()).toBe(100);
  expect(await committedMessages()).toBe(100);

  await postgres.start();
  await waitFor(async () => (await persisted()) >= 100 + USERS, {
    timeoutMs: 30_000,
    what: 'the predictions held back during the outage persisted',
  });
  await waitFor(async () => (await committedMessages()) === 100 + USERS, { what: 'all offsets committed' });
  await waitFor(async () => (await request(processor.app).get('/readyz')).status === 200, {
    what: 'ready again',
  });
  expect(await processor.metric('cio_bridge_insights_postgres_available')).toBe(1);

  const { rows } = await processor.pool.query('SELECT id::int AS id, ai_features FROM users ORDER BY id');
  expect(rows).toEqual(
    range(1, USERS).map((id) => ({
      id,
      ai_features: id <= 100 ? { churn_probability: id, engagement_score: id } : { engagement_score: id },
    })),
  );
  // And the read API serves the state after the outage.
  const response = await request(processor.app).get('/v1/users/7/ai-features').expect(200);
  expect(response.body.ai_features).toEqual({ churn_probability: 7, engagement_score: 7 });
}, 90_000);
