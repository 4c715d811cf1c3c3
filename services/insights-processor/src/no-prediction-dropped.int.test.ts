import { headerString } from '@cio-bridge/kafka';
import {
  createTestSchema,
  createTestTopics,
  readMessages,
  type TestSchema,
  testKafka,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import request from 'supertest';
import { predictionMessage, produce, reportingMessage } from './testing/messages';
import { startTestProcessor, type TestProcessor } from './testing/processor';

jest.setTimeout(120_000);

// The upstream app's users table: predictions never create rows in it.
describe('insights-processor: no prediction is dropped after its offset is committed', () => {
  const topics = testTopicNames('insights-nodrop');
  let kafka: Kafka;
  let schema: TestSchema;
  let processor: TestProcessor;

  beforeAll(async () => {
    kafka = await testKafka('insights-nodrop');
    schema = await createTestSchema('insights_nodrop');
    const db = new pg.Client({ connectionString: schema.databaseUrl });
    await db.connect();
    await db.query('CREATE TABLE users (id bigint PRIMARY KEY, email text)');
    await db.query('INSERT INTO users (id) SELECT generate_series(1, 20)');
    await db.end();
    await createTestTopics(kafka, topics);
    // The sweep runs when the test says so.
    processor = await startTestProcessor({ databaseUrl: schema.databaseUrl, topics });
  });
  afterAll(async () => {
    await processor?.stop();
    await schema?.drop();
  });

  const stored = async (id: number) =>
    (await processor.pool.query('SELECT ai_features FROM users WHERE id = $1', [id])).rows[0]?.ai_features;

  it("sends the prediction the database rejects to predictions.dlq and stores the same user's others", async () => {
    // Valid JSON the webhook schema accepts, but jsonb cannot hold a NUL character (22P05).
    const poisoned = predictionMessage(7, { next_best_action: 'call\u0000now' }, '2024-05-22T12:00:01Z');
    // One partition, one send: the three arrive in one batch and collapse into one row.
    await produce(
      kafka,
      topics.predictions,
      [
        predictionMessage(7, { churn_probability: 0.7 }, '2024-05-22T12:00:00Z'),
        poisoned,
        predictionMessage(7, { engagement_score: 0.3 }, '2024-05-22T12:00:02Z'),
      ].map((message) => ({ ...message, partition: 0 })),
    );
    const [letter, ...more] = await readMessages(kafka, topics.predictionsDlq, { count: 1, settleMs: 500 });
    expect(more).toHaveLength(0);
    expect(letter?.key?.toString()).toBe('7');
    expect(letter?.value?.toString()).toBe(poisoned.value);
    const headers = letter?.headers;
    expect(headerString(headers, 'x-dlq-original-topic')).toBe(topics.predictions);
    expect(headerString(headers, 'x-dlq-original-partition')).toBe('0');
    expect(headerString(headers, 'x-dlq-original-offset')).toBe('1');
    expect(headerString(headers, 'x-dlq-consumer-group')).toBe(processor.groupId);
    expect(headerString(headers, 'x-dlq-error-class')).toBe('validation');
    expect(headerString(headers, 'x-dlq-error-message')).toMatch(/SQLSTATE 22P05/);
    expect(headerString(headers, 'x-dlq-error-message')).not.toMatch(/call|now/);
    await waitFor(async () => (await stored(7))?.engagement_score === 0.3, { what: 'user 7 stored' });
    expect(await stored(7)).toEqual({ churn_probability: 0.7, engagement_score: 0.3 });
    expect(await processor.metric('cio_bridge_insights_predictions_dead_lettered_total')).toBe(1);
  });

  const waiting = async (id: number) =>
    (await processor.pool.query('SELECT 1 FROM ai_features_pending WHERE user_id = $1', [String(id)]))
      .rowCount;

  it('keeps a prediction that arrives before its user row and applies it with the next prediction for that user', async () => {
    await produce(kafka, topics.predictions, [
      predictionMessage(500, { churn_probability: 0.5 }, '2024-05-22T12:00:00Z'),
    ]);
    await waitFor(async () => (await waiting(500)) === 1, {
      what: 'the prediction to wait in ai_features_pending',
    });
    expect(await stored(500)).toBeUndefined();
    expect(
      await processor.metric('cio_bridge_insights_predictions_skipped_total', { reason: 'pending' }),
    ).toBe(1);

    await processor.pool.query('INSERT INTO users (id) VALUES (500)');
    await produce(kafka, topics.predictions, [
      predictionMessage(500, { purchase_probability: 0.9 }, '2024-05-22T13:00:00Z'),
    ]);
    // The batch is done once the cache holds its result.
    const served = async () => (await request(processor.app).get('/v1/users/500/ai-features')).body;
    await waitFor(async () => (await served()).ai_features?.churn_probability === 0.5, {
      what: 'the pending prediction applied and served',
    });
    expect(await stored(500)).toEqual({ churn_probability: 0.5, purchase_probability: 0.9 });
    expect(await waiting(500)).toBe(0);
    expect(await processor.metric('cio_bridge_insights_pending_applied_total', { via: 'prediction' })).toBe(
      1,
    );
    const response = await request(processor.app).get('/v1/users/500/ai-features').expect(200);
    expect(response.headers['x-cache']).toBe('hit');
    expect(response.body.ai_features).toEqual({ churn_probability: 0.5, purchase_probability: 0.9 });
  });

  it('applies pending predictions in the sweep once the user row appears, and expires those past the TTL', async () => {
    await produce(kafka, topics.predictions, [
      predictionMessage(501, { recommended_segment: 'vip' }, '2024-05-22T12:00:00Z'),
      predictionMessage(502, { recommended_segment: 'never' }, '2024-05-22T12:00:00Z'),
    ]);
    await waitFor(async () => (await waiting(501)) === 1 && (await waiting(502)) === 1, {
      what: 'the predictions to wait in ai_features_pending',
    });
    await processor.sweeper.runOnce();
    expect(await processor.metric('cio_bridge_insights_pending_predictions')).toBe(2);

    await processor.pool.query('INSERT INTO users (id) VALUES (501)');
    // 502 has waited eight days: longer than the default TTL of seven.
    await processor.pool.query(
      "UPDATE ai_features_pending SET created_at = now() - interval '8 days' WHERE user_id = '502'",
    );
    await processor.sweeper.runOnce();
    expect(await stored(501)).toEqual({ recommended_segment: 'vip' });
    expect(await waiting(501)).toBe(0);
    expect(await waiting(502)).toBe(0);
    expect(await processor.metric('cio_bridge_insights_pending_applied_total', { via: 'sweep' })).toBe(1);
    expect(await processor.metric('cio_bridge_insights_pending_expired_total')).toBe(1);
    expect(await processor.metric('cio_bridge_insights_pending_predictions')).toBe(0);
  });

  it('stores reporting events of object types and metrics it does not know', async () => {
    const ts = Date.parse('2024-05-22T18:35:12Z') / 1000;
    await produce(kafka, topics.reporting, [
      reportingMessage({ event_id: 'evt-deferred', object_type: 'email', metric: 'deferred', timestamp: ts }),
      reportingMessage({
        event_id: 'evt-banner',
        object_type: 'in_app_banner',
        metric: 'shown',
        timestamp: ts,
      }),
    ]);
    await waitFor(
      async () =>
        (await processor.metric('cio_bridge_insights_reporting_events_total', { outcome: 'stored' })) >= 2,
      { what: 'two reporting events stored' },
    );
    const { rows } = await processor.pool.query(
      'SELECT event_id, object_type, metric FROM cio_reporting_events ORDER BY event_id',
    );
    expect(rows).toEqual([
      { event_id: 'evt-banner', object_type: 'in_app_banner', metric: 'shown' },
      { event_id: 'evt-deferred', object_type: 'email', metric: 'deferred' },
    ]);
  });
});
