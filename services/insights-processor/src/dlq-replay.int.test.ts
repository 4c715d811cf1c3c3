import { runCli } from '@cio-bridge/cio-dlq';
import { type TopicKey, topicEnvVariable } from '@cio-bridge/kafka';
import {
  createTestSchema,
  createTestTopics,
  readMessages,
  type TestSchema,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';
import pg from 'pg';
import { predictionMessage, produce } from './testing/messages';
import { startTestProcessor, type TestProcessor } from './testing/processor';

jest.setTimeout(120_000);

class Capture {
  text = '';
  isTTY = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  once(): this {
    return this;
  }
}

// The operator's path: a prediction the database refused is replayed with cio-dlq once
// the database takes it, and lands in the users table.
describe('predictions.dlq: rejected predictions are replayed once the database is fixed', () => {
  const topics = testTopicNames('insights-replay');
  let kafka: Kafka;
  let schema: TestSchema;
  let processor: TestProcessor;

  beforeAll(async () => {
    kafka = await testKafka('insights-replay');
    schema = await createTestSchema('insights_replay');
    const db = new pg.Client({ connectionString: schema.databaseUrl });
    await db.connect();
    await db.query('CREATE TABLE users (id bigint PRIMARY KEY)');
    await db.query('INSERT INTO users (id) VALUES (1), (2)');
    await db.end();
    await createTestTopics(kafka, topics);
    processor = await startTestProcessor({ databaseUrl: schema.databaseUrl, topics });
    // A rule of the upstream app's (after the migrations added the column): no segment "banned".
    await processor.pool.query(
      `ALTER TABLE users ADD CONSTRAINT no_banned CHECK (ai_features->>'recommended_segment' IS DISTINCT FROM 'banned')`,
    );
  });
  afterAll(async () => {
    await processor?.stop();
    await schema?.drop();
  });

  const stored = async (id: number) =>
    (await processor.pool.query('SELECT ai_features FROM users WHERE id = $1', [id])).rows[0]?.ai_features;

  it('dead-letters the refused prediction (23514) and replays it back to the predictions topic', async () => {
    const refused = predictionMessage(1, { recommended_segment: 'banned' }, '2024-05-22T12:00:00Z');
    await produce(kafka, topics.predictions, [
      refused,
      predictionMessage(2, { churn_probability: 0.2 }, '2024-05-22T12:00:00Z'),
    ]);
    const [letter] = await readMessages(kafka, topics.predictionsDlq, { count: 1 });
    expect(letter?.headers?.['x-dlq-error-message']?.toString()).toMatch(/SQLSTATE 23514/);
    await waitFor(async () => (await stored(2))?.churn_probability === 0.2, { what: 'user 2 stored' });
    expect(await stored(1)).toEqual({});

    await processor.pool.query('ALTER TABLE users DROP CONSTRAINT no_banned');
    const env: NodeJS.ProcessEnv = { KAFKA_BROKERS: (await testKafkaBrokers()).join(',') };
    for (const key of Object.keys(topics) as TopicKey[]) env[topicEnvVariable(key)] = topics[key];
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(['replay', '--dlq-topic', topics.predictionsDlq, '--yes'], {
      env,
      stdout,
      stderr,
    });
    expect(code).toBe(0);
    expect(`${stdout.text}${stderr.text}`).toMatch(new RegExp(`replayed 1 message to ${topics.predictions}`));
    await waitFor(async () => (await stored(1))?.recommended_segment === 'banned', {
      what: 'the replayed prediction stored',
    });
  });
});
