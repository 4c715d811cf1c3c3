import { setTimeout as sleep } from 'node:timers/promises';
import { createRegistry } from '@cio-bridge/http';
import { type OutgoingMessage, Publisher } from '@cio-bridge/kafka';
import { createTestTopics, readMessages, testKafka, testLogger, testTopicNames } from '@cio-bridge/testkit';
import type { Kafka, Producer } from 'kafkajs';
import request from 'supertest';
import { createApp } from './index';

jest.setTimeout(90_000);

const TOKEN = 'order-test-token';
const bearer = { Authorization: `Bearer ${TOKEN}` };

/** The real publisher, except that its first call fails as a broker timeout would. */
class FailingOnce {
  calls = 0;
  constructor(private readonly inner: Publisher) {}
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    this.calls++;
    if (this.calls === 1) {
      // Let the other chunks of the request leave first, as a slow acknowledgement would.
      await sleep(300);
      throw Object.assign(new Error('Kafka did not acknowledge'), { retriable: true });
    }
    await this.inner.publish(topic, messages);
  }
}

describe('producer batch requests and per-person order', () => {
  let kafka: Kafka;
  let producer: Producer;
  beforeAll(async () => {
    kafka = await testKafka('producer-order');
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
  });

  it('keeps request order per person on the topic when a chunk fails and the client retries after the 503', async () => {
    const topics = testTopicNames('producer-order');
    await createTestTopics(kafka, topics);
    const publisher = new FailingOnce(new Publisher({ producer, timeoutMs: 10_000 }));
    const app = createApp({
      logger: testLogger('producer'),
      registry: createRegistry(),
      publisher,
      topics,
      tokens: [TOKEN],
    });
    // 1,000 operations of 10 people: two chunks of 500, each with every person in it.
    const batch = Array.from({ length: 1_000 }, (_, i) => ({
      name: 'ordered_event',
      identifiers: { id: `person-${i % 10}` },
      data: { seq: i },
    }));
    const first = await request(app).post('/v1/track').set(bearer).send({ batch }).expect(503);
    const ids = first.body.ids as string[];
    expect(ids).toHaveLength(1_000);
    // The client resends the same items with the ids it was given.
    const again = batch.map((op, i) => ({ ...op, id: ids[i] }));
    await request(app).post('/v1/track').set(bearer).send({ batch: again }).expect(202);

    const messages = await readMessages(kafka, topics.track, {
      count: 1_000,
      timeoutMs: 30_000,
      settleMs: 1_000,
    });
    const seen = new Map<string, number[]>();
    for (const message of messages) {
      const op = JSON.parse(String(message.value)) as { identifiers: { id: string }; data: { seq: number } };
      seen.set(op.identifiers.id, [...(seen.get(op.identifiers.id) ?? []), op.data.seq]);
    }
    for (let p = 0; p < 10; p++) {
      const expected = batch.map((op) => op.data.seq).filter((seq) => seq % 10 === p);
      expect(seen.get(`person-${p}`)).toEqual(expected);
    }
  });
});
