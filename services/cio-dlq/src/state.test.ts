import { type HandledMark, handledState, markRecords } from './state';

const DLQ = 'customerio.dlq';
const mark = (offset: number, extra: Partial<HandledMark> = {}): HandledMark => ({
  status: 'replayed',
  dlqTopic: DLQ,
  partition: 0,
  offset: String(offset),
  run: 'r1',
  by: 'sre@host',
  at: '2026-12-01T10:00:00.000Z',
  to: 'customerio.track',
  replayCount: 1,
  ...extra,
});

describe('handled state', () => {
  // the dead-letter topic holds offsets 100 to 199 of partition 0
  const ranges = [{ partition: 0, low: '100', high: '200' }];

  it("answers a dead letter's state from its marks: the last one's status, run and target, and the replays", () => {
    const state = handledState(ranges);
    state.add(mark(150));
    state.add(mark(150, { run: 'r2', at: '2026-12-02T10:00:00.000Z', to: 'other.track' }));
    state.add(mark(151, { status: 'purged', to: undefined }));
    expect(state.get(0, '150')).toEqual({
      status: 'replayed',
      replays: 2,
      last: expect.objectContaining({
        run: 'r2',
        at: '2026-12-02T10:00:00.000Z',
        to: 'other.track',
        by: 'sre@host',
      }),
    });
    expect(state.get(0, '151')).toEqual({
      status: 'purged',
      replays: 0,
      last: expect.not.objectContaining({ to: expect.anything() }),
    });
    expect(state.get(0, '152')).toBeUndefined();
    expect(state.get(1, '150')).toBeUndefined();
  });

  it('keeps whole only the marks of dead letters outside the topic (retention removed them): the guards need those', () => {
    const state = handledState(ranges);
    const removed = mark(7, {
      action: 'identify',
      key: 'p1',
      original: 'customerio.track:0:3',
      originalTime: 1,
    });
    state.add(removed);
    state.add(mark(120, { action: 'identify', key: 'p2' }));
    expect([...state.marks()]).toEqual([removed]);
    expect(state.get(0, '7')).toEqual({ status: 'replayed', replays: 1, last: removed });
    expect(state.get(0, '120')?.status).toBe('replayed');
  });

  it('reads the records replay writes, a thousand marks to a record', () => {
    const state = handledState(ranges);
    const marks = Array.from({ length: 100 }, (_, i) => mark(100 + i));
    const records = markRecords(marks);
    for (const record of records) state.addRecord(JSON.parse(String(record.value)));
    for (let offset = 100; offset < 200; offset++) expect(state.get(0, String(offset))?.replays).toBe(1);
    expect([...state.marks()]).toEqual([]);
  });
});
