import { applyThrottle, BurstGuard, initialBudgetState, LocalBudget, reserveSlot } from './rate-limit';

const options = { rps: 100, utilisation: 1, minShare: 0.1, recoveryPerSecond: 0.1, catchUpSlots: 0 };

describe('request budget arithmetic', () => {
  it('spaces requests evenly at the rate, without a burst', () => {
    const state = initialBudgetState();
    const waits = Array.from({ length: 5 }, () => reserveSlot(state, 1_000, options));
    expect(waits).toEqual([0, 10, 20, 30, 40]);
  });

  it('aims below the limit by the utilisation share', () => {
    const state = initialBudgetState();
    reserveSlot(state, 0, { rps: 100, utilisation: 0.5, catchUpSlots: 0 });
    expect(reserveSlot(state, 0, { rps: 100, utilisation: 0.5, catchUpSlots: 0 })).toBe(20);
  });

  it('lets a late requester catch up on a few slots, but saves up nothing beyond them', () => {
    const state = initialBudgetState();
    const catchingUp = { ...options, catchUpSlots: 3 };
    for (let i = 0; i < 10; i++) reserveSlot(state, 0, catchingUp);
    // Ten slots taken at t=0 reach to 100 ms; at 70 ms the requester is three behind: no wait.
    expect(reserveSlot(state, 70, catchingUp)).toBe(0);
    // Now four behind the schedule would be needed: it waits for its slot.
    expect(reserveSlot(state, 70, catchingUp)).toBe(10);
    // After a long idle time at most the tolerance is available at once.
    const idle = initialBudgetState();
    const waits = Array.from({ length: 6 }, () => reserveSlot(idle, 10_000, catchingUp));
    expect(waits).toEqual([0, 0, 0, 0, 10, 20]);
  });

  it('does not save up unused time for a burst later', () => {
    const state = initialBudgetState();
    reserveSlot(state, 0, options);
    expect(reserveSlot(state, 5_000, options)).toBe(0);
    expect(reserveSlot(state, 5_000, options)).toBe(10);
  });

  it('pauses everyone for Retry-After and halves the rate after a 429', () => {
    const state = initialBudgetState();
    applyThrottle(state, 1_000, 2_000, options);
    expect(reserveSlot(state, 1_000, options)).toBe(2_000);
    // Right after the pause the rate is half: 50/s, 20 ms apart.
    expect(reserveSlot(state, 1_000, options)).toBe(2_020);
  });

  it('halves once for a burst of 429s, not once per answer', () => {
    const state = initialBudgetState();
    applyThrottle(state, 0, 1_000, options);
    applyThrottle(state, 10, 1_000, options);
    applyThrottle(state, 20, 1_000, options);
    expect(state.share).toBe(0.5);
  });

  it('never drops below minShare', () => {
    const state = initialBudgetState();
    const noRecovery = { ...options, recoveryPerSecond: 0 };
    for (let i = 0; i < 10; i++) applyThrottle(state, i * 2_000, 0, noRecovery);
    expect(state.share).toBeCloseTo(0.1);
  });

  it('recovers linearly once the pause is over', () => {
    const state = initialBudgetState();
    applyThrottle(state, 0, 1_000, options);
    // Until the pause ends at 1000 ms the share stays at 0.5; 0.1 a second after that.
    reserveSlot(state, 1_000, options);
    expect(reserveSlot(state, 6_000, options)).toBe(0);
    // 5 s after the pause: 0.5 + 0.5 = 1, back at the full 100/s.
    expect(reserveSlot(state, 6_000, options)).toBeCloseTo(10, 5);
    const later = initialBudgetState();
    applyThrottle(later, 0, 1_000, options);
    reserveSlot(later, 3_000, options);
    // 2 s after the pause: 0.7 of 100/s.
    expect(reserveSlot(later, 3_000, options)).toBeCloseTo(1000 / 70, 5);
  });
});

describe('LocalBudget', () => {
  it('reports the current rate after a back-off', async () => {
    let now = 0;
    const budget = new LocalBudget(options, () => now);
    await budget.throttled(1_000);
    expect(budget.currentRps()).toBe(50);
    now = 3_000;
    expect(budget.currentRps()).toBeCloseTo(70);
  });
});

describe('BurstGuard', () => {
  it('holds back the request that would make more than a second’s worth within a second', () => {
    const guard = new BurstGuard();
    for (const at of [0, 10, 20]) {
      expect(guard.delay(at, 3)).toBe(0);
      guard.record(at);
    }
    // Three in the last second: the fourth waits until the first is a second old.
    expect(guard.delay(30, 3)).toBe(970);
    expect(guard.delay(1_000, 3)).toBe(0);
    guard.record(1_000);
    expect(guard.delay(1_005, 3)).toBe(5);
  });

  it('always lets one request through, however low the rate', () => {
    const guard = new BurstGuard();
    expect(guard.delay(0, 0.2)).toBe(0);
  });
});
