import { GrowingPause, retriesExhausted, retryDelay } from './retry-policy';

const policy = { retryBaseMs: 100, retryMaxMs: 1_000, maxAttempts: 5, maxRetryMs: 60_000 };

describe('retryDelay', () => {
  it('doubles with each attempt, between half and all of the exponential delay', () => {
    expect(retryDelay(1, policy, undefined, () => 0)).toBe(50);
    expect(retryDelay(1, policy, undefined, () => 1)).toBe(100);
    expect(retryDelay(3, policy, undefined, () => 0)).toBe(200);
    expect(retryDelay(3, policy, undefined, () => 1)).toBe(400);
  });

  it('is capped at retryMaxMs', () => {
    expect(retryDelay(30, policy, undefined, () => 1)).toBe(1_000);
    expect(retryDelay(30, policy, undefined, () => 0)).toBe(500);
  });

  it('waits at least as long as Retry-After asks', () => {
    expect(retryDelay(1, policy, 5_000, () => 0.5)).toBe(5_000);
    expect(retryDelay(4, policy, 10, () => 1)).toBe(800);
  });
});

describe('retriesExhausted', () => {
  it('stops after maxAttempts', () => {
    expect(retriesExhausted(4, 0, 10, policy)).toBe(false);
    expect(retriesExhausted(5, 0, 10, policy)).toBe(true);
  });

  it('stops after maxRetryMs since the first failure', () => {
    expect(retriesExhausted(1, 1_000, 60_999, policy)).toBe(false);
    expect(retriesExhausted(1, 1_000, 61_000, policy)).toBe(true);
  });
});

describe('GrowingPause', () => {
  it('doubles from the minimum up to the maximum, and starts again after a reset', () => {
    const pause = new GrowingPause(100, 500);
    expect([pause.next(), pause.next(), pause.next(), pause.next(), pause.next()]).toEqual([
      100, 200, 400, 500, 500,
    ]);
    pause.reset();
    expect(pause.next()).toBe(100);
  });
});
