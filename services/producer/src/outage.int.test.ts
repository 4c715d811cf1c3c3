import { createRegistry } from '@cio-bridge/http';
import { createKafka, kafkaReadiness, Publisher } from '@cio-bridge/kafka';
import { seedExamples, type TrackOperation } from '@cio-bridge/schemas';
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
import request from 'supertest';
import { createApp } from './index';

jest.setTimeout(240_000);

const TOKEN = 'outage-test-token';
const bearer = { Authorization: `Bearer ${TOKEN}` };

// A broker of this test's own: the shared one is never stopped.
describe('producer while Kafka is away', () => {
  let broker: DedicatedBroker;
  let kafka: Kafka;
  let producer: Producer;
  let app: Express;
  const topics = testTopicNames('producer-outage');

  beforeAll(async () => {
    broker = await startKafkaBroker();
    kafka = createKafka(
      { brokers: broker.brokers, clientId: 'producer-outage', retry: { initialRetryTime: 200, retries: 5 } },
      testLogger('kafka'),
    );
    await createTestTopics(kafka, topics);
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    app = createApp({
      logger: testLogger('producer'),
      registry: createRegistry(),
      publisher: new Publisher({ producer, timeoutMs: 2_000 }),
      topics,
      tokens: [TOKEN],
      retryAfterSeconds: 3,
      readiness: { kafka: kafkaReadiness(kafka, 1_000) },
    });
  });

  afterAll(async () => {
    await producer?.disconnect().catch(() => {});
    await broker?.close();
  });

  it('answers 503 with Retry-After while the broker is stopped, and a retry with the same ids publishes them', async () => {
    const scan = seedExamples().product_scanned as TrackOperation;
    const before = await request(app).post('/v1/track').set(bearer).send(scan).expect(202);
    await request(app).get('/readyz').expect(200);

    await broker.stop();
    const batch = [scan, { ...scan, name: 'wishlist_added', data: seedExamples().wishlist_added?.data }];
    const refused = await request(app).post('/v1/track').set(bearer).send({ batch });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('3');
    expect(refused.body.ids).toHaveLength(2);
    await request(app).get('/readyz').expect(503);

    await broker.start();
    const retry = { batch: batch.map((op, i) => ({ ...op, id: refused.body.ids[i] })) };
    let accepted: request.Response | undefined;
    await waitFor(
      async () => {
        accepted = await request(app).post('/v1/track').set(bearer).send(retry);
        return accepted.status === 202;
      },
      { timeoutMs: 120_000, what: 'the producer to accept the retry after the broker came back' },
    );
    expect(accepted?.body.ids).toEqual(refused.body.ids);
    await waitFor(async () => (await request(app).get('/readyz')).status === 200, {
      timeoutMs: 30_000,
      what: 'readiness after the broker came back',
    });

    // The retried ids are on the topic (a timed-out attempt may also have landed: same ids, harmless).
    const messages = await readMessages(kafka, topics.track, {
      count: 3,
      timeoutMs: 30_000,
      settleMs: 1_000,
    });
    const ids = messages.map((m) => JSON.parse(String(m.value)).id as string);
    expect(ids).toContain(before.body.id);
    for (const id of refused.body.ids as string[]) expect(ids).toContain(id);
    expect(new Set(ids)).toEqual(new Set([before.body.id, ...refused.body.ids]));
    const retried = messages.find((m) => JSON.parse(String(m.value)).id === refused.body.ids[1]);
    expect(JSON.parse(String(retried?.value))).toEqual(retry.batch[1]);
  });
});
