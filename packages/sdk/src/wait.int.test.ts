// sendAndWait over the real broker: the test plays the worker, answering on the
// partition each waited message names in x-reply-to, as cio-worker does.
import { headerString } from '@cio-bridge/kafka';
import { seedExamples, type TrackOperation } from '@cio-bridge/schemas';
import { createTestTopics, testKafka, testTopicNames } from '@cio-bridge/testkit';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { ulid } from 'ulid';
import { CioPublisher } from './index';

jest.setTimeout(120_000);

const scan = seedExamples().product_scanned as TrackOperation;
const topics = testTopicNames('sdk-wait');
let kafka: Kafka;
let sdk: CioPublisher;
let stand: Consumer;
let replier: Producer;
/** the operations the stand-in worker refuses (dead-letters) or ignores (never answers) */
const refused = new Set<string>();
const ignored = new Set<string>();
const replyPartitions: number[] = [];

beforeAll(async () => {
  kafka = await testKafka('sdk-wait');
  await createTestTopics(kafka, topics, ['track', 'transactional', 'replies']);
  replier = kafka.producer();
  await replier.connect();
  stand = kafka.consumer({ groupId: `${topics.track}.stand-in` });
  await stand.connect();
  await stand.subscribe({ topics: [topics.track, topics.transactional], fromBeginning: true });
  await stand.run({
    eachMessage: async ({ message }) => {
      const address = headerString(message.headers, 'x-reply-to');
      const id = headerString(message.headers, 'x-operation-id')!;
      if (address === undefined || ignored.has(id)) return;
      replyPartitions.push(Number(address));
      const reply = refused.has(id)
        ? { id, outcome: 'dead_lettered', status: 400, error_class: 'http_4xx', delivery_id: null }
        : { id, outcome: 'delivered', status: 200, error_class: null, delivery_id: 'dlv-7' };
      await replier.send({
        topic: topics.replies,
        messages: [{ key: id, value: JSON.stringify(reply), partition: Number(address) }],
      });
    },
  });
  sdk = await CioPublisher.connect(kafka, { topics, timeoutMs: 10_000 });
});

afterAll(async () => {
  await sdk?.close();
  await stand?.disconnect();
  await replier?.disconnect();
});

it('sendAndWait resolves with every outcome, in order, once all are known', async () => {
  const ops = [
    { ...scan, id: ulid() },
    { ...scan, id: ulid() },
  ];
  refused.add(ops[1]!.id);
  const answer = await sdk.sendAndWait(ops, { timeoutMs: 30_000 });
  expect(answer).toEqual({
    complete: true,
    results: [
      { id: ops[0]!.id, outcome: 'delivered', status: 200, delivery_id: 'dlv-7' },
      { id: ops[1]!.id, outcome: 'dead_lettered', status: 400, error_class: 'http_4xx' },
    ],
  });
  // one partition of the replies topic is this publisher's own
  expect(new Set(replyPartitions).size).toBe(1);
});

it('returns pending outcomes when the time runs out, instead of throwing', async () => {
  const op = { ...scan, id: ulid() };
  ignored.add(op.id);
  const answer = await sdk.sendAndWait([op], { timeoutMs: 1_500 });
  expect(answer).toEqual({ complete: false, results: [{ id: op.id, outcome: 'pending' }] });
});

it('sendTransactionalAndWait gives the delivery_id', async () => {
  const send = {
    id: ulid(),
    transactional_message_id: 4,
    to: 'member@example.com',
    identifiers: { id: 'user-123' },
  };
  const answer = await sdk.sendTransactionalAndWait(send, { timeoutMs: 30_000 });
  expect(answer.results).toEqual([{ id: send.id, outcome: 'delivered', status: 200, delivery_id: 'dlv-7' }]);
});
