export interface RetryPolicy {
  maxAttempts: number;
  maxRetryMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/**
 * The delay before attempt `attempts + 1`: exponential from `retryBaseMs`, capped at
 * `retryMaxMs`, with "equal jitter" (between half and all of it) so that operations
 * failing together do not come back together. A Retry-After from Customer.io wins
 * when it asks for longer.
 */
export function retryDelay(
  attempts: number,
  policy: Pick<RetryPolicy, 'retryBaseMs' | 'retryMaxMs'>,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  const jittered = exponential / 2 + (random() * exponential) / 2;
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

/** Whether an operation that failed `attempts` times, first at `firstFailedAt`, has used up its retries. */
export function retriesExhausted(
  attempts: number,
  firstFailedAt: number,
  now: number,
  policy: Pick<RetryPolicy, 'maxAttempts' | 'maxRetryMs'>,
): boolean {
  return attempts >= policy.maxAttempts || now - firstFailedAt >= policy.maxRetryMs;
}

/**
 * Pauses between the attempts of a loop that waits for something outside to recover
 * (credentials, an endpoint, the dead-letter topic, the account check): from `minMs`,
 * doubling, at most `maxMs`; `reset` once it worked.
 */
export class GrowingPause {
  private current: number;
  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {
    this.current = minMs;
  }

  /** The pause to wait now; the one after it is twice as long (up to `maxMs`). */
  next(): number {
    const pause = this.current;
    this.current = Math.min(this.maxMs, this.current * 2);
    return pause;
  }

  reset(): void {
    this.current = this.minMs;
  }
}
