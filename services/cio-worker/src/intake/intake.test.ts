import { setTimeout as sleep } from 'node:timers/promises';
import { testLogger, waitFor } from '@cio-bridge/testkit';
import type { Consumer, EachBatchPayload, TopicPartitionOffsetAndMetadata } from 'kafkajs';
import { Registry } from 'prom-client';
import type { Item, Operation } from '../delivery/types';
import { DeliveryError, ValidationError } from '../errors';
import { createWorkerMetrics } from '../metrics';
import { Intake, type IntakeConsumer, type IntakeSink } from './intake';

const TOPIC = 'track';
const GROUP_JOIN = 'consumer.group_join';

/** A consumer that records what it was told: pauses (as kafkajs keeps them) and commits. */
class FakeConsumer implements IntakeConsumer {
  readonly events = { GROUP_JOIN } as Consumer['events'];
  readonly commits: TopicPartitionOffsetAndMetadata[][] = [];
  readonly pausedTopics = new Set<string>();
  readonly pausedPartitions = new Set<string>();
  private readonly listeners = new Map<string, (() => void)[]>();

  on = ((event: string, listener: () => void) => {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return () => undefined;
  }) as Consumer['on'];

  pause(topics: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of topics) {
      if (!partitions) this.pausedTopics.add(topic);
      for (const partition of partitions ?? []) this.pausedPartitions.add(`${topic}/${partition}`);
    }
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    // kafkajs: resuming a topic clears its partition pauses too
    for (const { topic } of topics) {
      this.pausedTopics.delete(topic);
      for (const key of [...this.pausedPartitions])
        if (key.startsWith(`${topic}/`)) this.pausedPartitions.delete(key);
    }
  }

  async commitOffsets(offsets: TopicPartitionOffsetAndMetadata[]): Promise<void> {
    this.commits.push(offsets);
  }

  joinGroup(): void {
    for (const listener of this.listeners.get(GROUP_JOIN) ?? []) listener();
  }

  /** The last offset committed for a partition. */
  committed(partition: number): string | undefined {
    const all = this.commits.flat().filter((entry) => entry.partition === partition);
    return all.at(-1)?.offset;
  }
}

/** A delivery engine stand-in: holds what it was given until the test settles it. */
class FakeSink implements IntakeSink {
  readonly items: Item[] = [];
  dropped = 0;
  private readonly waiters: (() => void)[] = [];

