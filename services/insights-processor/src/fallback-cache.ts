import type { Logger } from '@cio-bridge/logger';
import { closeRedis, connectOptionalRedis, OptionalRedis } from '@cio-bridge/optional-redis';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createMemoryCache, createRedisCache, type FeatureCache } from './cache';
import { createCacheMetrics } from './metrics';

/** Users changed while Redis was away, beyond which the whole key space is dropped instead. */
const DEFAULT_INVALIDATE_MAX = 10_000;
const UNLINK_CHUNK = 500;

export interface FallbackCacheOptions {
  optional: OptionalRedis;
  redis: FeatureCache;
  memory: FeatureCache;
}

/**
 * Redis while it answers, the in-process LRU while it does not. The users written while
 * Redis was away are remembered (up to `invalidateMax`), so that `beforeReturning` can
 * delete their entries before Redis is read again: Redis may come back holding what it
 * held before the outage, and those entries are older than what Postgres now holds.
 */
export class FallbackCache implements FeatureCache {
  readonly kind = 'redis';
  private changed = new Set<string>();
  private overflowed = false;

  constructor(
    private readonly parts: Omit<FallbackCacheOptions, 'optional'>,
    private readonly optional: () => OptionalRedis,
    private readonly invalidateMax = DEFAULT_INVALIDATE_MAX,
  ) {}

  get(userId: string): Promise<string | undefined> {
    return this.optional().run(
      () => this.parts.redis.get(userId),
      () => this.parts.memory.get(userId),
    );
  }

  offer(records: Parameters<FeatureCache['offer']>[0]): Promise<void> {
    return this.optional().run(
      () => this.parts.redis.offer(records),
      () => {
        for (const { userId } of records) this.remember(userId);
        return this.parts.memory.offer(records);
      },
    );
  }

  async check(): Promise<void> {}

  /** Deletes from Redis what changed meanwhile: the users' keys, or every key of the cache past the bound. */
  async invalidate(redis: Redis, keyPrefix: string): Promise<void> {
    const ids = [...this.changed];
    const all = this.overflowed;
    if (all) await unlinkMatching(redis, keyPrefix);
    else {
      for (let i = 0; i < ids.length; i += UNLINK_CHUNK)
        await redis.unlink(...ids.slice(i, i + UNLINK_CHUNK).map((id) => keyPrefix + id));
    }
    // Only what was invalidated is forgotten: a write meanwhile stays to be invalidated.
    for (const id of ids) this.changed.delete(id);
    if (all) this.overflowed = false;
  }

  /** Whether a write while Redis was away is still to be invalidated. */
  get pending(): boolean {
    return this.overflowed || this.changed.size > 0;
  }

  private remember(userId: string): void {
    if (this.overflowed) return;
    this.changed.add(userId);
    if (this.changed.size > this.invalidateMax) {
      this.overflowed = true;
      this.changed = new Set();
    }
  }
}

async function unlinkMatching(redis: Redis, keyPrefix: string): Promise<void> {
  const pattern = `${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

export interface FeatureCacheSetup {
  cache: FeatureCache;
  /** `cache`: `degraded` while Redis is away (still ready) */
  readiness: Record<string, () => 'degraded' | undefined>;
  close(): Promise<void>;
}

/**
 * For main.ts: without `redisUrl` the in-process LRU; with it, Redis falling back to the
 * LRU while Redis is unavailable (OptionalRedis: bounded calls, readiness `cache`,
 * `cio_bridge_insights_cache_fallback`, one warning per change). Before Redis is used
 * again, the entries of users written meanwhile are deleted from it.
 */
export async function openFeatureCache(options: {
  redisUrl?: string;
  keyPrefix: string;
  ttlSeconds: number;
  maxEntries: number;
  logger: Logger;
  registry: Registry;
  invalidateMax?: number;
}): Promise<FeatureCacheSetup> {
  const newMemory = () =>
    createMemoryCache({ ttlSeconds: options.ttlSeconds, maxEntries: options.maxEntries });
  // registered without Redis too (at 0), so dashboards and alerts find the series
  const metrics = createCacheMetrics(options.registry);
  if (!options.redisUrl) return { cache: newMemory(), readiness: {}, close: async () => {} };
  const redis = await connectOptionalRedis(options.redisUrl, { logger: options.logger });
  const parts = {
    redis: createRedisCache({ redis, ttlSeconds: options.ttlSeconds, keyPrefix: options.keyPrefix }),
    memory: newMemory(),
  };
  const optional: OptionalRedis = new OptionalRedis({
    redis,
    role: 'the ai_features cache',
    logger: options.logger,
    gauge: metrics.fallback,
    beforeReturning: (client) => cache.invalidate(client, options.keyPrefix),
    onChange: (fallback) => {
      if (fallback) return;
      // Back on Redis: the LRU's entries would be stale at the next outage, and a write
      // that came in while going back is invalidated now.
      parts.memory = newMemory();
      if (cache.pending)
        void optional.run(
          (client) => cache.invalidate(client, options.keyPrefix),
          () => undefined,
        );
    },
  });
  const cache = new FallbackCache(parts, () => optional, options.invalidateMax);
  return {
    cache,
    readiness: { cache: optional.readiness },
    close: async () => {
      optional.close();
      await closeRedis(redis);
    },
  };
}
