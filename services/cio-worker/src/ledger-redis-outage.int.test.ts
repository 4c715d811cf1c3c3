import { setTimeout as sleep } from 'node:timers/promises';
import { transactionalExamples } from '@cio-bridge/schemas';
import { type DedicatedRedis, startRedisServer, waitFor } from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { derivedOperationId } from './intake/operation';
import { createHarness, type Harness } from './testing/integration-harness';

jest.setTimeout(120_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ledger-outage',
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

describe('cio-worker transactional ledger while its Redis dies mid-run', () => {
  let harness: Harness | undefined;
  let server: DedicatedRedis | undefined;
  let redis: Redis | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    redis?.disconnect();
    await server?.stop();
  });

  it('keeps sending on the in-process ledger: every send once, none repeated, none dropped, reported', async () => {
    server = await startRedisServer();
    // As main.ts makes it.
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    harness = await createHarness('worker-ledger-outage');
    const registry = new Registry();
    const gauge = async () =>
      (await registry.getSingleMetric('cio_bridge_worker_ledger_fallback')?.get())?.values[0]?.value;
    const worker = await harness.startWorker({ redis, registry });
    const sends = async () => (await harness!.admin<{ body?: { to?: string } }[]>('/sends')).length;

    const before = sendsOf(5);
    await harness.produce(harness.topics.transactional, messages(before));
    await waitFor(async () => (await sends()) === 5, { what: 'five sends before the kill' });
    expect(await gauge()).toBe(0);

    await server.kill();
    const during = sendsOf(10);
    // New sends, and the earlier ones again (a redelivery or a replay within this instance).
    await harness.produce(harness.topics.transactional, [...messages(during), ...messages(before)]);
    await waitFor(async () => (await sends()) >= 15, { what: 'the sends after the kill', timeoutMs: 30_000 });
    const again = sendsOf(1);
    // The sends made during the outage come back too: still not sent again.
    await harness.produce(harness.topics.transactional, [...messages(during), ...messages(again)]);
    await waitFor(async () => (await sends()) >= 16, { what: 'the marker send' });
    await sleep(1_000);
    expect(await sends()).toBe(16);
    expect(await harness.deadLetters({ count: 1, timeoutMs: 1_000 })).toEqual([]);
    expect(worker.status().transactionalLedger).toEqual({ fallback: true });
    expect(await gauge()).toBe(1);

    // Redis back (empty): what was sent meanwhile is written back, and the ledger is Redis's again.
    await server.restart();
    await waitFor(() => !worker.status().transactionalLedger?.fallback, { what: 'the ledger back on Redis' });
    expect(await gauge()).toBe(0);
    const check = new Redis(server.url);
    try {
      const keys = await check.keys(`cio-bridge:sent:${harness.siteId}:*`);
      expect(keys.length).toBe(11);
    } finally {
      check.disconnect();
    }
  });
});
