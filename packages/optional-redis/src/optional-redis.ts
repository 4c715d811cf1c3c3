import type { Logger } from '@cio-bridge/logger';
import type { Redis } from 'ioredis';
import type { Gauge } from 'prom-client';

/** Rejects when `call` has not settled within `ms`: a Redis that hangs must not stall the caller. */
export function bounded<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    call,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface OptionalRedisOptions {
  redis: Redis;
  /** what Redis holds for this service, as the log lines name it (e.g. "the replay store") */
  role: string;
  logger: Logger;
  /** the service's gauge, set to 1 while the in-process fallback is used, 0 otherwise */
  gauge: Pick<Gauge, 'set'>;
  /** longest wait for one Redis call before falling back (default 1000 ms) */
  timeoutMs?: number;
  /** while fallen back, how often Redis is asked again (default 1000 ms) */
  probeEveryMs?: number;
  /**
   * Runs against Redis once it answers again, before any caller uses it: puts right what
   * changed meanwhile (invalidate, write back). Going back waits until it succeeds.
   */
  beforeReturning?: (redis: Redis) => Promise<void>;
  /** longest wait for `beforeReturning` (default 30 s) */
  returnTimeoutMs?: number;
  /** the fallback started (true) or ended (false) */
  onChange?: (usingFallback: boolean) => void;
}

/**
 * Redis as an optional shared store. Every call is bounded in time; the first call that
 * fails or does not answer switches this instance to its in-process fallback at once
 * (one warning line, the gauge at 1, readiness `degraded`, still ready). While fallen
 * back, Redis is probed in the background, never on a caller's path, and used again
 * once it answers and `beforeReturning` succeeded (one warning line, the gauge at 0).
 */
export class OptionalRedis {
  private fallenBack = false;
  private probing: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly gauge: Pick<Gauge, 'set'>;
  private readonly timeoutMs: number;
  private readonly probeEveryMs: number;

  constructor(private readonly options: OptionalRedisOptions) {
    this.timeoutMs = options.timeoutMs ?? 1_000;
    this.probeEveryMs = options.probeEveryMs ?? 1_000;
    this.gauge = options.gauge;
    this.gauge.set(0);
  }

  /** Whether this instance uses its in-process fallback because Redis is unavailable. */
  get usingFallback(): boolean {
    return this.fallenBack;
  }

  /** `primary` against Redis, bounded; `fallback` while Redis is away or when the call fails. */
  async run<T>(primary: (redis: Redis) => Promise<T>, fallback: () => T | Promise<T>): Promise<T> {
    if (this.fallenBack) return fallback();
    try {
      return await bounded(primary(this.options.redis), this.timeoutMs);
    } catch (error) {
      this.fallBack(error);
      return fallback();
    }
  }

  /** A readiness check: `degraded` (and still ready) while the fallback is used. */
  readonly readiness = (): 'degraded' | undefined => (this.fallenBack ? 'degraded' : undefined);

  /** Stops probing (the caller owns and closes the Redis client). */
  close(): void {
    this.closed = true;
    clearTimeout(this.probing);
  }

  private fallBack(error: unknown): void {
    if (this.fallenBack || this.closed) return;
    this.fallenBack = true;
    this.gauge.set(1);
    this.options.logger.warn(
      { reason: (error as Error)?.message ?? String(error) },
      `Redis unavailable for ${this.options.role}: using the in-process fallback`,
    );
    this.options.onChange?.(true);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    this.probing = setTimeout(() => void this.probe(), this.probeEveryMs);
    this.probing.unref();
  }

  private async probe(): Promise<void> {
    const { redis, beforeReturning, returnTimeoutMs = 30_000 } = this.options;
    try {
      await bounded(redis.ping(), this.timeoutMs);
      if (beforeReturning) await bounded(beforeReturning(redis), returnTimeoutMs);
    } catch {
      this.scheduleProbe();
      return;
    }
    if (this.closed) return;
    this.fallenBack = false;
    this.gauge.set(0);
    this.options.logger.warn(`Redis available again for ${this.options.role}: using it`);
    this.options.onChange?.(false);
  }
}
