import { type Clock, RateLimiter } from './rate-limiter';

/** Time stands still until someone sleeps; every sleep is recorded. */
class FakeClock implements Clock {
  time = 0;
  readonly sleeps: number[] = [];
  now = () => this.time;
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    this.time += ms;
  };
}

describe('RateLimiter', () => {
  it('lets a full bucket through at once, then one token per 1/rate seconds', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(10, clock);
    expect(limiter.burst).toBe(1);
    await limiter.take();
    expect(clock.time).toBe(0);
    for (let i = 0; i < 9; i++) await limiter.take();
    expect(clock.time).toBe(900);
    expect(clock.sleeps).toEqual(Array(9).fill(100));
  });

  it('takes more than the burst in parts, never faster than the rate', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(1_000, clock);
    expect(limiter.burst).toBe(100);
    await limiter.take(1_000);
    // 100 saved up, the other 900 at 1,000 a second
    expect(clock.time).toBe(900);
    expect(Math.max(...clock.sleeps)).toBe(100);
  });

  it('saves up no more than the burst while idle', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(50, clock);
    await limiter.take(limiter.burst);
    clock.time += 60_000;
    await limiter.take(limiter.burst);
    const before = clock.time;
    await limiter.take(50);
    expect(clock.time - before).toBe(1_000);
  });

  it('keeps any interval within burst + rate * seconds', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter(7, clock, 3);
    const takenAt: number[] = [];
    for (let i = 0; i < 40; i++) {
      await limiter.take();
      takenAt.push(clock.time);
    }
    for (let i = 0; i < takenAt.length; i++) {
      for (let j = i; j < takenAt.length; j++) {
        const seconds = (takenAt[j]! - takenAt[i]!) / 1000;
        expect(j - i + 1).toBeLessThanOrEqual(3 + Math.ceil(7 * seconds) + 1);
      }
    }
    // 40 tokens: 3 at once, 37 at 7 a second
    expect(clock.time).toBeGreaterThanOrEqual(Math.floor((37 / 7) * 1000));
    expect(clock.time).toBeLessThanOrEqual(Math.ceil((37 / 7) * 1000) + 40);
  });

  it('rejects a rate that is not above zero', () => {
    expect(() => new RateLimiter(0)).toThrow('ratePerSecond must be above 0');
    expect(() => new RateLimiter(Number.NaN)).toThrow('ratePerSecond must be above 0');
  });
});
