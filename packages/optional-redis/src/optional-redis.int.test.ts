import { type DedicatedRedis, startRedisServer, testLogger, waitFor } from '@cio-bridge/testkit';
import { Gauge, Registry } from 'prom-client';
import { closeRedis, connectOptionalRedis } from './client';
import { OptionalRedis } from './optional-redis';

jest.setTimeout(60_000);

describe('OptionalRedis against a real redis-server that is killed', () => {
  let server: DedicatedRedis;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const setUp = async (extra: { beforeReturning?: () => Promise<void> } = {}) => {
    const logger = testLogger('optional-redis');
    const redis = await connectOptionalRedis(server.url, { logger });
    const registry = new Registry();
    const optional = new OptionalRedis({
      redis,
      role: 'the test store',
      logger,
      gauge: new Gauge({ name: 'test_fallback', help: 'test', registers: [registry] }),
      timeoutMs: 300,
      probeEveryMs: 100,
      ...extra,
    });
    const gauge = async () => (await registry.getSingleMetric('test_fallback')!.get()).values[0]?.value;
    return { redis, optional, gauge };
  };

  it('falls back at once when Redis dies, reports it, and goes back by itself when Redis returns', async () => {
    let returned = 0;
    const { redis, optional, gauge } = await setUp({ beforeReturning: async () => void returned++ });
    try {
      const fromRedis = await optional.run(
        (r) => r.set('k', 'v').then(() => 'redis'),
        () => 'memory',
      );
      expect(fromRedis).toBe('redis');
      expect(optional.readiness()).toBeUndefined();
      expect(await gauge()).toBe(0);

      await server.kill();
      expect(
        await optional.run(
          (r) => r.get('k'),
          () => 'memory',
        ),
      ).toBe('memory');
      expect(optional.usingFallback).toBe(true);
      expect(optional.readiness()).toBe('degraded');
      expect(await gauge()).toBe(1);
      // While fallen back, callers never wait for Redis.
      expect(
        await optional.run(
          () => new Promise<string>(() => {}),
          () => 'memory',
        ),
      ).toBe('memory');

      await server.restart();
      await waitFor(() => !optional.usingFallback, { what: 'back on Redis' });
      expect(returned).toBe(1);
      expect(await gauge()).toBe(0);
      expect(
        await optional.run(
          (r) => r.set('k', 'w').then(() => 'redis'),
          () => 'memory',
        ),
      ).toBe('redis');
    } finally {
      optional.close();
      await closeRedis(redis);
    }
  });

  it('bounds every call: a Redis that hangs instead of refusing falls back within the bound', async () => {
    const { redis, optional } = await setUp();
    try {
      server.pause();
      expect(
        await optional.run(
          (r) => r.get('k'),
          () => 'memory',
        ),
      ).toBe('memory');
      expect(optional.readiness()).toBe('degraded');
      server.resume();
      await waitFor(() => !optional.usingFallback, { what: 'back on Redis' });
    } finally {
      server.resume();
      optional.close();
      await closeRedis(redis);
    }
  });
});
