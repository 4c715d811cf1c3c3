import { SandboxState } from './state';

describe('SandboxState de-duplication window', () => {
  it('remembers at least the last `dedupeWindow` ids, and forgets older generations', () => {
    const state = new SandboxState(10, 3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) expect(state.isDuplicate(id)).toBe(false);
    // 'c' and later are within the window; 'a'..'c' rotated into the previous generation
    expect(['c', 'd', 'e'].map((id) => state.isDuplicate(id))).toEqual([true, true, true]);
    for (const id of ['f', 'g']) state.isDuplicate(id);
    // now 'a'..'c' fell out of both generations
    expect(state.isDuplicate('a')).toBe(false);
    expect(state.counters.duplicates).toBe(3);
  });

  it('never treats a missing id as a duplicate', () => {
    const state = new SandboxState();
    expect([undefined, null, '', undefined].map((id) => state.isDuplicate(id))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
