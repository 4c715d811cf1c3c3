import type { Redis } from 'ioredis';

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

  async sent(id: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:${id}`)) === 1;
  }

  async record(id: string): Promise<void> {
    await this.redis.set(`${this.prefix}:${id}`, '1', 'PX', this.ttlMs);
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Longer than an operation can be retried (`maxRetryMs`) plus how long it can wait in
 * the dead-letter topic for a replay (its retention), plus a day.
 */
export const ledgerTtlMs = (maxRetryMs: number, dlqRetentionMs: number): number =>
  maxRetryMs + dlqRetentionMs + DAY_MS;
