import { setTimeout as sleep } from 'node:timers/promises';
import { transactionalExamples } from '@cio-bridge/schemas';
import { waitFor } from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import { derivedOperationId } from './intake/operation';
import { createHarness, type Harness } from './testing/integration-harness';

jest.setTimeout(120_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 0,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

const sendsOf = (count: number) => {
  const example = Object.values(transactionalExamples())[0]!;
  return Array.from({ length: count }, (_, i) => ({
    ...example,
    id: newId(),
    to: `person-${i}@example.com`,
    identifiers: { id: `person-${i}` },
  }));
};
const messages = (sends: ReturnType<typeof sendsOf>) =>
  sends.map((send) => ({ key: send.identifiers.id, value: JSON.stringify(send) }));

describe('cio-worker transactional sends, effect-once', () => {
  let harness: Harness | undefined;
  let redis: Redis | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await redis?.quit();
    redis = undefined;
  });

  const receivedSends = async () => (await harness!.admin<unknown[]>('/sends')).length;

  it('does not send again what a replay or a redelivery brings back (in-process ledger)', async () => {
    harness = await createHarness('worker-ledger-memory');
    const sends = sendsOf(5);
    await harness.produce(harness.topics.transactional, messages(sends));
    await harness.startWorker();
    await waitFor(async () => (await receivedSends()) === 5, { what: 'five sends' });
    // The same sends again (a replay from the dead-letter topic, a redelivery), then one new one.
    const marker = sendsOf(1);
    await harness.produce(harness.topics.transactional, [...messages(sends), ...messages(marker)]);
    await waitFor(async () => (await receivedSends()) >= 6, { what: 'the new send' });
    await sleep(500);
    expect(await receivedSends()).toBe(6);
  });

  it('keeps the ledger in Redis across instances: a new instance does not repeat a send', async () => {
    harness = await createHarness('worker-ledger-redis');
    redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    const sends = sendsOf(4);
    await harness.produce(harness.topics.transactional, messages(sends));
    const first = await harness.startWorker({ redis });
    await waitFor(async () => (await receivedSends()) === 4, { what: 'four sends' });
    await first.stop();
    const marker = sendsOf(1);
    await harness.produce(harness.topics.transactional, [...messages(sends), ...messages(marker)]);
    await harness.startWorker({ redis });
    await waitFor(async () => (await receivedSends()) >= 5, { what: 'the new send' });
    await sleep(500);
    expect(await receivedSends()).toBe(5);
  });

  it('dead-letters a send that timed out after it left as `ambiguous` instead of sending it again', async () => {
    harness = await createHarness('worker-ledger-ambiguous');
    // Customer.io takes each send but answers after the worker gave up waiting.
    await harness.admin('/faults', { method: 'PUT', body: { latencyMs: 1_500 } });
    const sends = sendsOf(3);
    await harness.produce(harness.topics.transactional, messages(sends));
    await harness.startWorker({ tuning: { requestTimeoutMs: 400 } });
    const letters = await harness.deadLetters({ count: 3, timeoutMs: 20_000, settleMs: 2_000 });
    expect(letters).toHaveLength(3);
    for (const letter of letters) expect(String(letter.headers?.['x-dlq-error-class'])).toBe('ambiguous');
    // One request per send (the sandbox drops a request whose caller went away, so count
    // arrivals), and the one start-up account check of the Track API.
    const counters = await harness.admin<{ requests: number }>('/counters');
    expect(counters.requests).toBe(3 + 1);
  });
});
