import { OffsetTable } from './offset-table';

describe('OffsetTable', () => {
  it('keeps a row per partition and offset, across pages, and nothing for offsets never set', () => {
    const table = new OffsetTable([Uint32Array, Float64Array]);
    table.set(0, 5, [7, 1.5]);
    table.set(0, 1_000_000, [8, 2]);
    table.set(3, 5, [9, 0]);
    table.set(0, 5, [10, 3]);
    expect(table.get(0, 5)).toEqual([10, 3]);
    expect(table.get(0, 1_000_000)).toEqual([8, 2]);
    expect(table.get(3, 5)).toEqual([9, 0]);
    expect(table.get(0, 6)).toBeUndefined();
    expect(table.get(1, 5)).toBeUndefined();
    expect(table.has(3, 5)).toBe(true);
    expect(table.has(3, 4)).toBe(false);
    expect(table.size).toBe(3);
  });
});
