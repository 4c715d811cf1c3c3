import { Publisher } from '@cio-bridge/kafka';
import { seedExamples } from '@cio-bridge/schemas';
import { waitFor } from '@cio-bridge/testkit';
import type { Producer, ProducerBatch } from 'kafkajs';
import request from 'supertest';
import { buildApp, TOKEN } from './testing/app';

// Concurrent requests share produce requests: while one is with the broker, the
// others queue and leave together in the next one, never one round trip each.
it('sends the messages of concurrent requests together while a produce request is in flight', async () => {
  const batches: ProducerBatch[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const producer = {
    sendBatch: async (batch: ProducerBatch) => {
      batches.push(batch);
      await gate;
      return [];
    },
  } as unknown as Producer;
  const publisher = new Publisher({ producer, timeoutMs: 30_000 });
  const { app } = buildApp({ publisher });
  const scan = seedExamples().product_scanned as object;
  const post = () => request(app).post('/v1/track').set('Authorization', `Bearer ${TOKEN}`).send(scan);

  const first = post();
  const firstDone = first.then((res) => res);
  await waitFor(() => batches.length === 1, { what: 'the first produce request' });
  const others = Array.from({ length: 20 }, () => post().then((res) => res));
  await waitFor(() => publisher.waiting === 20, { what: 'the other requests to queue' });
  release();
  const answers = await Promise.all([firstDone, ...others]);

  expect(answers.map((a) => a.status)).toEqual(Array(21).fill(202));
  expect(batches).toHaveLength(2);
  expect(batches[1]?.topicMessages?.[0]?.messages).toHaveLength(20);
});
