// Prefer: wait end to end: the built producer and cio-worker as real processes on the
// real broker, Customer.io played by the sandbox. Faults: the worker stopped, a 429
// storm, a refused operation, an ambiguous transactional send, a producer SIGKILL.

import { setTimeout as sleep } from 'node:timers/promises';
import { type Sandbox, startSandbox } from '@cio-bridge/cio-sandbox';
import { seedExamples, type TrackOperation } from '@cio-bridge/schemas';
import {
  buildServices,
  createTestTopics,
  type ServiceProcess,
  spawnService,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
  uniqueName,
  waitFor,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';
import { ulid } from 'ulid';

jest.setTimeout(180_000);

const TOKEN = 'wait-test-token-0123456789';
const credentials = { apiKey: 'wait-track-key', appApiKey: 'wait-app-key' };
const scan = seedExamples().product_scanned as TrackOperation;
const topics = testTopicNames('producer-wait');
const siteId = uniqueName('site');
const groupId = uniqueName('wait-worker');

let kafka: Kafka;
let sandbox: Sandbox;
let producer: ServiceProcess | undefined;
let worker: ServiceProcess | undefined;
let brokers: string;

const topicEnv = () => ({
  KAFKA_BROKERS: brokers,
  KAFKA_TOPIC_TRACK: topics.track,
  KAFKA_TOPIC_TRANSACTIONAL: topics.transactional,
  KAFKA_TOPIC_DLQ: topics.dlq,
  KAFKA_TOPIC_REPLIES: topics.replies,
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
});

const startProducer = async () => {
  producer = await spawnService('producer', {
    ...topicEnv(),
    INGEST_API_TOKENS: TOKEN,
    PRODUCER_MAX_WAIT_SECONDS: '30',
  });
};

const startWorker = async () => {
  worker = await spawnService('cio-worker', {
    ...topicEnv(),
    KAFKA_GROUP_ID: groupId,
    CIO_SITE_ID: siteId,
    CIO_API_KEY: credentials.apiKey,
    CIO_APP_API_KEY: credentials.appApiKey,
    CIO_TRACK_URL: sandbox.url,
    CIO_APP_URL: sandbox.url,
    WORKER_RETRY_BASE_MS: '50',
    WORKER_RETRY_MAX_MS: '500',
    WORKER_MAX_ATTEMPTS: '200',
    // an answer slower than this after the send left is ambiguous
    WORKER_REQUEST_TIMEOUT_MS: '1500',
  });
};

const admin = async <T>(path: string, init?: { method: string; body?: unknown }): Promise<T> => {
  const response = await fetch(`${sandbox.url}/_sandbox${path}`, {
    method: init?.method ?? 'GET',
    headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init?.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!response.ok) throw new Error(`sandbox ${path}: ${response.status}`);
  return (await response.json()) as T;
};

const post = async (path: string, body: unknown, wait?: number) => {
  const response = await fetch(`${producer!.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
      ...(wait === undefined ? {} : { prefer: `wait=${wait}` }),
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    applied: response.headers.get('preference-applied'),
    body: (await response.json()) as { results?: Record<string, unknown>[]; ids?: string[] },
  };
};

/** The App API sends the sandbox took for this recipient. */
const sendsTo = async (person: string) =>
  (await admin<{ delivery_id: string; identifiers: { id?: string } }[]>('/sends')).filter(
    (s) => s.identifiers.id === person,
  );
const op = (person: string) => ({ ...scan, id: ulid(), identifiers: { id: person } });
const deliveredIds = async () => new Set((await admin<{ id: string }[]>('/operations')).map((o) => o.id));
const waitUntilDelivered = (ids: string[]) =>
  waitFor(
    async () => {
      const seen = await deliveredIds();
      return ids.every((id) => seen.has(id));
    },
    { timeoutMs: 60_000, intervalMs: 250, what: 'the operations at the sandbox' },
  );

beforeAll(async () => {
  buildServices('producer', 'cio-worker');
  brokers = (await testKafkaBrokers()).join(',');
  kafka = await testKafka('producer-wait');
  await createTestTopics(kafka, topics, ['track', 'transactional', 'dlq', 'replies']);
  sandbox = await startSandbox({ ...credentials, siteId });
  await startProducer();
  await startWorker();
});

afterAll(async () => {
  if (process.env.TEST_LOG_LEVEL) console.log(producer?.output(), worker?.output());
  await producer?.stop();
  await worker?.stop();
  await sandbox?.close();
});

afterEach(async () => {
  await admin('/faults', { method: 'DELETE' });
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) await startWorker();
});

it('without Prefer answers 202 after Kafka, as always', async () => {
  const res = await post('/v1/track', op('wait-plain'));
  expect(res.status).toBe(202);
  expect(res.applied).toBeNull();
  expect(res.body.ids).toHaveLength(1);
});

it("answers 200 with each outcome in request order: Customer.io's refusal dead-lettered beside the delivered ones", async () => {
  // Customer.io refuses a blank event name; the producer's schema lets it through.
  const refused = { ...op('wait-refused'), name: '   ' };
  const batch = [op('wait-a'), refused, op('wait-b')];
  const answer = post('/v1/track', { batch }, 20);
  // Traffic goes on: another accepted request tells the worker the refusal was the
  // message's fault, not the endpoint's (until then it holds the operation).
  let answered = false;
  void answer.finally(() => {
    answered = true;
  });
  while (!answered) {
    await post('/v1/track', op('wait-traffic'));
    await sleep(500);
  }
  const res = await answer;
  expect(res.status).toBe(200);
  expect(res.applied).toBe('wait=20');
  const [first, second, third] = res.body.results!;
  expect(first).toMatchObject({ id: batch[0]!.id, outcome: 'delivered' });
  expect(second).toEqual({ id: refused.id, outcome: 'dead_lettered', status: 400, error_class: 'http_4xx' });
  expect(third).toMatchObject({ id: batch[2]!.id, outcome: 'delivered' });
  // accepted as part of a batch that partly failed (207) or in a request of its own (200)
  for (const delivered of [first, third]) expect([200, 207]).toContain(delivered!.status);
});

it('reports the delivery_id the App API gave a transactional send', async () => {
  const id = ulid();
  const send = { id, transactional_message_id: 3, to: 'wait@example.com', identifiers: { id: `tx-${id}` } };
  const res = await post('/v1/transactional', send, 20);
  expect(res.status).toBe(200);
  const sent = await sendsTo(`tx-${id}`);
  expect(sent).toHaveLength(1);
  expect(res.body.results).toEqual([
    { id, outcome: 'delivered', status: 200, delivery_id: sent[0]!.delivery_id },
  ]);
});

it("after an ambiguous transactional send reports the ledger's outcome and never sends twice", async () => {
  const sendRequests = async () =>
    (await admin<{ by_route: Record<string, number> }>('/counters')).by_route['POST /v1/send/email'] ?? 0;
  const before = await sendRequests();
  // Customer.io takes the send but answers after the worker's request timeout.
  await admin('/faults', { method: 'PUT', body: { latencyMs: 2_500 } });
  const id = ulid();
  const person = `amb-${id}`;
  const send = { id, transactional_message_id: 3, to: 'amb@example.com', identifiers: { id: person } };
  const res = await post('/v1/transactional', send, 20);
  expect(res.status).toBe(200);
  expect(res.body.results).toEqual([
    { id, outcome: 'dead_lettered', status: null, error_class: 'ambiguous' },
  ]);
  await admin('/faults', { method: 'DELETE' });
  // The worker moved on (a later waited send is answered) without sending this one again:
  // the sandbox answered one send request since (the later one; the one that timed out
  // was never answered), where a blind resend would have been answered too.
  const later = { ...send, id: ulid(), identifiers: { id: `later-${id}` } };
  const answered = await post('/v1/transactional', later, 20);
  expect(answered.body.results).toEqual([expect.objectContaining({ outcome: 'delivered' })]);
  await sleep(1_000);
  expect((await sendRequests()) - before).toBe(1);
  expect((await sendsTo(person)).length).toBeLessThanOrEqual(1);
});

it('with the worker stopped answers 202 pending after N, and the operation is delivered once the worker is back', async () => {
  await worker!.stop();
  const operation = op('wait-stopped');
  const res = await post('/v1/track', operation, 2);
  expect(res.status).toBe(202);
  expect(res.applied).toBe('wait=2');
  expect(res.body).toEqual({ results: [{ id: operation.id, outcome: 'pending' }] });
  await startWorker();
  await waitUntilDelivered([operation.id]);
});

it('through a 429 storm longer than N answers 202 pending, and delivers after it', async () => {
  await admin('/faults', {
    method: 'PUT',
    body: { status: 429, rate: 1, retryAfterSeconds: 1, outageMs: 8_000 },
  });
  const operation = op('wait-storm');
  const res = await post('/v1/track', operation, 2);
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ results: [{ id: operation.id, outcome: 'pending' }] });
  expect((await deliveredIds()).has(operation.id)).toBe(false);
  await waitUntilDelivered([operation.id]);
});

it('loses nothing accepted when the producer is killed while requests wait; retries with the same ids are answered', async () => {
  await worker!.stop();
  const batches = [
    [op('wait-kill-1'), op('wait-kill-2')],
    [op('wait-kill-3'), op('wait-kill-1')],
  ];
  const waiting = batches.map((batch) =>
    post('/v1/track', { batch }, 30).then(
      () => 'answered',
      () => 'connection error',
    ),
  );
  // Both requests are published and waiting: the producer's gauge says so.
  await waitFor(
    async () => {
      const metrics = await (await fetch(`${producer!.url}/metrics`)).text();
      return /^cio_bridge_producer_waiting_operations 4$/m.test(metrics);
    },
    { timeoutMs: 20_000, what: 'four operations waited for' },
  );
  producer!.child.kill('SIGKILL');
  await producer!.exited;
  expect(await Promise.all(waiting)).toEqual(['connection error', 'connection error']);

  await startProducer();
  await startWorker();
  // The clients retry with the same ids; Customer.io drops the duplicates.
  const retried = await Promise.all(batches.map((batch) => post('/v1/track', { batch }, 30)));
  for (const [index, res] of retried.entries()) {
    expect(res.status).toBe(200);
    expect(res.body.results!.map((r) => [r.id, r.outcome])).toEqual(
      batches[index]!.map((o) => [o.id, 'delivered']),
    );
  }
  const operations = await admin<{ id: string }[]>('/operations');
  for (const id of new Set(batches.flat().map((o) => o.id)))
    expect(operations.filter((o) => o.id === id)).toHaveLength(1);
});
