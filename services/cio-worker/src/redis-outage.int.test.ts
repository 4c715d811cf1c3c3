import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import { derivedOperationId } from './intake/operation';
import {
  buildWorker,
  createHarness,
  freePort,
  type Harness,
  type SandboxCounters,
  spawnWorker,
  waitForOperations,
} from './testing/integration-harness';

jest.setTimeout(120_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 3,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

const events = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    name: 'redis_outage_event',
    id: newId(),
    identifiers: { id: `person-${i % 200}` },
  }));
const messages = (ops: ReturnType<typeof events>) =>
  ops.map((op) => ({ key: op.identifiers.id, value: JSON.stringify(op) }));

describe('the shared budget while Redis is down', () => {
  beforeAll(() => buildWorker());
  let harness: Harness | undefined;
  let server: ChildProcess | undefined;
  const clients: Redis[] = [];
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    for (const client of clients.splice(0)) client.disconnect();
    server?.kill('SIGKILL');
    server = undefined;
  });

  it('keeps delivering within the budget when its Redis is killed mid-run, two instances sharing it', async () => {
    const port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const url = `redis://127.0.0.1:${port}`;
    const probe = new Redis(url, { maxRetriesPerRequest: 1 });
    clients.push(probe);
    await waitFor(async () => (await probe.ping().catch(() => '')) === 'PONG', { what: 'redis-server' });

    // Customer.io allows what the two workers share: 20 requests/s.
    harness = await createHarness('worker-redis-down', { rateLimitRps: 20 });
    const tuning = { maxBatchOperations: 5 };
    const workers = [];
    for (let i = 0; i < 2; i++) {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      redis.on('error', () => {});
      clients.push(redis);
      workers.push(await harness.startWorker({ redis, rps: 20, tuning }));
    }
    const before = events(200);
    await harness.produce(harness.topics.track, messages(before));
    await waitForOperations(
      harness,
      before.map((op) => op.id),
      60_000,
    );
    server.kill('SIGKILL');
    const after = events(200);
    await harness.produce(harness.topics.track, messages(after));
    await waitForOperations(
      harness,
      after.map((op) => op.id),
      60_000,
    );
    for (const worker of workers) {
      expect(worker.status().sharedBudget.track).toMatchObject({ fallback: true, instances: 2 });
    }
    const counters = await harness.admin<SandboxCounters>('/counters');
    expect(counters.rate_limited).toBeLessThanOrEqual(Math.ceil(counters.requests * 0.05));
  });

  it('a worker process whose Redis is gone keeps delivering, with no unhandled ioredis error in its output', async () => {
    harness = await createHarness('worker-redis-gone');
    // A port where nothing listens: Redis was never there, or is gone.
    const port = await freePort();
    const worker = await spawnWorker(harness, { REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      const ops = events(50);
      await harness.produce(harness.topics.track, messages(ops));
      await waitForOperations(
        harness,
        ops.map((op) => op.id),
        30_000,
      );
      const status = (await (await fetch(`http://127.0.0.1:${worker.port}/status`)).json()) as {
        sharedBudget: { track: { fallback: boolean } };
      };
      expect(status.sharedBudget.track.fallback).toBe(true);
      // Still ready, and readiness says the budget is the fallback's.
      const readyz = await fetch(`http://127.0.0.1:${worker.port}/readyz`);
      expect(readyz.status).toBe(200);
      expect(((await readyz.json()) as { checks: Record<string, string> }).checks.sharedBudget).toBe(
        'degraded',
      );
      expect(worker.stderr()).not.toContain('Unhandled error event');
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
