import { MemoryReplayStore } from './replay-store';

describe('MemoryReplayStore', () => {
  let clock = 1_000_000;
  const now = () => clock;
  beforeEach(() => {
    clock = 1_000_000;
  });

  it('claims an id once, then reports it in flight, then accepted', async () => {
    const store = new MemoryReplayStore(100, now);
    expect(await store.claim('a', 1_000)).toBe('claimed');
    expect(await store.claim('a', 1_000)).toBe('in_flight');
    await store.confirm('a', 10_000);
    expect(await store.claim('a', 1_000)).toBe('accepted');
  });

  it('forgets an accepted id after the window', async () => {
    const store = new MemoryReplayStore(100, now);
    await store.claim('a', 1_000);
    await store.confirm('a', 10_000);
    clock += 9_999;
    expect(await store.claim('a', 1_000)).toBe('accepted');
    clock += 2;
    expect(await store.claim('a', 1_000)).toBe('claimed');
  });

  it('lets a released claim be claimed again, but never releases an accepted id', async () => {
    const store = new MemoryReplayStore(100, now);
    await store.claim('a', 1_000);
    await store.release('a');
    expect(await store.claim('a', 1_000)).toBe('claimed');
    await store.confirm('a', 10_000);
    await store.release('a');
    expect(await store.claim('a', 1_000)).toBe('accepted');
  });

  it('lets an abandoned claim lapse', async () => {
    const store = new MemoryReplayStore(100, now);
    await store.claim('a', 1_000);
    clock += 1_001;
    expect(await store.claim('a', 1_000)).toBe('claimed');
  });

  it('stays bounded, evicting the oldest ids first', async () => {
    const store = new MemoryReplayStore(3, now);
    for (const id of ['a', 'b', 'c', 'd']) {
      await store.claim(id, 1_000);
      await store.confirm(id, 60_000);
    }
    expect(store.size).toBe(3);
    expect(await store.claim('d', 1_000)).toBe('accepted');
    expect(await store.claim('a', 1_000)).toBe('claimed');
  });

  it('drops expired ids as new ones arrive', async () => {
    const store = new MemoryReplayStore(100, now);
    for (const id of ['a', 'b', 'c']) {
      await store.claim(id, 1_000);
      await store.confirm(id, 5_000);
    }
    clock += 6_000;
    await store.claim('d', 1_000);
    expect(store.size).toBe(1);
  });

  it('tells webhook ids (sha256 hex) apart by their first 128 bits', async () => {
    const store = new MemoryReplayStore(100, now);
    const a = `${'ab'.repeat(16)}${'00'.repeat(16)}`;
    const b = `${'ab'.repeat(15)}ac${'00'.repeat(16)}`;
    await store.claim(a, 1_000);
    await store.confirm(a, 10_000);
    expect(await store.claim(a, 1_000)).toBe('accepted');
    expect(await store.claim(b, 1_000)).toBe('claimed');
  });
});
