import { ledgerTtlMs, MemoryLedger } from './transactional-ledger';

describe('MemoryLedger', () => {
  it('remembers a send until its TTL, and forgets the oldest beyond its bound', async () => {
    let now = 1_000;
    const ledger = new MemoryLedger(100, 2, () => now);
    await ledger.record('a');
    expect(await ledger.sent('a')).toBe(true);
    expect(await ledger.sent('b')).toBe(false);
    now += 101;
    expect(await ledger.sent('a')).toBe(false);
    await ledger.record('b');
    await ledger.record('c');
    await ledger.record('d');
    expect([await ledger.sent('b'), await ledger.sent('c'), await ledger.sent('d')]).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('outlives the retries and a replay from the dead-letter topic', () => {
    expect(ledgerTtlMs(15 * 60_000, 30 * 86_400_000)).toBeGreaterThan(15 * 60_000 + 30 * 86_400_000);
  });
});
