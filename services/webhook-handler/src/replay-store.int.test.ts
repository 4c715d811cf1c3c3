import { setTimeout as sleep } from 'node:timers/promises';
import { testLogger, testRedisUrl, uniqueName } from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createReplayStore, RedisReplayStore, ReplayStoreError } from './replay-store';

describe('RedisReplayStore (real Redis)', () => {
  const redis = new Redis(testRedisUrl());
  const prefix = `${uniqueName('wh-replay')}:`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('is shared: two stores (two replicas) see one claim and one acceptance', async () => {
    const secondClient = new Redis(testRedisUrl());
    const replicaA = new RedisReplayStore(redis, prefix);
    const replicaB = new RedisReplayStore(secondClient, prefix);
    try {
      expect(await replicaA.claim('x', 5_000)).toBe('claimed');
      expect(await replicaB.claim('x', 5_000)).toBe('in_flight');
      await replicaA.confirm('x', 60_000);
      expect(await replicaB.claim('x', 5_000)).toBe('accepted');
      expect(await redis.pttl(`${prefix}x`)).toBeGreaterThan(55_000);
    } finally {
      await secondClient.quit();
    }
  });

  it('releases a pending claim only', async () => {
    const store = new RedisReplayStore(redis, prefix);
    await store.claim('y', 5_000);
    await store.release('y');
    expect(await store.claim('y', 5_000)).toBe('claimed');
    await store.confirm('y', 60_000);
    await store.release('y');
    expect(await store.claim('y', 5_000)).toBe('accepted');
  });

  it('lets an abandoned claim lapse', async () => {
    const store = new RedisReplayStore(redis, prefix);
    expect(await store.claim('z', 50)).toBe('claimed');
    await sleep(120);
    expect(await store.claim('z', 5_000)).toBe('claimed');
  });

  it('fails fast with a retriable error when Redis is unreachable', async () => {
    const setup = await createReplayStore({
      redisUrl: testRedisUrl(),
      logger: testLogger(),
      registry: new Registry(),
    });
    const unreachable = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    const down = new RedisReplayStore(unreachable);
    try {
      expect(setup.readiness.replayStore?.()).toBeUndefined();
      const error = await down.claim('w', 1_000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReplayStoreError);
      expect((error as ReplayStoreError).retriable).toBe(true);
    } finally {
      unreachable.disconnect();
      await setup.close();
    }
  });
});
