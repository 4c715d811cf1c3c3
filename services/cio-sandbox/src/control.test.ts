import { noFaults, parseFaults, SlidingWindowLimiter, shouldFail } from './control';

describe('SlidingWindowLimiter', () => {
  it('admits rps requests in any 1 s window and says when the next one fits', () => {
    const limiter = new SlidingWindowLimiter(3);
    expect([0, 100, 200].map((t) => limiter.take(t))).toEqual([0, 0, 0]);
    expect(limiter.take(300)).toBe(700); // the request at 0 leaves the window at 1000
    expect(limiter.take(999)).toBe(1);
    expect(limiter.take(1000)).toBe(0);
    expect(limiter.take(1050)).toBe(50); // now the one at 100 is the oldest
    expect(limiter.take(1100)).toBe(0);
    expect(limiter.take(1200)).toBe(0);
    expect(limiter.take(1201)).toBe(799);
  });

  it('never admits more than rps in a window under a steady stream', () => {
    const limiter = new SlidingWindowLimiter(10);
    const admitted: number[] = [];
    for (let t = 0; t < 5000; t += 7) if (limiter.take(t) === 0) admitted.push(t);
    for (const start of admitted) {
      expect(admitted.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(10);
    }
    expect(admitted.length).toBe(50);
  });
});

describe('faults', () => {
  it('fails by rate with the random source', () => {
    const faults = parseFaults({ status: 500, rate: 0.25 }, 0);
    expect(shouldFail(faults, 0, () => 0.2)).toBe(true);
    expect(shouldFail(faults, 0, () => 0.3)).toBe(false);
    expect(shouldFail(noFaults(), 0, () => 0)).toBe(false);
  });

  it('fails everything inside an outage window only, with 503 by default', () => {
    const faults = parseFaults({ outageMs: 1000 }, 5000);
    expect(faults.status).toBe(503);
    expect(shouldFail(faults, 5999, () => 1)).toBe(true);
    expect(shouldFail(faults, 6000, () => 0)).toBe(false);
  });

  it('latency alone fails nothing', () => {
    const faults = parseFaults({ latencyMs: 50 }, 0);
    expect(faults).toMatchObject({ latencyMs: 50, failing: false });
    expect(shouldFail(faults, 0, () => 0)).toBe(false);
  });
});
