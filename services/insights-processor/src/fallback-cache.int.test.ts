import { startRedisServer, testLogger, waitFor } from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { openFeatureCache } from './fallback-cache';

jest.setTimeout(60_000);

const record = (userId: string, version: number) => ({
  userId,
  version,
  body: JSON.stringify({ user_id: userId, ai_features: { v: version }, updated_at: null }),
});

describe('the ai_features cache going back to Redis (a real redis-server, killed)', () => {
  it('past the bound of users changed meanwhile, drops the cache’s whole key space and nothing else', async () => {
    const server = await startRedisServer({ persist: true });
    const other = new Redis(server.url);
    const setup = await openFeatureCache({
      redisUrl: server.url,
      keyPrefix: 'test-ai:',
      ttlSeconds: 300,
      maxEntries: 100,
      logger: testLogger('fallback-cache'),
      registry: new Registry(),
      invalidateMax: 2,
    });
    try {
      await setup.cache.offer([record('1', 1), record('9', 1)]);
      await other.set('not-the-cache', 'kept');
      expect(await other.exists('test-ai:1', 'test-ai:9')).toBe(2);
      other.disconnect();

      await server.kill();
      await setup.cache.offer([record('1', 2), record('2', 2), record('3', 2)]);
      expect(setup.readiness.cache?.()).toBe('degraded');
      expect(await setup.cache.get('1')).toContain('"v":2');

      await server.restart();
      await waitFor(() => setup.readiness.cache?.() === undefined, { what: 'back on Redis' });
      const check = new Redis(server.url);
      try {
        // User 9 did not change, but past the bound every entry goes.
        expect(await check.keys('test-ai:*')).toEqual([]);
        expect(await check.get('not-the-cache')).toBe('kept');
        expect(await setup.cache.get('1')).toBeUndefined();
      } finally {
        check.disconnect();
      }
    } finally {
      await setup.close();
      await server.stop();
    }
  });
});
