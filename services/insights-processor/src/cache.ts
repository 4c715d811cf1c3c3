import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { FeaturesRecord } from './users-store';

/**
 * The read API's cache of `{user_id, ai_features, updated_at}` bodies by user id.
 * Every entry carries its version (ai_features_updated_at in microseconds) and `offer`
 * only ever replaces an entry with a newer one. So a read that filled the cache from
 * Postgres just before a write committed cannot put the old value back after the
 * write-through stored the new one.
 */
export interface FeatureCache {
  readonly kind: 'redis' | 'memory';
  get(userId: string): Promise<string | undefined>;
  /** stores each record unless the cache holds the same or a newer version */
  offer(records: readonly FeaturesRecord[]): Promise<void>;
  /** readiness: throws when the cache cannot be used */
  check(): Promise<void>;
}

export interface MemoryCacheOptions {
  ttlSeconds: number;
  maxEntries: number;
  /** a clock for tests (milliseconds) */
  now?: () => number;
}

/** An in-process LRU: for one instance (each instance has its own). */
export function createMemoryCache({ ttlSeconds, maxEntries, now }: MemoryCacheOptions): FeatureCache {
  const lru = new LRUCache<string, { version: number; body: string }>({
    max: maxEntries,
    ttl: ttlSeconds * 1000,
    // A test clock is read on every lookup (lru-cache otherwise reuses a reading for 1 ms).
    ...(now ? { perf: { now }, ttlResolution: 0 } : {}),
  });
  return {
    kind: 'memory',
    get: async (userId) => lru.get(userId)?.body,
    async offer(records) {
      for (const { userId, version, body } of records) {
        const held = lru.get(userId);
        if (held && held.version >= version) continue;
        lru.set(userId, { version, body });
      }
    },
    check: async () => {},
  };
}

// KEYS[1] the entry; ARGV version, body, ttl seconds. The stored value is `<version>|<body>`.
const OFFER_SCRIPT = `
local held = redis.call('GET', KEYS[1])
if held then
  local bar = string.find(held, '|', 1, true)
  if bar and tonumber(string.sub(held, 1, bar - 1)) >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
return 1`;

type OfferingRedis = Redis & {
  cioOfferFeatures(key: string, version: string, body: string, ttl: string): Promise<number>;
};

export interface RedisCacheOptions {
  redis: Redis;
  ttlSeconds: number;
  keyPrefix: string;
}

/** Redis, shared by every instance; the compare-and-set runs as one Lua script. The caller owns `redis`. */
export function createRedisCache({ redis, ttlSeconds, keyPrefix }: RedisCacheOptions): FeatureCache {
  if (!('cioOfferFeatures' in redis)) {
    redis.defineCommand('cioOfferFeatures', { numberOfKeys: 1, lua: OFFER_SCRIPT });
  }
  const client = redis as OfferingRedis;
  const ttl = String(ttlSeconds);
  return {
    kind: 'redis',
    async get(userId) {
      const held = await client.get(keyPrefix + userId);
      if (held === null) return undefined;
      const bar = held.indexOf('|');
      return bar < 0 ? undefined : held.slice(bar + 1);
    },
    async offer(records) {
      if (records.length === 0) return;
      if (records.length === 1) {
        const [{ userId, version, body }] = records as [FeaturesRecord];
        await client.cioOfferFeatures(keyPrefix + userId, String(version), body, ttl);
        return;
      }
      const pipeline = client.pipeline() as ReturnType<Redis['pipeline']> & {
        cioOfferFeatures(key: string, version: string, body: string, ttl: string): unknown;
      };
      for (const { userId, version, body } of records) {
        pipeline.cioOfferFeatures(keyPrefix + userId, String(version), body, ttl);
      }
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
    },
    async check() {
      await client.ping();
    },
  };
}
