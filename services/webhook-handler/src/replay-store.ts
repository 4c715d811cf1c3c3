import type { Logger } from '@cio-bridge/logger';
import { closeRedis, connectOptionalRedis, OptionalRedis } from '@cio-bridge/optional-redis';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createReplayStoreMetrics } from './metrics';

/**
 * What a replay store knows about a webhook id:
 * - `claimed`: not seen; this caller now owns it and must `confirm` or `release` it,
 * - `accepted`: already published within the window (a replay),
 * - `in_flight`: another request with the same body is being published right now.
 */
export type ClaimResult = 'claimed' | 'accepted' | 'in_flight';

export interface ReplayStore {
  /** Atomically claims `id`; a claim not confirmed lapses after `pendingMs`. */
  claim(id: string, pendingMs: number): Promise<ClaimResult>;
  /** Marks `id` as published; it stays known for `windowMs`. */
  confirm(id: string, windowMs: number): Promise<void>;
  /** Gives up a claim (publishing failed), so the sender's retry is published. */
  release(id: string): Promise<void>;
  readonly kind: 'memory' | 'redis';
}

/** The store could not be asked; the request must be retried later. */
export class ReplayStoreError extends Error {
  override name = 'ReplayStoreError';
  readonly retriable = true;
}

/**
 * In-process store for one replica: a Map in insertion order, so the oldest entries
 * are first. Expired entries are dropped as new ones arrive; beyond `maxEntries` the
 * oldest are evicted (memory stays bounded; an evicted id could be published again).
 * Compact (about 12 MB per 100,000 ids): the key is 128 bits of the webhook id, the value
 * the expiry in ms since the store was made (a small integer), negated while only claimed.
 */
export class MemoryReplayStore implements ReplayStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, number>();
  private readonly epoch: number;

  constructor(
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.epoch = now() - 1;
  }

  async claim(id: string, pendingMs: number): Promise<ClaimResult> {
    const now = this.now() - this.epoch;
    this.sweep(now);
    const key = keyOf(id);
    const value = this.entries.get(key);
    if (value !== undefined && Math.abs(value) > now) return value > 0 ? 'accepted' : 'in_flight';
    this.set(key, -(now + pendingMs));
    return 'claimed';
  }

  async confirm(id: string, windowMs: number): Promise<void> {
    this.set(keyOf(id), this.now() - this.epoch + windowMs);
  }

  async release(id: string): Promise<void> {
    const key = keyOf(id);
    if ((this.entries.get(key) ?? 0) < 0) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private set(key: string, value: number): void {
    // Re-inserting moves the key to the end, keeping the map ordered by age.
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  private sweep(now: number): void {
    // Entries are (nearly) ordered by expiry; stop at the first live one. Bounded work per call.
    let budget = 64;
    for (const [key, value] of this.entries) {
      if (Math.abs(value) > now || budget-- === 0) break;
      this.entries.delete(key);
    }
  }
}

/**
 * Webhook ids are sha256 hex: 128 bits of them, as a fresh 22-character string (a slice
 * would keep the whole id alive), tell them apart. Other ids are kept as they are.
 */
const keyOf = (id: string): string =>
  /^[0-9a-f]{64}$/.test(id) ? Buffer.from(id.slice(0, 32), 'hex').toString('base64url') : id;

/**
 * Shared store for several replicas: `SET key pending NX PX` claims atomically, so two
 * replicas receiving the same webhook publish it once.
 */
export class RedisReplayStore implements ReplayStore {
  readonly kind = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'cio-bridge:webhook:',
  ) {}

  async claim(id: string, pendingMs: number): Promise<ClaimResult> {
    const key = this.prefix + id;
    const set = await this.call(() => this.redis.set(key, 'pending', 'PX', pendingMs, 'NX'));
    if (set === 'OK') return 'claimed';
    const state = await this.call(() => this.redis.get(key));
    if (state === null) return this.claim(id, pendingMs); // expired between the two calls
    return state === 'accepted' ? 'accepted' : 'in_flight';
  }

  async confirm(id: string, windowMs: number): Promise<void> {
    await this.call(() => this.redis.set(this.prefix + id, 'accepted', 'PX', windowMs));
  }

  async release(id: string): Promise<void> {
    // Only a pending claim is released; an accepted id stays.
    await this.call(() =>
      this.redis.eval(
        "if redis.call('get', KEYS[1]) == 'pending' then return redis.call('del', KEYS[1]) end return 0",
        1,
        this.prefix + id,
      ),
    );
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new ReplayStoreError(`Redis replay store: ${(error as Error).message}`);
    }
  }
}

/**
 * Redis while it answers, the in-process store while it does not (OptionalRedis: every
 * call bounded, one warning per change, back to Redis by itself). During an outage each
 * replica guards only its own requests; a webhook accepted by two replicas is published
 * twice, which the insights side's idempotent per-event merge makes harmless.
 */
export class FallbackReplayStore implements ReplayStore {
  readonly kind = 'redis';
  private readonly redis: RedisReplayStore;

  constructor(
    private readonly optional: OptionalRedis,
    redis: Redis,
    private readonly memory: MemoryReplayStore,
  ) {
    this.redis = new RedisReplayStore(redis);
  }

  claim(id: string, pendingMs: number): Promise<ClaimResult> {
    return this.optional.run(
      () => this.redis.claim(id, pendingMs),
      () => this.memory.claim(id, pendingMs),
    );
  }

  confirm(id: string, windowMs: number): Promise<void> {
    return this.optional.run(
      () => this.redis.confirm(id, windowMs),
      () => this.memory.confirm(id, windowMs),
    );
  }

  async release(id: string): Promise<void> {
    // A claim made in either store is given up in both.
    await this.memory.release(id);
    await this.optional.run(
      () => this.redis.release(id),
      () => undefined,
    );
  }
}

export interface ReplayStoreSetup {
  store: ReplayStore;
  /** `replayStore`: `degraded` while Redis is away (still ready) */
  readiness: Record<string, () => 'degraded' | undefined>;
  close(): Promise<void>;
}

/**
 * For main.ts: Redis when `redisUrl` is set (shared by every replica), falling back to
 * the in-process store while Redis is unavailable; the in-process store otherwise.
 * Reported as `cio_bridge_webhook_replay_store_fallback` and readiness `replayStore`.
 */
export async function createReplayStore(options: {
  redisUrl?: string;
  maxEntries?: number;
  logger: Logger;
  registry: Registry;
}): Promise<ReplayStoreSetup> {
  const memory = new MemoryReplayStore(options.maxEntries);
  // registered without Redis too (at 0), so dashboards and alerts find the series
  const metrics = createReplayStoreMetrics(options.registry);
  if (!options.redisUrl) return { store: memory, readiness: {}, close: async () => {} };
  const redis = await connectOptionalRedis(options.redisUrl, { logger: options.logger });
  const optional = new OptionalRedis({
    redis,
    role: 'the replay store',
    logger: options.logger,
    gauge: metrics.fallback,
  });
  return {
    store: new FallbackReplayStore(optional, redis, memory),
    readiness: { replayStore: optional.readiness },
    close: async () => {
      optional.close();
      await closeRedis(redis);
    },
  };
}
