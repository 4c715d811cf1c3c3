// The delivery contract (per-person order under transient failures, retries, the rate
// limit and backing off from 429s, a refused
// operation dead-lettered while its batch is delivered, the credential pause) for both
// outputs, against a real worker process configured with CIO_API.
import { DEFAULT_CREDENTIALS } from '@cio-bridge/cio-sandbox';
import { operationIds, personKey, type TrackOperation } from '@cio-bridge/schemas';
import { waitFor } from '@cio-bridge/testkit';
import {
  buildWorker,
  createHarness,
  type Harness,
  type SandboxCounters,
  spawnWorker,
  type WorkerProcess,
  waitForOperations,
} from './testing/integration-harness';

const newId = operationIds();
const message = (op: TrackOperation) => ({ key: personKey(op), value: JSON.stringify(op) });

const outputs = [
  { api: 'track', rotate: { apiKey: 'rotated-key' }, restore: { apiKey: 'it-track-key' } },
  {
    api: 'pipelines',
    rotate: { pipelinesApiKey: 'rotated-key' },
    restore: { pipelinesApiKey: DEFAULT_CREDENTIALS.pipelinesApiKey },
  },
] as const;

describe.each(outputs)('delivery through CIO_API=$api', ({ api, rotate, restore }) => {
  let harness: Harness | undefined;
  const processes: WorkerProcess[] = [];

  beforeAll(() => buildWorker(), 120_000);

  afterEach(async () => {
    for (const worker of processes.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await harness?.close();
    harness = undefined;
  });

  const start = async (name: string, sandbox: { rateLimitRps?: number } = {}) => {
    harness = await createHarness(`${name}-${api}`, sandbox);
  };
  const run = async (env: Record<string, string> = {}) => {
    const output: Record<string, string> =
      api === 'track'
        ? {}
        : {
            CIO_API: 'pipelines',
            CIO_PIPELINES_API_KEY: DEFAULT_CREDENTIALS.pipelinesApiKey,
            CIO_PIPELINES_URL: harness!.sandbox.url,
          };
    const worker = await spawnWorker(harness!, { ...output, ...env });
    processes.push(worker);
    return worker;
  };

  it('keeps each person’s operations in produced order despite random transient failures, dead-lettering nothing', async () => {
    await start('outputs-order');
    await harness!.admin('/faults', { method: 'PUT', body: { status: 503, rate: 0.3 } });
    const ops: TrackOperation[] = [];
    for (let seq = 0; seq < 6; seq++) {
      for (let p = 0; p < 30; p++) {
        ops.push({ name: 'ordered_event', id: newId(), identifiers: { id: `person-${p}` }, data: { seq } });
      }
    }
    await harness!.produce(harness!.topics.track, ops.map(message));
    await run({ WORKER_MAX_BATCH_OPERATIONS: '20' });
    const operations = await waitForOperations(
      harness!,
      ops.map((op) => op.id!),
      60_000,
    );
    expect((await harness!.admin<SandboxCounters>('/counters')).faults_injected).toBeGreaterThan(0);
    for (let p = 0; p < 30; p++) {
      const person = `person-${p}`;
      const expected = ops.filter((op) => op.identifiers?.id === person).map((op) => op.id);
      expect(operations.filter((op) => op.identifiers.id === person).map((op) => op.id)).toEqual(expected);
    }
    expect(await harness!.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  }, 90_000);

  it('stays within its budget where Customer.io enforces the same limit, and backs off where it is lower', async () => {
    await start('outputs-429', { rateLimitRps: 20 });
    const ops = Array.from({ length: 200 }, (_, i) => ({
      name: 'limited_event',
      id: newId(),
      identifiers: { id: `person-${i % 40}` },
    }));
    await harness!.produce(harness!.topics.track, ops.map(message));
    // Five operations per request: 40 requests, about 2 s at 20 requests/s.
    await run({ CIO_RATE_LIMIT_RPS: '20', WORKER_MAX_BATCH_OPERATIONS: '5' });
    await waitForOperations(
      harness!,
      ops.map((op) => op.id),
    );
    const within = await harness!.admin<SandboxCounters>('/counters');
    expect(within.requests).toBeGreaterThanOrEqual(40);
    expect(within.rate_limited).toBeLessThanOrEqual(Math.ceil(within.requests * 0.05));

    await harness!.admin('/rate-limit', { method: 'PUT', body: { rps: 5 } });
    const more = Array.from({ length: 100 }, (_, i) => ({
      name: 'limited_event',
      id: newId(),
      identifiers: { id: `person-${i % 40}` },
    }));
    await harness!.produce(harness!.topics.track, more.map(message));
    await waitForOperations(
      harness!,
      more.map((op) => op.id),
      60_000,
    );
    const after = await harness!.admin<SandboxCounters>('/counters');
    const limited = after.rate_limited - within.rate_limited;
    expect(limited).toBeGreaterThan(0);
    expect(limited).toBeLessThan((after.requests - within.requests) / 2);
    expect(await harness!.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  }, 90_000);

  it('dead-letters the one operation Customer.io refuses and delivers the rest of its batch', async () => {
    await start('outputs-400');
    // Customer.io refuses a blank event name; the schema (minLength 1) lets it through.
    const bad = { name: '   ', id: newId(), identifiers: { id: 'person-bad' } };
    const good = Array.from({ length: 30 }, (_, i) => ({
      name: 'fine_event',
      id: newId(),
      identifiers: { id: `person-${i % 10}` },
    }));
    await harness!.produce(
      harness!.topics.track,
      [...good.slice(0, 15), bad, ...good.slice(15)].map(message),
    );
    await run();
    await waitForOperations(
      harness!,
      good.map((op) => op.id),
    );
    const letters = await harness!.deadLetters({ count: 1, timeoutMs: 20_000, settleMs: 1_500 });
    expect(letters).toHaveLength(1);
    expect(letters[0]?.key?.toString()).toBe('person-bad');
    const headers = Object.fromEntries(
      Object.entries(letters[0]?.headers ?? {}).map(([k, v]) => [k, String(v)]),
    );
    expect(headers).toMatchObject({ 'x-dlq-error-class': 'http_4xx', 'x-dlq-http-status': '400' });
    expect(headers['x-dlq-error-message']).toMatch(/name|event/);
  }, 60_000);

  it('pauses while the credentials are refused, dead-letters nothing, and delivers everything once they work', async () => {
    await start('outputs-401');
    // Ready first (spawnWorker waits for it), then the credentials stop working.
    const worker = await run();
    await harness!.admin('/credentials', { method: 'PUT', body: rotate });
    const ops = Array.from({ length: 40 }, (_, i) => ({
      name: 'auth_event',
      id: newId(),
      identifiers: { id: `person-${i % 8}` },
    }));
    await harness!.produce(harness!.topics.track, ops.map(message));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${worker.port}/readyz`)).status === 503, {
      what: 'not ready',
    });
    await waitFor(async () => (await harness!.admin<SandboxCounters>('/counters')).unauthorized >= 2, {
      what: 'credential probes',
    });
    expect((await harness!.admin<SandboxCounters>('/counters')).accepted).toBe(0);
    expect(await harness!.deadLetters({ timeoutMs: 1_000 })).toHaveLength(0);

    await harness!.admin('/credentials', { method: 'PUT', body: restore });
    await waitForOperations(
      harness!,
      ops.map((op) => op.id),
    );
    await waitFor(async () => (await fetch(`http://127.0.0.1:${worker.port}/readyz`)).status === 200, {
      what: 'ready again',
    });
    expect(await harness!.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  }, 60_000);
});
