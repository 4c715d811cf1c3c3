import { createRegistry } from '@cio-bridge/http';
import { Publisher } from '@cio-bridge/kafka';
import { seedExamples, type TrackOperation } from '@cio-bridge/schemas';
import { createTestTopics, readMessages, testKafka, testLogger, testTopicNames } from '@cio-bridge/testkit';
import type { Express } from 'express';
import type { Kafka, Producer } from 'kafkajs';
import request from 'supertest';
import { createApp } from './index';

jest.setTimeout(90_000);

const TOKEN = 'int-test-token';
const bearer = { Authorization: `Bearer ${TOKEN}` };
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

describe('producer against the real broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  let app: Express;
  let topics: ReturnType<typeof testTopicNames>;

  beforeAll(async () => {
    kafka = await testKafka('producer-int');
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
  });

  beforeEach(async () => {
    // Every test on topics of its own, so each can count exactly what arrived.
    topics = testTopicNames('producer');
    await createTestTopics(kafka, topics);
    app = createApp({
      logger: testLogger('producer'),
      registry: createRegistry(),
      publisher: new Publisher({ producer, timeoutMs: 10_000 }),
      topics,
      tokens: [TOKEN],
      maxBodyBytes: 64 * 1024,
    });
  });

  it('puts each seed payload posted as-is on the track topic with its key, an id and unchanged content', async () => {
    const examples = Object.values(seedExamples());
    const ids: string[] = [];
    for (const example of examples) {
      const res = await request(app).post('/v1/track').set(bearer).send(example).expect(202);
      expect(res.body.id).toMatch(ULID);
      ids.push(res.body.id);
    }
    const messages = await readMessages(kafka, topics.track, {
      count: examples.length,
      timeoutMs: 60_000,
      settleMs: 500,
    });
    expect(messages).toHaveLength(examples.length);
    const byId = new Map(messages.map((m) => [JSON.parse(String(m.value)).id as string, m]));
    examples.forEach((example, i) => {
      const message = byId.get(ids[i] ?? '');
      expect(message?.key?.toString()).toBe(example.identifiers?.id);
      expect(JSON.parse(String(message?.value))).toEqual({ ...example, id: ids[i] });
      expect(message?.headers?.['x-operation-id']?.toString()).toBe(ids[i]);
    });
  });

  it('publishes a batch in order', async () => {
    const batch: TrackOperation[] = Array.from({ length: 50 }, (_, i) => ({
      name: `step_${i}`,
      identifiers: { id: `person-${i % 3}` },
      data: { step: i },
    }));
    const res = await request(app).post('/v1/track').set(bearer).send({ batch }).expect(202);
    const messages = await readMessages(kafka, topics.track, {
      count: batch.length,
      timeoutMs: 60_000,
      settleMs: 500,
    });
    expect(messages).toHaveLength(batch.length);
    for (const person of ['person-0', 'person-1', 'person-2']) {
      const mine = messages.filter((m) => m.key?.toString() === person);
      expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      const steps = mine.map((m) => JSON.parse(String(m.value)).data.step as number);
      expect(steps).toEqual(batch.flatMap((op, i) => (op.identifiers?.id === person ? [i] : [])));
    }
    const order = messages
      .slice()
      .sort((a, b) => Number(a.offset) - Number(b.offset))
      .filter((m) => m.partition === messages[0]?.partition)
      .map((m) => JSON.parse(String(m.value)).id as string);
    expect([...order].sort()).toEqual(order); // ids are monotonic in batch order
    expect(res.body.ids).toHaveLength(50);
  });

  it('rejects every bad input with the right status and publishes nothing from it', async () => {
    const scan = seedExamples().product_scanned as TrackOperation;
    const json = (body: string) =>
      request(app).post('/v1/track').set(bearer).set('Content-Type', 'application/json').send(body);
    const answers = [
      await request(app).post('/v1/track').send(scan).expect(401),
      await request(app).post('/v1/track').set('Authorization', 'Bearer wrong').send(scan).expect(401),
      await request(app)
        .post('/v1/track')
        .set(bearer)
        .send({ batch: [scan, { ...scan, identifiers: {} }] })
        .expect(400),
      await request(app)
        .post('/v1/track')
        .set(bearer)
        .send({ ...scan, timestamp: 'yesterday' })
        .expect(400),
      await json('{"name": "x", ').expect(400),
      await request(app)
        .post('/v1/track')
        .set(bearer)
        .set('Content-Type', 'text/plain')
        .send('x')
        .expect(415),
      await request(app)
        .post('/v1/track')
        .set(bearer)
        .send({ batch: Array(60).fill({ ...scan, data: { ...scan.data, pad: 'x'.repeat(1000) } }) })
        .expect(413),
      await request(app)
        .post('/v1/transactional')
        .set(bearer)
        .send({ transactional_message_id: 'x', to: 'not-an-address', identifiers: { id: 'u' } })
        .expect(400),
    ];
    expect(answers.map((a) => a.status)).toEqual([401, 401, 400, 400, 400, 415, 413, 400]);
    expect(answers[2]?.body.details).toEqual([
      { index: 1, pointer: '/identifiers', message: 'must name exactly one of id, email or cio_id' },
    ]);
    // Good requests afterwards: on each topic they are the only message.
    const good = await request(app).post('/v1/track').set(bearer).send(scan).expect(202);
    const goodSend = await request(app)
      .post('/v1/transactional')
      .set(bearer)
      .send({ transactional_message_id: 'x', to: 'jane@example.com', identifiers: { id: 'u' } })
      .expect(202);
    const track = await readMessages(kafka, topics.track, { count: 1, timeoutMs: 60_000, settleMs: 1_500 });
    expect(track.map((m) => JSON.parse(String(m.value)).id)).toEqual([good.body.id]);
    const transactional = await readMessages(kafka, topics.transactional, {
      count: 1,
      timeoutMs: 60_000,
      settleMs: 1_500,
    });
    expect(transactional.map((m) => JSON.parse(String(m.value)).id)).toEqual([goodSend.body.id]);
  });

  it('puts a transactional send on the transactional topic keyed by its identifier', async () => {
    const send = {
      transactional_message_id: 'password_reset',
      to: 'jane@example.com',
      identifiers: { id: 'user-7' },
    };
    const res = await request(app).post('/v1/transactional').set(bearer).send(send).expect(202);
    const [message] = await readMessages(kafka, topics.transactional, { count: 1, timeoutMs: 60_000 });
    expect(message?.key?.toString()).toBe('user-7');
    expect(JSON.parse(String(message?.value))).toEqual({ ...send, id: res.body.id });
  });

  it('shares produce requests between concurrent requests', async () => {
    const sendBatch = jest.spyOn(producer, 'sendBatch');
    try {
      const scan = seedExamples().product_scanned as TrackOperation;
      const answers = await Promise.all(
        Array.from({ length: 40 }, () => request(app).post('/v1/track').set(bearer).send(scan)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(40).fill(202));
      expect(sendBatch.mock.calls.length).toBeLessThan(40);
      const messages = await readMessages(kafka, topics.track, {
        count: 40,
        timeoutMs: 60_000,
        settleMs: 300,
      });
      expect(new Set(messages.map((m) => JSON.parse(String(m.value)).id))).toEqual(
        new Set(answers.map((a) => a.body.id)),
      );
    } finally {
      sendBatch.mockRestore();
    }
  });
});