  get buffered(): number {
    return this.items.length;
  }
  add(item: Item): void {
    this.items.push(item);
  }
  queuedFor(person: string): number {
    return this.items.filter((item) => item.op?.person === person).length;
  }
  whenBelow(person: string, below: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.queuedFor(person) < below) resolve();
        else this.waiters.push(check);
      };
      check();
    });
  }
  async waitForCapacity(): Promise<void> {
    await sleep(5);
  }
  dropRevoked(): number {
    const kept = this.items.filter((item) => !item.source.revoked);
    const dropped = this.items.length - kept.length;
    this.items.splice(0, this.items.length, ...kept);
    this.dropped += dropped;
    return dropped;
  }
  /** Delivers (or dead-letters) the items at `offsets`. */
  settle(...offsets: string[]): void {
    for (const offset of offsets) {
      const index = this.items.findIndex((item) => item.envelope.offset === offset);
      const [item] = this.items.splice(index, 1);
      item?.source.finish(offset);
    }
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

const decode = (value: Buffer | null): Operation => {
  const parsed = JSON.parse(value?.toString() ?? 'null') as { person?: string } | null;
  if (!parsed?.person) throw new ValidationError('invalid Track operation: no person');
  const body = Buffer.from(JSON.stringify(parsed));
  return { person: parsed.person, body, bytes: body.length, action: 'event', event: 'e' };
};

/** A fetched batch of one partition; `resolved` collects the offsets the intake took. */
function batchOf(partition: number, values: (string | object)[], from = 0) {
  const resolved: string[] = [];
  const payload = {
    batch: {
      topic: TOPIC,
      partition,
      highWatermark: String(from + values.length),
      messages: values.map((value, i) => ({
        offset: String(from + i),
        timestamp: '1700000000000',
        key: null,
        value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
        headers: {},
      })),
    },
    resolveOffset: (offset: string) => resolved.push(offset),
    heartbeat: async () => undefined,
    isRunning: () => true,
    isStale: () => false,
  } as unknown as EachBatchPayload;
  return { payload, resolved };
}

function intakeWith(tuning: Partial<ConstructorParameters<typeof Intake>[0]['tuning']> = {}) {
  const consumer = new FakeConsumer();
  const sink = new FakeSink();
  const intake = new Intake({
    routes: [{ topic: TOPIC, api: 'track', sink, decode }],
    tuning: {
      maxBuffered: 1_000,
      maxPerPerson: 100,
      maxUncommittedPerPartition: 1_000,
      commitIntervalMs: 10,
      ...tuning,
    },
    metrics: createWorkerMetrics(new Registry()),
    logger: testLogger(),
  });
  intake.attach(consumer);
  return { intake, consumer, sink };
}

describe('Intake', () => {
  let intake: Intake | undefined;
  afterEach(() => intake?.stop());

  it('admits a batch in order, taking invalid messages too, and commits only up to the lowest unfinished one', async () => {
    const setup = intakeWith();
    intake = setup.intake;
    const { consumer, sink } = setup;
    const { payload, resolved } = batchOf(0, [{ person: 'a' }, 'not json', { person: 'b' }, { person: 'a' }]);
    await intake.eachBatch(payload);
    expect(resolved).toEqual(['0', '1', '2', '3']);
    expect(sink.items.map((item) => [item.op?.person, item.invalid?.message])).toEqual([
      ['a', undefined],
      [undefined, 'cannot decode: Unexpected token \'o\', "not json" is not valid JSON'],
      ['b', undefined],
      ['a', undefined],
    ]);
    intake.startCommitting();
    sink.settle('1', '2');
    await waitFor(() => consumer.commits.length > 0, { what: 'a commit' });
    // offset 0 is still being delivered: nothing past it may be committed
    expect(consumer.committed(0)).toBe('0');
    sink.settle('0');
    await waitFor(() => consumer.committed(0) === '3', { what: 'the commit point moving to 3' });
    sink.settle('3');
    await waitFor(() => consumer.committed(0) === '4', { what: 'everything committed' });
  });

  it('pauses only the partition of a person over their bound, and resumes it once they drained to half', async () => {
    const setup = intakeWith({ maxPerPerson: 4 });
    intake = setup.intake;
    const { consumer, sink } = setup;
    const hot = batchOf(
      1,
      Array.from({ length: 6 }, () => ({ person: 'hot' })),
    );
    await intake.eachBatch(hot.payload);
    expect(hot.resolved).toEqual(['0', '1', '2', '3']);
    expect(consumer.pausedPartitions).toEqual(new Set([`${TOPIC}/1`]));
    expect(intake.state().hotPartitions).toEqual([{ topic: TOPIC, partition: 1 }]);
    const other = batchOf(2, [{ person: 'cold' }], 10);
    await intake.eachBatch(other.payload);
    expect(other.resolved).toEqual(['10']);
    sink.settle('0');
    expect(consumer.pausedPartitions.size).toBe(1);
    sink.settle('1', '2');
    await waitFor(() => consumer.pausedPartitions.size === 0, { what: 'the partition resumed' });
    expect(intake.state().hotPartitions).toEqual([]);
  });

  it('pauses a partition whose commit point is held by one message, and resumes it once the held stretch halves', async () => {
    const setup = intakeWith({ maxUncommittedPerPartition: 4 });
    intake = setup.intake;
    const { consumer, sink } = setup;
    const first = batchOf(0, [
      { person: 'stuck' },
      { person: 'b' },
      { person: 'c' },
      { person: 'd' },
      { person: 'e' },
    ]);
    await intake.eachBatch(first.payload);
    expect(first.resolved).toEqual(['0', '1', '2', '3']);
    expect(intake.state().heldPartitions).toEqual([{ topic: TOPIC, partition: 0 }]);
    expect(consumer.pausedPartitions).toEqual(new Set([`${TOPIC}/0`]));
    intake.startCommitting();
    sink.settle('1', '2', '3');
    // delivered behind the stuck one: still held
    await waitFor(() => consumer.commits.length > 0, { what: 'a commit tick' });
    expect(consumer.pausedPartitions.size).toBe(1);
    sink.settle('0');
    await waitFor(() => consumer.pausedPartitions.size === 0, { what: 'the partition resumed' });
    expect(intake.state().heldPartitions).toEqual([]);
  });

  it('waits for room when the topic holds its bound', async () => {
    const setup = intakeWith({ maxBuffered: 2 });
    intake = setup.intake;
    const { sink } = setup;
    const { payload, resolved } = batchOf(0, [{ person: 'a' }, { person: 'b' }, { person: 'c' }]);
    const admitting = intake.eachBatch(payload);
    await waitFor(() => resolved.length === 2, { what: 'two admitted' });
    await sleep(20);
    expect(resolved).toHaveLength(2);
    sink.settle('0');
    await admitting;
    expect(resolved).toEqual(['0', '1', '2']);
  });

  it('starts anew after a rebalance: forgets queued items and partition pauses, commits nothing of the old generation, keeps fault pauses', async () => {
    const setup = intakeWith({ maxPerPerson: 2 });
    intake = setup.intake;
    const { consumer, sink } = setup;
    intake.faultChanged({ kind: 'dead_letter', api: 'track', raised: true, reason: 'unauthorized' });
    const { payload } = batchOf(3, [{ person: 'hot' }, { person: 'hot' }, { person: 'hot' }]);
    // a topic paused by a fault takes nothing
    await intake.eachBatch(payload);
    expect(sink.items).toHaveLength(0);
    intake.faultChanged({ kind: 'dead_letter', api: 'track', raised: false });
    await intake.eachBatch(payload);
    expect(sink.items).toHaveLength(2);
    expect(intake.state().hotPartitions).toHaveLength(1);
    intake.faultChanged({
      kind: 'credentials',
      api: 'track',
      raised: true,
      error: new DeliveryError('http_4xx', 'Unauthorized', false, 401),
    });

    consumer.joinGroup();
    expect(sink.dropped).toBe(2);
    expect(intake.state().hotPartitions).toEqual([]);
    expect(consumer.pausedTopics).toEqual(new Set([TOPIC]));
    await intake.commit();
    expect(consumer.commits).toEqual([]);
  });

  it('pauses the topic of the API a fault is raised for, and does not resume it once stopping', () => {
    const setup = intakeWith();
    intake = setup.intake;
    const { consumer } = setup;
    intake.faultChanged({
      kind: 'endpoint',
      api: 'app',
      raised: true,
      error: new DeliveryError('http_4xx', 'Not Found', false, 404),
    });
    expect(consumer.pausedTopics.size).toBe(0);
    intake.faultChanged({
      kind: 'preflight',
      api: 'track',
      raised: true,
      fault: 'credentials',
      error: new DeliveryError('http_4xx', 'Not Found', false, 404),
    });
    expect(consumer.pausedTopics).toEqual(new Set([TOPIC]));
    intake.stop();
    intake.faultChanged({ kind: 'preflight', api: 'track', raised: false });
    expect(consumer.pausedTopics).toEqual(new Set([TOPIC]));
  });
});
