import type { Logger } from '@cio-bridge/logger';
import { OptionalRedis } from '@cio-bridge/optional-redis';
import type { Redis } from 'ioredis';
import type { WorkerMetrics } from '../metrics';

/**
 * The effect-once ledger of transactional sends: the App API has no idempotency key, so
 * the worker remembers which operation ids Customer.io accepted and never sends one again
 * (redelivery after a crash or a rebalance, a replay from the dead-letter topic).
 */
export interface EffectLedger {
  /** whether a send with this operation id was accepted before */
  sent(id: string): Promise<boolean>;
  /** records an accepted send */
  record(id: string): Promise<void>;
  /** `redis` survives restarts and is shared by every instance; `memory` does neither */
  readonly kind: 'redis' | 'memory';
}

/** In-process: survives neither a crash nor a move of the partition to another instance. */
export class MemoryLedger implements EffectLedger {
  readonly kind = 'memory';
  private readonly ids = new Map<string, number>();
  constructor(
    private readonly ttlMs: number,
    /** bound on remembered ids; the oldest are forgotten first */
    private readonly maxIds = 1_000_000,
    private readonly now: () => number = Date.now,
  ) {}

  async sent(id: string): Promise<boolean> {
    const until = this.ids.get(id);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.ids.delete(id);
    return false;
  }

  async record(id: string): Promise<void> {
    this.ids.delete(id);
    this.ids.set(id, this.now() + this.ttlMs);
    // A Map iterates in insertion order: the first key is the oldest.
    while (this.ids.size > this.maxIds) this.ids.delete(this.ids.keys().next().value as string);
  }
}

/** In Redis, with a TTL: shared by every instance and kept across restarts. */
export class RedisLedger implements EffectLedger {
  readonly kind = 'redis';
  constructor(
    private readonly redis: Redis,
    /** e.g. `cio-bridge:sent:<site id>` */
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  keyOf(id: string): string {
    return `${this.prefix}:${id}`;
  }

  async sent(id: string): Promise<boolean> {
    return (await this.redis.exists(this.keyOf(id))) === 1;
  }

  async record(id: string): Promise<void> {
    await this.redis.set(this.keyOf(id), '1', 'PX', this.ttlMs);
  }
}

/**
 * The Redis ledger, degrading to this instance's memory while Redis is unavailable
 * (OptionalRedis: bounded calls, readiness, metric, one warning per change). Every send
 * is also remembered in process (the most recent `recentMax`), so no send is repeated
 * within this instance whether Redis answers or not. The sends recorded while Redis was
 * away are written to it before it is used again. What this does not cover: a send
 * recorded only in process is unknown to other instances and lost in a crash, so a
 * rebalance or a crash while Redis is away may repeat it.
 */
export class FallbackLedger implements EffectLedger {
  readonly kind = 'redis';
  private readonly recent: MemoryLedger;
  /** ids recorded while Redis was away, to write back (bounded like `recent`) */
  private away = new Set<string>();

  constructor(
    private readonly optional: OptionalRedis,
    private readonly redis: RedisLedger,
    private readonly ttlMs: number,
    private readonly recentMax = 100_000,
  ) {
    this.recent = new MemoryLedger(ttlMs, recentMax);
  }

  async sent(id: string): Promise<boolean> {
    if (await this.recent.sent(id)) return true;
    return this.optional.run(
      () => this.redis.sent(id),
      () => false,
    );
  }

  async record(id: string): Promise<void> {
    await this.recent.record(id);
    await this.optional.run(
      () => this.redis.record(id),
      () => {
        this.away.add(id);
        if (this.away.size > this.recentMax) this.away.delete(this.away.values().next().value as string);
      },
    );
  }

  /** For OptionalRedis `beforeReturning`: writes what was recorded meanwhile into Redis. */
  async writeBack(redis: Redis): Promise<void> {
    const ids = [...this.away];
    for (let i = 0; i < ids.length; i += 500) {
      const batch = redis.multi();
      for (const id of ids.slice(i, i + 500)) batch.set(this.redis.keyOf(id), '1', 'PX', this.ttlMs);
      await batch.exec();
    }
    for (const id of ids) this.away.delete(id);
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Longer than an operation can be retried (`maxRetryMs`) plus how long it can wait in
 * the dead-letter topic for a replay (its retention), plus a day.
 */
export const ledgerTtlMs = (maxRetryMs: number, dlqRetentionMs: number): number =>
  maxRetryMs + dlqRetentionMs + DAY_MS;

/**
 * The worker's ledger: in process without Redis, else Redis falling back to process
 * memory while Redis is unavailable (`cio_bridge_worker_ledger_fallback`, readiness
 * `transactionalLedger: degraded`). `ledgerRedis` is undefined without Redis.
 */
export function transactionalLedger(options: {
  redis?: Redis;
  prefix: string;
  ttlMs: number;
  timeoutMs: number;
  logger: Logger;
  metrics: Pick<WorkerMetrics, 'ledgerFallback'>;
}): { ledger: EffectLedger; ledgerRedis?: OptionalRedis } {
  if (!options.redis) return { ledger: new MemoryLedger(options.ttlMs) };
  const redisLedger = new RedisLedger(options.redis, options.prefix, options.ttlMs);
  const ledgerRedis: OptionalRedis = new OptionalRedis({
    redis: options.redis,
    role: 'the transactional send ledger',
    logger: options.logger,
    gauge: options.metrics.ledgerFallback,
    timeoutMs: options.timeoutMs,
    beforeReturning: (redis) => ledger.writeBack(redis),
  });
  const ledger = new FallbackLedger(ledgerRedis, redisLedger, options.ttlMs);
  return { ledger, ledgerRedis };
}
