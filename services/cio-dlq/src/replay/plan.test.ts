import { buildGuards } from '../guards/build';
import { type HandledMark, handledState } from '../state';
import { MemorySource } from '../testing/memory-source';
import { emptyTally, type PlanItem, type PlanOptions, planReplay } from './plan';

const DLQ = 'customerio.dlq';
const TRACK = 'customerio.track';
const T0 = Date.parse('2024-05-22T10:00:00Z');

interface Op {
  id: string;
  action?: string;
  name?: string;
  timestamp?: string;
}

/** A world of one track partition and one dead-letter partition, filled in order. */
function world() {
  const source = new MemorySource().createTopic(TRACK, 1).createTopic(DLQ, 1);
  const state = handledState();
  let clock = T0;
  const tick = () => {
    clock += 1000;
    return clock;
  };
  const value = (key: string, op: Op) =>
    JSON.stringify({ identifiers: { id: key }, ...(op.name ? {} : { action: op.action }), ...op });
  return {
    source,
    state,
    /** delivered to Customer.io: in the track topic, never dead-lettered */
    delivered(key: string, op: Op, headers: Record<string, string> = {}) {
      return source.append(TRACK, [{ key, value: value(key, op), headers, timestamp: tick() }])[0]!;
    },
    /** in the track topic, then dead-lettered; returns the dead letter's coordinate */
    failed(key: string, op: Op, headers: Record<string, string> = {}) {
      const original = this.delivered(key, op, headers);
      const [dl] = source.append(DLQ, [
        {
          key,
          value: value(key, op),
          timestamp: tick(),
          headers: {
            ...headers,
            'x-dlq-original-topic': TRACK,
            'x-dlq-original-partition': String(original.partition),
            'x-dlq-original-offset': original.offset,
            'x-dlq-original-timestamp': String(clock - 1000),
            'x-dlq-error-class': 'http_4xx',
          },
        },
      ]);
      return `${dl!.partition}:${dl!.offset}`;
    },
    /** cio-dlq replayed a dead letter: its mark, and its copy in the track topic */
    replayed(coordinate: string, key: string, op: Op) {
      const [partition, offset] = coordinate.split(':');
      clock += 1000;
      const mark: HandledMark = {
        status: 'replayed',
        dlqTopic: DLQ,
        partition: Number(partition),
        offset: offset!,
        run: 'r1',
        by: 'test',
        at: new Date(clock).toISOString(),
        operationId: op.id,
        action: op.action ?? 'event',
      };
      state.add(mark);
      this.delivered(key, op, { 'x-replayed-from': `${DLQ}:${coordinate}`, 'x-replay-count': '1' });
    },
  };
}

async function plan(w: ReturnType<typeof world>, options: Partial<PlanOptions> = {}) {
  const all: PlanOptions = { filter: {}, maxReplays: 3, ...options };
  const guards = await buildGuards(w.source, DLQ, w.state, all.filter);
  const items: PlanItem[] = [];
  const tally = emptyTally();
  for await (const run of planReplay(w.source, DLQ, w.state, guards, all, tally)) items.push(...run);
  return {
    tally,
    verdicts: Object.fromEntries(items.map((i) => [i.entry.operation.id, i.skip ?? 'replay'])),
    items,
  };
}

describe('erasure wins', () => {
  it('skips every older operation of a person deleted or suppressed later, never a delete', async () => {
    const w = world();
    w.failed('p1', { id: 'identify', action: 'identify' });
    w.failed('p1', { id: 'event', name: 'page_viewed' });
    w.failed('p1', { id: 'device', action: 'add_device' });
    w.failed('p1', { id: 'first-delete', action: 'delete' });
    w.delivered('p1', { id: 'delete', action: 'delete' });
    w.failed('p1', { id: 'after', name: 'signed_up' });
    w.failed('p2', { id: 'other', name: 'page_viewed' });
    w.failed('p3', { id: 'merge', action: 'merge' });
    w.delivered('p3', { id: 'suppress', action: 'suppress' });
    const { verdicts, items, tally } = await plan(w);
    expect(verdicts).toEqual({
      identify: 'erased-later',
      event: 'erased-later',
      device: 'erased-later',
      'first-delete': 'replay',
      after: 'replay',
      other: 'replay',
      merge: 'erased-later',
    });
    expect(items[0]!.detail).toBe(
      `later delete first-delete at ${DLQ} 0:3 (dead letter) (--force replays it)`,
    );
    expect(tally.skipped).toEqual({ 'erased-later': 4 });
  });

  it('counts a delete cio-dlq replayed after the dead letter, even from an earlier position', async () => {
    const w = world();
    const del = w.failed('p1', { id: 'delete', action: 'delete' });
    w.failed('p1', { id: 'identify', action: 'identify' });
    w.replayed(del, 'p1', { id: 'delete', action: 'delete' });
    expect((await plan(w)).verdicts).toEqual({ identify: 'erased-later' });
  });

  it('is overridden only by --force, which the plan counts', async () => {
    const w = world();
    w.failed('p1', { id: 'identify', action: 'identify' });
    w.delivered('p1', { id: 'delete', action: 'delete' });
    const { verdicts, items, tally } = await plan(w, { force: true });
    expect(verdicts).toEqual({ identify: 'replay' });
    expect(items[0]!.forced?.reason).toBe('erased-later');
    expect(tally.forced).toEqual({ 'erased-later': 1 });
  });
});

