import { type Fact, PersonHistory } from './history';
import { type Position, PositionTable } from './positions';

const DLQ = 'customerio.dlq';
const table = () => {
  const positions = new PositionTable(DLQ, []);
  positions.topicIndex('customerio.track');
  return positions;
};
const at = (offset: number, recordTime = offset): Position => ({
  topic: 0,
  partition: 0,
  offset,
  recordTime,
});
const fact = (over: Partial<Fact> & Pick<Fact, 'kind' | 'position'>): Fact => ({
  action: over.kind === 'erase' ? 'delete' : 'identify',
  opTime: Number.NaN,
  delivered: false,
  replayedAt: Number.NaN,
  where: { partition: 0, offset: String(over.position.offset), replayed: false },
  ...over,
});

describe('PersonHistory', () => {
  it('keeps every person apart across thousands of facts, interleaved (its columns grow)', () => {
    const history = new PersonHistory(table());
    for (let i = 0; i < 3_000; i++) {
      history.add(
        `p${i % 3}`,
        fact({ kind: 'identify', position: at(i), delivered: true, operationId: `id${i}` }),
      );
    }
    history.add('p1', fact({ kind: 'erase', action: 'suppress', position: at(5_000), operationId: 'gone' }));
    const candidate = { action: 'event', deadLetteredAt: 0, position: at(4_000) };
    expect(history.verdict({ ...candidate, key: 'p0' })).toBeUndefined();
    expect(history.verdict({ ...candidate, key: 'p1' })).toEqual({
      reason: 'erased-later',
      detail: `later suppress gone at ${DLQ} 0:5000 (dead letter) (--force replays it)`,
    });
    // the newest delivered identify of p2 is at 2,999: an identify from 2,000 is stale, one from 3,500 is not
    expect(
      history.verdict({ key: 'p2', action: 'identify', deadLetteredAt: 0, position: at(2_000) })?.reason,
    ).toBe('stale-identify');
    expect(
      history.verdict({ key: 'p2', action: 'identify', deadLetteredAt: 0, position: at(3_500) }),
    ).toBeUndefined();
    expect(history.has('p2', at(2_999))).toBe(true);
    expect(history.has('p0', at(2_999))).toBe(false);
  });

  it('keeps only the position of an identify that did not reach Customer.io: it makes nothing stale', () => {
    const history = new PersonHistory(table());
    history.add('p', fact({ kind: 'identify', position: at(10), delivered: false, operationId: 'pending' }));
    expect(
      history.verdict({ key: 'p', action: 'identify', deadLetteredAt: 0, position: at(1) }),
    ).toBeUndefined();
    expect(history.has('p', at(10))).toBe(true);
  });

  it('compares operation timestamps where both have one, and names a fact by the text it was given', () => {
    const history = new PersonHistory(table());
    history.add(
      'p',
      fact({
        kind: 'identify',
        position: at(1),
        opTime: 2_000,
        delivered: true,
        where: 'customerio.track 0:1',
      }),
    );
    const older = { key: 'p', action: 'identify', deadLetteredAt: 0, position: at(9), opTime: 1_000 };
    expect(history.verdict(older)).toEqual({
      reason: 'stale-identify',
      detail: 'newer identify at customerio.track 0:1 (--force replays it)',
    });
    expect(history.verdict({ ...older, opTime: 3_000 })).toBeUndefined();
  });
});
