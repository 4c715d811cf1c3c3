import { testRedisUrl, uniqueName } from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import { createRedisCache } from './cache';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await redis.quit();
});

const record = (userId: string, version: number, value: string) => ({
  userId,
  version,
  body: JSON.stringify({ user_id: userId, ai_features: { value }, updated_at: null }),
});

describe('Redis cache (real Redis)', () => {
  it('stores bodies with the TTL and returns them', async () => {
    const keyPrefix = `${uniqueName('test-ai')}:`;
    const cache = createRedisCache({ redis, ttlSeconds: 120, keyPrefix });
    expect(await cache.get('1')).toBeUndefined();
    await cache.offer([record('1', 10, 'a'), record('2', 10, 'b')]);
    expect(JSON.parse((await cache.get('1'))!)).toEqual({
      user_id: '1',
      ai_features: { value: 'a' },
      updated_at: null,
    });
    expect(await cache.get('2')).toContain('"b"');
    const ttl = await redis.ttl(`${keyPrefix}1`);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('never replaces a newer entry with an older one (a slow read-through cannot undo a write)', async () => {
    const keyPrefix = `${uniqueName('test-ai')}:`;
    const writer = createRedisCache({ redis, ttlSeconds: 60, keyPrefix });
    const reader = createRedisCache({ redis, ttlSeconds: 60, keyPrefix });
    await writer.offer([record('1', 200, 'new')]);
    await reader.offer([record('1', 100, 'old')]);
    expect(await reader.get('1')).toContain('"new"');
    await writer.offer([record('1', 300, 'newer')]);
    expect(await reader.get('1')).toContain('"newer"');
  });

  it('fails its readiness check and its writes when Redis is unreachable', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    down.on('error', () => {});
    const cache = createRedisCache({ redis: down, ttlSeconds: 60, keyPrefix: 'x:' });
    await expect(cache.check()).rejects.toThrow();
    await expect(cache.offer([record('1', 1, 'a')])).rejects.toThrow();
    down.disconnect();
  });
});
