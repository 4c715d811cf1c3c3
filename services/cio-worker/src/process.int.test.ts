import { personKey, type TrackOperation } from '@cio-bridge/schemas';
import { waitFor } from '@cio-bridge/testkit';
import { derivedOperationId } from './intake/operation';
import {
  buildWorker,
  createHarness,
  type Harness,
  type SandboxCounters,
  type SandboxOperation,
  spawnWorker,
  type WorkerProcess,
  waitForOperations,
} from './testing/integration-harness';

jest.setTimeout(120_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 1,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

function operations(count: number, people: number): TrackOperation[] {
  return Array.from({ length: count }, (_, i) => ({
    name: 'process_event',
    id: newId(),
    identifiers: { id: `person-${i % people}` },
    data: { n: i },
  }));
}

const accepted = async (harness: Harness) => (await harness.admin<SandboxCounters>('/counters')).accepted;

function expectPerPersonOrder(sent: TrackOperation[], arrived: SandboxOperation[]) {
  const arrivedIds = new Map<string, string[]>();
  for (const op of arrived) {
    const person = op.identifiers.id!;
    arrivedIds.set(person, [...(arrivedIds.get(person) ?? []), op.id!]);
  }
  const sentIds = new Map<string, string[]>();
  for (const op of sent) {
    const person = op.identifiers!.id!;
    sentIds.set(person, [...(sentIds.get(person) ?? []), op.id!]);
  }
  expect(arrivedIds).toEqual(sentIds);
}

describe('cio-worker as a process', () => {
  let harness: Harness | undefined;
  const processes: WorkerProcess[] = [];

  beforeAll(() => {
    buildWorker();
  });

  afterEach(async () => {
    for (const worker of processes.splice(0)) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
      await worker.exited;
    }
    await harness?.close();
    harness = undefined;
  });

  const spawn = async (env: Record<string, string>) => {
    const worker = await spawnWorker(harness!, env);
    processes.push(worker);
    return worker;
  };

  it('delivers everything after the worker is killed with SIGKILL mid-stream and restarted', async () => {
    harness = await createHarness('worker-sigkill');
    await harness.admin('/faults', { method: 'PUT', body: { latencyMs: 20 } });
    const ops = operations(3_000, 300);
    await harness.produce(
      harness.topics.track,
      ops.map((op) => ({ key: personKey(op), value: JSON.stringify(op) })),
    );
    // A killed member holds its partitions until its session times out.
    const env = {
      CIO_RATE_LIMIT_RPS: '40',
      WORKER_MAX_BATCH_OPERATIONS: '25',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    };

    const first = await spawn(env);
    await waitFor(async () => (await accepted(harness!)) >= 600, { what: '600 operations delivered' });
    first.child.kill('SIGKILL');
    await first.exited;
    const delivered = await accepted(harness);
    expect(delivered).toBeLessThan(ops.length);

    await spawn(env);
    const arrived = await waitForOperations(
      harness,
      ops.map((op) => op.id!),
      60_000,
    );
    expect(arrived).toHaveLength(ops.length);
    expectPerPersonOrder(ops, arrived);
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  });

  it('exits in time on SIGTERM during load, and a restarted worker delivers the rest', async () => {
    harness = await createHarness('worker-sigterm');
    await harness.admin('/faults', { method: 'PUT', body: { latencyMs: 50 } });
    const ops = operations(3_000, 300);
    await harness.produce(
      harness.topics.track,
      ops.map((op) => ({ key: personKey(op), value: JSON.stringify(op) })),
    );
    const env = {
      CIO_RATE_LIMIT_RPS: '40',
      WORKER_MAX_BATCH_OPERATIONS: '25',
      WORKER_SHUTDOWN_TIMEOUT_MS: '5000',
    };

    const first = await spawn(env);
    await waitFor(async () => (await accepted(harness!)) >= 500, { what: '500 operations delivered' });
    first.child.kill('SIGTERM');
    // onShutdown exits 1 if stopping outlasts its bound; 0 means it stopped cleanly and in time.
    expect(await first.exited).toBe(0);
    expect(await accepted(harness)).toBeLessThan(ops.length);

    await spawn(env);
    const arrived = await waitForOperations(
      harness,
      ops.map((op) => op.id!),
      60_000,
    );
    expect(arrived).toHaveLength(ops.length);
    expectPerPersonOrder(ops, arrived);
    // Requests in flight finished and were committed before the exit: nothing was sent twice.
    expect((await harness.admin<SandboxCounters>('/counters')).duplicates).toBe(0);
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  });
});
