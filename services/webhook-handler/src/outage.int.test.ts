import { signWebhook } from '@cio-bridge/cio-sandbox';
import { createRegistry } from '@cio-bridge/http';
import { createKafka, kafkaReadiness, Publisher } from '@cio-bridge/kafka';
import {
  createTestTopics,
  type DedicatedBroker,
  readMessages,
  startKafkaBroker,
  testLogger,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import type { Express } from 'express';
import type { Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import request from 'supertest';
import { createApp } from './app';
import { createWebhookProducer } from './producer';

jest.setTimeout(240_000);

const KEY = 'whsec-outage';

function post(app: Express, raw: string) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return request(app)
    .post('/webhooks/customer-io')
    .set('Content-Type', 'application/json')
    .set('X-CIO-Timestamp', timestamp)
    .set('X-CIO-Signature', signWebhook(KEY, timestamp, raw))
    .send(raw);
}

// A broker of this test's own: the shared one is never stopped.
describe('webhook-handler while Kafka is away', () => {
  const topics = testTopicNames('webhook-outage');
  let broker: DedicatedBroker;
  let kafka: Kafka;
  let producer: Producer;
  let registry: Registry;
  let app: Express;

  beforeAll(async () => {
    broker = await startKafkaBroker();
    // The client as main.ts builds it (default retries).
    kafka = createKafka({ brokers: broker.brokers, clientId: 'webhook-outage' }, testLogger('kafka'));
    await createTestTopics(kafka, topics);
    producer = createWebhookProducer(kafka);
    await producer.connect();
    registry = createRegistry();
    app = createApp({
      logger: testLogger('webhook-handler'),
      registry,
      publisher: new Publisher({ producer, timeoutMs: 5_000 }),
      topics,
      signingKeys: [KEY],
      retryAfterSeconds: 7,
      readiness: { kafka: kafkaReadiness(kafka, 1_000) },
    });
  });

  afterAll(async () => {
    await producer?.disconnect().catch(() => {});
    await broker?.close();
  });

  it('answers 503 with Retry-After while Kafka is away; the refused webhook lands once Kafka is back', async () => {
    const before = JSON.stringify({ user_id: 'before-outage', predictions: { churn_probability: 0.2 } });
    const during = JSON.stringify({ user_id: 'during-outage', predictions: { churn_probability: 0.9 } });
    await post(app, before).expect(200, /accepted/);
    await request(app).get('/readyz').expect(200);

    await broker.stop();
    const refused = await post(app, during);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('7');
    expect(refused.body.error).toMatch(/retry later/);
    await request(app).get('/readyz').expect(503);
    const unavailable = (
      await registry.getSingleMetric('cio_bridge_webhook_requests_total')?.get()
    )?.values.find((v) => v.labels.outcome === 'unavailable');
    expect(unavailable?.value).toBe(1);

    // Back up. The refused publish may still land now that Kafka is back (answering 503
    // after WEBHOOK_PUBLISH_TIMEOUT_MS does not stop it), and Customer.io's retry is
    // published too: at least once, never lost. Copies carry the same webhook_id, and
    // the insights-processor's merge makes writing a prediction twice harmless.
    await broker.start();
    await waitFor(async () => (await request(app).get('/readyz')).status === 200, {
      timeoutMs: 60_000,
      what: 'readiness after the broker came back',
    });
    await waitFor(async () => (await post(app, during)).status === 200, {
      timeoutMs: 60_000,
      what: 'the retried webhook to be accepted',
    });
    const messages = await readMessages(kafka, topics.predictions, {
      count: 4,
      timeoutMs: 5_000,
      settleMs: 500,
    });
    const keys = messages.map((m) => m.key?.toString());
    expect(keys.filter((key) => key === 'before-outage')).toHaveLength(1);
    const copies = messages.filter((m) => m.key?.toString() === 'during-outage');
    expect(copies.length).toBeGreaterThanOrEqual(1);
    expect(new Set(copies.map((m) => JSON.parse(String(m.value)).webhook_id)).size).toBe(1);
  });
});