describe('the stale-identify guard', () => {
  it('skips an identify when a newer one was delivered since (no timestamps: by position)', async () => {
    const w = world();
    w.failed('p1', { id: 'old', action: 'identify' });
    w.delivered('p1', { id: 'new', action: 'identify' });
    const { verdicts, items } = await plan(w);
    expect(verdicts).toEqual({ old: 'stale-identify' });
    expect(items[0]!.detail).toBe(`newer identify new at ${TRACK} 0:1 (--force replays it)`);
  });

  it('compares operation timestamps when both have one, whatever the positions', async () => {
    const w = world();
    w.failed('p1', { id: 'newer', action: 'identify', timestamp: '2024-05-22T12:00:00Z' });
    w.delivered('p1', { id: 'older', action: 'identify', timestamp: '2024-05-22T11:00:00Z' });
    w.failed('p2', { id: 'old', action: 'identify', timestamp: '2024-05-22T11:00:00Z' });
    w.delivered('p2', { id: 'new', action: 'identify', timestamp: '2024-05-22T12:00:00Z' });
    expect((await plan(w)).verdicts).toEqual({ newer: 'replay', old: 'stale-identify' });
  });

  it('counts a replayed copy at its original position: after --limit 1 the newer one still goes', async () => {
    for (const timestamps of [false, true]) {
      const w = world();
      const at = (h: number) => (timestamps ? { timestamp: `2024-05-22T1${h}:00:00Z` } : {});
      const a = w.failed('p1', { id: 'a', action: 'identify', ...at(0) });
      w.failed('p1', { id: 'b', action: 'identify', ...at(1) });
      const first = await plan(w, { filter: { limit: 1 } });
      expect(first.verdicts).toEqual({ a: 'replay' });
      w.replayed(a, 'p1', { id: 'a', action: 'identify', ...at(0) });
      const rest = await plan(w);
      expect(rest.verdicts).toEqual({ b: 'replay' });
      expect(rest.tally.handled).toBe(1);
    }
  });

  it('places a copy whose dead letter retention removed at the position its mark recorded', async () => {
    const w = world();
    // An older identify was dead-lettered, replayed, and its dead letter is gone: only
    // its mark and its copy (later in the track topic) remain.
    w.delivered('p1', { id: 'gone', action: 'identify' });
    w.state.add({
      status: 'replayed',
      dlqTopic: DLQ,
      partition: 0,
      offset: '99',
      run: 'r0',
      by: 'test',
      at: new Date(T0).toISOString(),
      operationId: 'gone',
      action: 'identify',
      key: 'p1',
      original: `${TRACK}:0:0`,
      originalTime: T0,
    });
    w.failed('p1', { id: 'b', action: 'identify' });
    w.delivered('p1', { id: 'gone', action: 'identify' }, { 'x-replayed-from': `${DLQ}:0:99` });
    expect((await plan(w)).verdicts).toEqual({ b: 'replay' });
  });

  it('does not count a newer identify that failed too: both go, in order', async () => {
    const w = world();
    w.failed('p1', { id: 'a', action: 'identify' });
    w.failed('p1', { id: 'b', action: 'identify' });
    const { items } = await plan(w);
    expect(items.map((i) => [i.entry.operation.id, i.skip ?? 'replay'])).toEqual([
      ['a', 'replay'],
      ['b', 'replay'],
    ]);
  });
});

describe('dead-letter-shaped topics without the worker headers', () => {
  it('plans without original positions: no target, and the guards compare what they can', async () => {
    const w = world();
    w.source.append(DLQ, [
      { key: 'p1', value: '{"id":"q","action":"identify"}', headers: { 'x-quarantine-reason': 'bad' } },
    ]);
    const { verdicts } = await plan(w);
    expect(verdicts).toEqual({ q: 'no-target' });
  });
});
