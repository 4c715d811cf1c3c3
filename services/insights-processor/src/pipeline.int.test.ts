import {
  createTestSchema,
  createTestTopics,
  type TestSchema,
  testKafka,
  testRedisUrl,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import request from 'supertest';
import { emailEvent, predictionMessage, produce, reportingMessage } from './testing/messages';
import { startTestProcessor, type TestProcessor } from './testing/processor';

let kafka: Kafka;
beforeAll(async () => {
  kafka = await testKafka();
});

describe.each([
  ['the in-process LRU cache', false],
  ['Redis', true],
])('predictions and reporting events end to end, with %s', (_name, withRedis) => {
  let schema: TestSchema;
  let processor: TestProcessor;
  let redis: Redis | undefined;
  const topics = testTopicNames('insights-e2e');

  beforeAll(async () => {
    schema = await createTestSchema('insights_e2e');
    // The upstream app's users table, as the migrations find it.
    const db = new pg.Client({ connectionString: schema.databaseUrl });
    await db.connect();
    await db.query('CREATE TABLE users (id bigint PRIMARY KEY, email text)');
    await db.query('INSERT INTO users (id) SELECT generate_series(1, 100)');
    await db.end();
    await createTestTopics(kafka, topics);
    redis = withRedis ? new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 }) : undefined;
    processor = await startTestProcessor({
      databaseUrl: schema.databaseUrl,
      topics,
      ...(redis ? { redis } : {}),
    });
    await waitFor(async () => (await request(processor.app).get('/readyz')).status === 200, {
      timeoutMs: 30_000,
      what: 'the processor to be ready',
    });
  });
  afterAll(async () => {
    await processor?.stop();
    await redis?.quit();
    await schema?.drop();
  });

  const persisted = () => processor.metric('cio_bridge_insights_predictions_persisted_total');
  async function predict(messages: ReturnType<typeof predictionMessage>[]) {
    const before = await persisted();
    await produce(kafka, topics.predictions, messages);
    await waitFor(async () => (await persisted()) >= before + messages.length, {
      what: `${messages.length} predictions persisted`,
    });
  }
  const features = (id: number | string) => request(processor.app).get(`/v1/users/${id}/ai-features`);
  const stored = async (id: number) =>
    (await processor.pool.query('SELECT ai_features, ai_features_updated_at FROM users WHERE id = $1', [id]))
      .rows[0];

  it('merges predictions arriving out of order and serves them from the cache after the write', async () => {
    await predict([
      predictionMessage(
        1,
        { churn_probability: 0.78, recommended_segment: 'high_risk' },
        '2024-05-22T12:00:00Z',
      ),
      predictionMessage(1, { churn_probability: 0.2, predicted_ltv: 500.25 }, '2024-05-22T11:00:00Z'),
      predictionMessage(2, { purchase_probability: 0.82 }, '2024-05-22T11:00:00Z'),
    ]);
    // Later message, older still, in a batch of its own.
    await predict([predictionMessage(1, { recommended_segment: 'stale' }, '2024-05-22T10:00:00Z')]);
    const hitsBefore = await processor.metric('cio_bridge_insights_cache_hits_total');
    const response = await features(1).expect(200).expect('x-cache', 'hit');
    expect(response.body).toEqual({
      user_id: 1,
      ai_features: { churn_probability: 0.78, recommended_segment: 'high_risk', predicted_ltv: 500.25 },
      updated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/),
    });
    expect(Date.parse(response.body.updated_at)).toBe((await stored(1)).ai_features_updated_at.getTime());
    expect(await processor.metric('cio_bridge_insights_cache_hits_total')).toBe(hitsBefore + 1);
    expect((await features(2).expect(200)).body.ai_features).toEqual({ purchase_probability: 0.82 });
  });

  it('changes nothing when the same prediction arrives twice', async () => {
    const message = predictionMessage(3, { churn_probability: 0.5 }, '2024-05-22T12:00:00Z');
    await predict([message]);
    const before = await stored(3);
    const body = (await features(3).expect(200)).body;
    await predict([message]);
    await predict([message, message]);
    expect(await stored(3)).toEqual(before);
    expect((await features(3).expect(200)).body).toEqual(body);
  });

  it('never answers the old value once a newer prediction was written', async () => {
    const missesBefore = await processor.metric('cio_bridge_insights_cache_misses_total');
    for (let i = 1; i <= 5; i++) {
      // Read first, so the cache holds the value the next write replaces.
      await features(4).expect(200);
      await predict([predictionMessage(4, { engagement_score: i }, `2024-05-22T12:00:0${i}Z`)]);
      expect((await features(4).expect(200)).body.ai_features).toEqual({ engagement_score: i });
    }
    expect(await processor.metric('cio_bridge_insights_cache_misses_total')).toBeLessThanOrEqual(
      missesBefore + 1,
    );
  });

  it('answers 404 for an unknown user and 400 naming the id for a malformed one, from Postgres on a miss', async () => {
    const missesBefore = await processor.metric('cio_bridge_insights_cache_misses_total');
    const notFound = await features(404).expect(404);
    expect(notFound.body).toEqual({ error: 'no user with id 404' });
    const malformed = await features('abc').expect(400);
    expect(malformed.body).toEqual({
      error: 'malformed user id: id must be a whole number (bigint)',
      details: [{ field: 'id', message: 'must be a whole number (bigint)' }],
    });
    await features(99)
      .expect(200, { user_id: 99, ai_features: {}, updated_at: null })
      .expect('x-cache', 'miss');
    await features(99).expect(200).expect('x-cache', 'hit');
    expect(await processor.metric('cio_bridge_insights_cache_misses_total')).toBe(missesBefore + 2);
  });

  it('keeps predictions for users not in the table pending, skips invalid messages, and goes on', async () => {
    const skippedBefore = await processor.metric('cio_bridge_insights_predictions_skipped_total');
    await produce(kafka, topics.predictions, [
      predictionMessage(5000, { churn_probability: 0.1 }, '2024-05-22T12:00:00Z'),
      { key: '5', value: '{"user_id": 5, "predictions": "oops"}' },
      { key: '5', value: 'not json' },
    ]);
    await predict([predictionMessage(5, { churn_probability: 0.3 }, '2024-05-22T12:00:00Z')]);
    await waitFor(
      async () =>
        (await processor.metric('cio_bridge_insights_predictions_skipped_total')) >= skippedBefore + 3,
    );
    expect(
      await processor.metric('cio_bridge_insights_predictions_skipped_total', { reason: 'pending' }),
    ).toBe(1);
    expect(
      await processor.metric('cio_bridge_insights_predictions_skipped_total', { reason: 'invalid' }),
    ).toBe(2);
    expect((await stored(5)).ai_features).toEqual({ churn_probability: 0.3 });
    const { rows } = await processor.pool.query('SELECT count(*)::int AS n FROM users WHERE id = 5000');
    expect(rows).toEqual([{ n: 0 }]);
    const pending = await processor.pool.query(
      "SELECT predictions FROM ai_features_pending WHERE user_id = '5000'",
    );
    expect(pending.rows).toEqual([{ predictions: { churn_probability: 0.1 } }]);
  });

  it('leaves out only the message the database rejects, and writes the rest of its batch', async () => {
    const rejectedBefore = await processor.metric('cio_bridge_insights_predictions_skipped_total', {
      reason: 'rejected',
    });
    // Valid JSON that passes every check here, but jsonb cannot hold a NUL character.
    const poisoned = predictionMessage(8, { note: 'a\u0000b' }, '2024-05-22T12:00:00Z');
    const persistedBefore = await persisted();
    // One partition, one send: the three arrive in one batch.
    await produce(
      kafka,
      topics.predictions,
      [
        predictionMessage(7, { churn_probability: 0.7 }, '2024-05-22T12:00:00Z'),
        poisoned,
        predictionMessage(9, { churn_probability: 0.9 }, '2024-05-22T12:00:00Z'),
      ].map((message) => ({ ...message, partition: 0 })),
    );
    await waitFor(
      async () =>
        (await processor.metric('cio_bridge_insights_predictions_skipped_total', { reason: 'rejected' })) ===
          rejectedBefore + 1 && (await persisted()) === persistedBefore + 2,
      { what: 'two predictions persisted and one rejected' },
    );
    expect((await stored(7)).ai_features).toEqual({ churn_probability: 0.7 });
    expect((await stored(8)).ai_features).toEqual({});
    expect((await stored(9)).ai_features).toEqual({ churn_probability: 0.9 });
  });

  it('stores reporting events by day, once per event id', async () => {
    const ts = Date.parse('2024-05-22T18:35:12Z') / 1000;
    const bounced = reportingMessage(emailEvent('01HZREPORT000000000000001', 'bounced', ts));
    await produce(kafka, topics.reporting, [
      bounced,
      reportingMessage(emailEvent('01HZREPORT000000000000002', 'sent', ts + 86_400)),
      bounced,
    ]);
    await waitFor(
      async () =>
        (await processor.metric('cio_bridge_insights_reporting_events_total', { outcome: 'stored' })) +
          (await processor.metric('cio_bridge_insights_reporting_events_total', { outcome: 'duplicate' })) >=
        3,
      { what: 'three reporting events handled' },
    );
    const { rows } = await processor.pool.query(
      `SELECT tableoid::regclass::text AS partition, event_id, metric, person_id FROM cio_reporting_events ORDER BY event_id`,
    );
    expect(rows).toEqual([
      {
        partition: 'cio_reporting_events_p20240522',
        event_id: '01HZREPORT000000000000001',
        metric: 'bounced',
        person_id: '42',
      },
      {
        partition: 'cio_reporting_events_p20240523',
        event_id: '01HZREPORT000000000000002',
        metric: 'sent',
        person_id: '42',
      },
    ]);
  });

  it('commits the offsets of what it wrote', async () => {
    await predict([predictionMessage(6, { churn_probability: 0.6 }, '2024-05-22T12:00:00Z')]);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(topics.predictions);
      await waitFor(
        async () => {
          const [committed] = await admin.fetchOffsets({
            groupId: processor.groupId,
            topics: [topics.predictions],
          });
          return ends.every(
            (end) =>
              committed?.partitions.find((p) => p.partition === end.partition)?.offset === end.offset ||
              end.offset === '0',
          );
        },
        { what: 'committed offsets at the end of the topic' },
      );
    } finally {
      await admin.disconnect();
    }
    const metrics = await request(processor.app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /cio_bridge_insights_batch_messages_count\{[^}]*topic="[^"]+\.predictions"[^}]*\} [1-9]/,
    );
  });
});
