import { createMemoryCache } from './cache';

const record = (userId: string, version: number, value: string) => ({
  userId,
  version,
  body: JSON.stringify({ user_id: userId, ai_features: { value }, updated_at: null }),
});

describe('in-process cache', () => {
  it('keeps the newest version: an older offer never replaces a newer entry', async () => {
    const cache = createMemoryCache({ ttlSeconds: 60, maxEntries: 10 });
    await cache.offer([record('1', 200, 'new')]);
    await cache.offer([record('1', 100, 'old')]);
    expect(await cache.get('1')).toContain('"new"');
    await cache.offer([record('1', 300, 'newer')]);
    expect(await cache.get('1')).toContain('"newer"');
  });

  it('forgets entries after the TTL', async () => {
    let now = 1_000;
    const cache = createMemoryCache({ ttlSeconds: 5, maxEntries: 10, now: () => now });
    await cache.offer([record('1', 1, 'a')]);
    now += 4_999;
    expect(await cache.get('1')).toContain('"a"');
    now += 2;
    expect(await cache.get('1')).toBeUndefined();
  });

  it('evicts the least recently used entry beyond its size', async () => {
    const cache = createMemoryCache({ ttlSeconds: 60, maxEntries: 2 });
    await cache.offer([record('1', 1, 'a'), record('2', 1, 'b')]);
    await cache.get('1');
    await cache.offer([record('3', 1, 'c')]);
    expect(await cache.get('2')).toBeUndefined();
    expect(await cache.get('1')).toBeDefined();
    expect(await cache.get('3')).toBeDefined();
  });
});
