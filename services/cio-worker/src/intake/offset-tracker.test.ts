import { OffsetTracker } from './offset-tracker';

describe('OffsetTracker', () => {
  it('has nothing to commit before any message', () => {
    const tracker = new OffsetTracker('t', 0);
    expect(tracker.committable()).toBeUndefined();
    expect(tracker.toCommit()).toBeUndefined();
  });

  it('commits only up to the lowest message not finished', () => {
    const tracker = new OffsetTracker('t', 0);
    for (const offset of ['10', '11', '12', '13']) tracker.add(offset);
    expect(tracker.committable()).toBe('10');
    tracker.finish('12');
    tracker.finish('11');
    expect(tracker.committable()).toBe('10');
    tracker.finish('10');
    expect(tracker.committable()).toBe('13');
    tracker.finish('13');
    expect(tracker.committable()).toBe('14');
    expect(tracker.pending).toBe(0);
  });

  it('handles gaps in offsets (compaction, transaction markers)', () => {
    const tracker = new OffsetTracker('t', 3);
    tracker.add('5');
    tracker.add('9');
    tracker.finish('9');
    expect(tracker.committable()).toBe('5');
    tracker.finish('5');
    expect(tracker.committable()).toBe('10');
  });

  it('ignores finishing twice or finishing an unknown offset', () => {
    const tracker = new OffsetTracker('t', 0);
    tracker.add('1');
    tracker.add('2');
    tracker.finish('1');
    tracker.finish('1');
    tracker.finish('77');
    expect(tracker.pending).toBe(1);
    expect(tracker.committable()).toBe('2');
  });

  it('refuses offsets that do not increase', () => {
    const tracker = new OffsetTracker('orders', 2);
    tracker.add('7');
    expect(() => tracker.add('7')).toThrow(/offset 7 of orders\/2 added after 7/);
  });

  it('reports a committable offset once, until it moves again', () => {
    const tracker = new OffsetTracker('t', 0);
    tracker.add('0');
    tracker.add('1');
    tracker.finish('0');
    expect(tracker.toCommit()).toBe('1');
    tracker.markCommitted('1');
    expect(tracker.toCommit()).toBeUndefined();
    tracker.finish('1');
    expect(tracker.toCommit()).toBe('2');
  });

  it('commits nothing once revoked', () => {
    const tracker = new OffsetTracker('t', 0);
    tracker.add('0');
    tracker.finish('0');
    tracker.revoked = true;
    expect(tracker.toCommit()).toBeUndefined();
  });

  it('keeps working across its compaction, with offsets beyond 2^53', () => {
    const tracker = new OffsetTracker('t', 0);
    const base = 2n ** 60n;
    const offsets = Array.from({ length: 5000 }, (_, i) => String(base + BigInt(i)));
    for (const offset of offsets) tracker.add(offset);
    // Finish everything except one in the middle, in a scrambled order.
    const keep = offsets[3000]!;
    for (let i = offsets.length - 1; i >= 0; i -= 2) if (offsets[i] !== keep) tracker.finish(offsets[i]!);
    for (let i = offsets.length - 2; i >= 0; i -= 2) if (offsets[i] !== keep) tracker.finish(offsets[i]!);
    expect(tracker.pending).toBe(1);
    expect(tracker.committable()).toBe(keep);
    tracker.finish(keep);
    expect(tracker.committable()).toBe(String(base + 5000n));
  });
});
