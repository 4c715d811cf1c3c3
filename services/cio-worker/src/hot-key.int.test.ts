import { waitFor } from '@cio-bridge/testkit';
import { derivedOperationId } from './intake/operation';
import {
  createHarness,
  type Harness,
  type SandboxOperation,
  waitForOperations,
} from './testing/integration-harness';

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

const event = (person: string, n: number) => ({
  name: 'hot_key_event',
  id: newId(),
  identifiers: { id: person },
  data: { n },
});

describe('cio-worker with one hot person', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('keeps delivering other partitions’ people while one person’s backlog drains, in that person’s order', async () => {
    harness = await createHarness('worker-hot-key');
    // Every request takes 25 ms: the hot person drains at about one operation per round trip.
    await harness.admin('/faults', { method: 'PUT', body: { latencyMs: 25 } });
    const hot = Array.from({ length: 800 }, (_, i) => event('hot-person', i));
    // The hot person on partition 0, everybody else on the other partitions.
    for (let i = 0; i < hot.length; i += 500) {
      await harness.producer.send({
        topic: harness.topics.track,
        acks: -1,
        messages: hot
          .slice(i, i + 500)
          .map((op) => ({ key: 'hot-person', value: JSON.stringify(op), partition: 0 })),
      });
    }
    // A buffer smaller than the hot backlog: before per-person bounds, it filled with the hot person.
    const worker = await harness.startWorker({ tuning: { maxBuffered: 300, maxPerPerson: 100 } });
    await waitFor(async () => (await harness!.admin<SandboxOperation[]>('/operations')).length > 0, {
      what: 'the hot person to start draining',
    });

    const others = Array.from({ length: 200 }, (_, i) => event(`person-${i}`, i));
    await harness.producer.send({
      topic: harness.topics.track,
      acks: -1,
      messages: others.map((op, i) => ({
        key: op.identifiers.id,
        value: JSON.stringify(op),
        partition: 1 + (i % 11),
      })),
    });
    const operations = await waitForOperations(
      harness,
      others.map((op) => op.id),
      20_000,
    );
    // Everyone else arrived while most of the hot backlog was still waiting.
    const hotIds = new Set(hot.map((op) => op.id));
    const hotArrived = operations.filter((op) => hotIds.has(op.id!)).map((op) => op.id);
    expect(hotArrived.length).toBeLessThan(hot.length / 2);
    // And what arrived of the hot person came in produced order.
    expect(hotArrived).toEqual(hot.slice(0, hotArrived.length).map((op) => op.id));
    expect(worker.status().hotPartitions).toEqual([{ topic: harness.topics.track, partition: 0 }]);
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/cio_bridge_worker_hot_partitions\{[^}]*\} 1/);

    // The partition resumes as the person drains, until all of it arrived, in order.
    const all = await waitForOperations(
      harness,
      hot.map((op) => op.id),
      90_000,
    );
    expect(all.filter((op) => hotIds.has(op.id!)).map((op) => op.id)).toEqual(hot.map((op) => op.id));
    await waitFor(async () => worker.status().hotPartitions.length === 0, { what: 'no partition paused' });
    expect(await harness.deadLetters({ timeoutMs: 1_000 })).toHaveLength(0);
  });
});
