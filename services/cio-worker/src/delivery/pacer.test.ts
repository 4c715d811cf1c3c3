import { Pacer } from './pacer';
import type { RequestBudget } from './rate-limit';

/** A budget with `perSecond` slots and no waits; the pacer only reads its rate here. */
const budgetOf = (perSecond: number): RequestBudget => ({
  reserve: async () => 0,
  throttled: async () => {},
  currentRps: () => perSecond,
  pausedUntil: () => 0,
  perSecond: () => perSecond,
});

/** A pacer on a clock of the test's own; `arrive` readies operations at `perSecond` for `ms`. */
function pacerAt(budgetPerSecond: number) {
  let now = 1_000_000;
  const pacer = new Pacer({
    budget: budgetOf(budgetPerSecond),
    maxBatchOperations: 1_000,
    signal: new AbortController().signal,
    now: () => now,
  });
  const arrive = (perSecond: number, ms: number) => {
    const gap = 1000 / perSecond;
    for (let t = 0; t < ms; t += gap) {
      now += gap;
      pacer.noteReady();
      // the engine asks for its batch limit and linger as operations come
      pacer.batchLimit(1);
      pacer.lingerFor({ requestsInFlight: 1, singles: 0, batchable: 1, oldestReadyAt: now });
    }
  };
  const lingerNow = () =>
    pacer.lingerFor({ requestsInFlight: 3, singles: 0, batchable: 1, oldestReadyAt: now });
  return { arrive, lingerNow };
}

describe('Pacer linger (loose budget: the documented 1000 requests/s)', () => {
  it('sends at once while operations come slower than the budget has slots for them one by one', () => {
    const { arrive, lingerNow } = pacerAt(960);
    arrive(50, 2_000);
    // a batch would not fill: waiting only adds latency
    expect(lingerNow()).toBe(0);
    arrive(600, 2_000);
    expect(lingerNow()).toBe(0);
  });

  it('lets a batch fill while operations come faster than the budget’s slots', () => {
    const { arrive, lingerNow } = pacerAt(960);
    arrive(5_000, 2_000);
    expect(lingerNow()).toBeGreaterThan(0);
  });

  it('never lingers on a tight budget (every slot is used)', () => {
    const { arrive, lingerNow } = pacerAt(96);
    arrive(5_000, 2_000);
    expect(lingerNow()).toBe(0);
  });
});
