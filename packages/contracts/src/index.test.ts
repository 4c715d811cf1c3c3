import { DLQ_HEADER_PREFIX, DLQ_HEADERS, ERASING_ACTIONS, TRACK_ACTIONS } from './index';

describe('contracts', () => {
  it('names every dead-letter header with the dead-letter prefix, once', () => {
    const names = Object.values(DLQ_HEADERS);
    expect(names.every((name) => name.startsWith(DLQ_HEADER_PREFIX))).toBe(true);
    expect(new Set(names).size).toBe(names.length);
  });

  it('lists the erasing actions among the Track actions', () => {
    for (const action of ERASING_ACTIONS) expect(TRACK_ACTIONS).toContain(action);
  });
});
