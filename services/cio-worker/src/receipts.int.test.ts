import { loadConfig } from '@cio-bridge/config';
import { personKey, seedExamples } from '@cio-bridge/schemas';
import { readMessages, waitFor } from '@cio-bridge/testkit';
import { workerEnv } from './config';
import type { Receipt } from './delivery/receipts';
import { derivedOperationId } from './intake/operation';
import {
  buildWorker,
  createHarness,
  type Harness,
  spawnWorker,
  type WorkerProcess,
} from './testing/integration-harness';

jest.setTimeout(120_000);

let harness: Harness | undefined;
let worker: WorkerProcess | undefined;
beforeAll(() => buildWorker());
afterEach(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
  worker = undefined;
  await harness?.close();
  harness = undefined;
});

it('publishes no receipts unless WORKER_RECEIPTS_TOPIC is set', () => {
  const env = loadConfig(workerEnv, { CIO_SITE_ID: 's', CIO_API_KEY: 'k' });
  expect(env.WORKER_RECEIPTS_TOPIC).toBeUndefined();
  expect(() =>
    loadConfig(workerEnv, { CIO_SITE_ID: 's', CIO_API_KEY: 'k', WORKER_RECEIPTS_TOPIC: 'a b' }),
  ).toThrow(/WORKER_RECEIPTS_TOPIC/);
});

it('with WORKER_RECEIPTS_TOPIC, one receipt per operation that joins back to what was sent', async () => {
  harness = await createHarness('receipts');
  const receiptsTopic = `${harness.topics.track}.receipts`;
  worker = await spawnWorker(harness, { WORKER_RECEIPTS_TOPIC: receiptsTopic });

  const examples = Object.values(seedExamples()).slice(0, 3);
  const sent = [];
  for (const [index, example] of examples.entries()) {
    const id = derivedOperationId({
      topic: 'receipts',
      partition: 0,
      offset: String(index),
      timestamp: String(Date.now()),
      key: null,
    });
    const op = { ...example, id, identifiers: { id: `receipt-person-${index}` } };
    const at = await harness.produceOne(harness.topics.track, {
      key: personKey(op),
      value: JSON.stringify(op),
      headers: { 'x-operation-id': id },
    });
    sent.push({ id, key: personKey(op), ...at });
  }
  // not an operation at all: dead-lettered at once as `validation`
  const broken = await harness.produceOne(harness.topics.track, { key: 'receipt-broken', value: '{"name":' });

  const messages = await readMessages(harness.kafka, receiptsTopic, { count: 4, timeoutMs: 60_000 });
  const receipts = messages.map((m) => ({
    key: String(m.key),
    receipt: JSON.parse(String(m.value)) as Receipt,
  }));
  expect(receipts).toHaveLength(4);
  for (const { id, key, partition, offset } of sent) {
    const found = receipts.find((r) => r.receipt.id === id);
    expect(found?.key).toBe(key);
    expect(found?.receipt).toMatchObject({
      id,
      key,
      topic: harness.topics.track,
      partition,
      offset,
      outcome: 'delivered',
      attempts: 1,
      status: 200,
      error_class: null,
    });
    expect(found!.receipt.latency_ms).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(found!.receipt.at))).toBe(false);
  }
  const dead = receipts.find(
    (r) => r.receipt.offset === broken.offset && r.receipt.partition === broken.partition,
  );
  expect(dead?.receipt).toMatchObject({
    key: 'receipt-broken',
    outcome: 'dead_lettered',
    attempts: 1,
    status: null,
    error_class: 'validation',
  });
  // compact: nothing of the operation's content travels in a receipt
  for (const { receipt } of receipts)
    expect(Object.keys(receipt).sort()).toEqual([
      'at',
      'attempts',
      'error_class',
      'id',
      'key',
      'latency_ms',
      'offset',
      'outcome',
      'partition',
      'status',
      'topic',
    ]);
  const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
  expect(metrics).toMatch(/^cio_bridge_worker_receipts_total\{result="published"\} 4$/m);
});

it('counts the attempts of an operation that was retried before it was delivered', async () => {
  harness = await createHarness('receipts-retry');
  const receiptsTopic = `${harness.topics.track}.receipts`;
  worker = await spawnWorker(harness, { WORKER_RECEIPTS_TOPIC: receiptsTopic });
  await harness.admin('/faults', { method: 'PUT', body: { status: 503, rate: 1 } });
  const [example] = Object.values(seedExamples());
  const id = derivedOperationId({
    topic: 'retry',
    partition: 0,
    offset: '0',
    timestamp: String(Date.now()),
    key: null,
  });
  const op = { ...example!, id, identifiers: { id: 'receipt-retried' } };
  await harness.produceOne(harness.topics.track, { key: personKey(op), value: JSON.stringify(op) });
  await waitFor(
    async () => (await harness!.admin<{ faults_injected: number }>('/counters')).faults_injected >= 2,
    {
      timeoutMs: 30_000,
      what: 'two failed attempts',
    },
  );
  await harness.admin('/faults', { method: 'DELETE' });
  const [message] = await readMessages(harness.kafka, receiptsTopic, { count: 1, timeoutMs: 60_000 });
  const receipt = JSON.parse(String(message!.value)) as Receipt;
  expect(receipt).toMatchObject({ id, outcome: 'delivered', status: 200, error_class: null });
  expect(receipt.attempts).toBeGreaterThanOrEqual(3);
});
