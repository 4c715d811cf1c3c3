// A journey's webhook action, end to end: the sandbox posts the seed's prediction with
// Basic credentials in the URL (as Customer.io does, unsigned), the webhook-handler
// publishes it, and the insights-processor merges it into users.ai_features.
import { sendWebhook } from '@cio-bridge/cio-sandbox';
import { seedPredictionExamples } from '@cio-bridge/schemas';
import {
  buildServices,
  createTestSchema,
  createTestTopics,
  type ServiceProcess,
  spawnService,
  type TestSchema,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import pg from 'pg';

jest.setTimeout(180_000);

describe('a journey-style prediction webhook reaches users.ai_features', () => {
  const topics = testTopicNames('journey-e2e');
  let schema: TestSchema;
  let db: pg.Client;
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    buildServices('webhook-handler', 'insights-processor');
    await createTestTopics(await testKafka('journey-e2e'), topics);
    schema = await createTestSchema('journey_e2e');
    db = new pg.Client({ connectionString: schema.databaseUrl });
    await db.connect();
    await db.query('CREATE TABLE users (id bigint PRIMARY KEY, email text)');
    await db.query('INSERT INTO users (id) VALUES (123)');
    const kafka = {
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_PREDICTIONS: topics.predictions,
      KAFKA_TOPIC_REPORTING: topics.reporting,
      KAFKA_TOPIC_TRACK: topics.track,
      KAFKA_TOPIC_QUARANTINE: topics.quarantine,
      KAFKA_TOPIC_PREDICTIONS_DLQ: topics.predictionsDlq,
    };
    services.push(
      await spawnService('webhook-handler', {
        ...kafka,
        // No signing key at all: journeys only.
        WEBHOOK_BASIC_AUTH: 'cio-journey:journey-e2e-password-01',
        LOG_LEVEL: 'warn',
      }),
      await spawnService('insights-processor', {
        ...kafka,
        DATABASE_URL: schema.databaseUrl,
        INSIGHTS_API_AUTH: 'none',
        LOG_LEVEL: 'warn',
      }),
    );
  });
  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await db?.end();
    await schema?.drop();
  });

  it('merges the seed’s churn prediction for user 123', async () => {
    const [handler] = services;
    const url = new URL(`${handler!.url}/webhooks/customer-io`);
    url.username = 'cio-journey';
    url.password = 'journey-e2e-password-01';
    const churn = Object.entries(seedPredictionExamples()).find(([name]) => name.includes('churn'))![1];
    const result = await sendWebhook({ url: url.toString(), body: churn, maxAttempts: 1 });
    expect(result).toMatchObject({ status: 200, delivered: true });
    expect(result.signature).toBeUndefined();
    const features = await waitFor(
      async () => {
        const row = (await db.query('SELECT ai_features FROM users WHERE id = 123')).rows[0];
        return row?.ai_features?.churn_probability !== undefined && row.ai_features;
      },
      { what: 'ai_features of user 123', timeoutMs: 60_000 },
    );
    expect(features).toMatchObject(churn.predictions as object);
  });
});
