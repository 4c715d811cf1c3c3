import { setTimeout } from 'node:timers/promises';

/** Time as the rate limiter sees it; tests pass a fake one. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => setTimeout(ms),
};

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up
 * (default a tenth of a second's worth, at least one), starting full. `take(n)`
 * resolves once `n` tokens were taken, so over any interval of t seconds at most
 * `burst + rate * t` are taken.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  readonly burst: number;

  constructor(
    readonly ratePerSecond: number,
    private readonly clock: Clock = systemClock,
    burst?: number,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be above 0');
    this.burst = Math.max(1, burst ?? Math.ceil(ratePerSecond / 10));
    this.tokens = this.burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    this.last = now;
  }

  /** Takes `n` tokens, waiting as long as needed; `n` may exceed the burst (taken in parts). */
  async take(n = 1): Promise<void> {
    let remaining = n;
    while (remaining > 0) {
      this.refill();
      const part = Math.min(remaining, this.burst);
      if (this.tokens >= part) {
        this.tokens -= part;
        remaining -= part;
        continue;
      }
      const waitMs = Math.ceil(((part - this.tokens) * 1000) / this.ratePerSecond);
      await this.clock.sleep(waitMs);
    }
  }

  /** The largest number of messages worth taking at once (what the bucket holds). */
  get chunk(): number {
    return this.burst;
  }
}
