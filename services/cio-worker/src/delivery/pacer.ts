import { setTimeout as delay } from 'node:timers/promises';
import { BurstGuard, type RequestBudget } from './rate-limit';

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined);

export interface PacerOptions {
  budget: RequestBudget;
  maxBatchOperations: number;
  /** how long a batch may wait to fill up where the budget is loose (default 20 ms) */
  lingerMs?: number;
  /** aborts every wait (the engine stops) */
  signal: AbortSignal;
  now: () => number;
}

/** What the pacer needs to know about the ready operations. */
export interface ReadyState {
  requestsInFlight: number;
  /** operations waiting to be sent alone */
  singles: number;
  /** operations waiting to go in a batch */
  batchable: number;
  /** when the oldest batchable one became ready */
  oldestReadyAt?: number;
}

/**
 * When the next request leaves and how many operations it takes, next to the request
 * budget: slots of the budget, the burst guard, linger where slots are plentiful but
 * operations come faster than them, and batch sizing from the recent rate at which
 * operations become ready.
 */
export class Pacer {
  private readonly burst = new BurstGuard();
  /** operations becoming ready: count since `since`, and the recent rate per second */
  private readonly arrivals = { count: 0, since: 0, rate: 0 };

  constructor(private readonly options: PacerOptions) {}

  private get lingerMs(): number {
    return this.options.lingerMs ?? 20;
  }

  /** An operation became ready to send. */
  noteReady(): void {
    // the first window starts with the first operation, not at the clock's zero
    if (this.arrivals.since === 0) this.arrivals.since = this.options.now();
    this.arrivals.count++;
  }

  /**
   * How much longer to let a batch fill while other requests are in flight (0: send now).
   * Only where slots are plentiful and operations come faster than the budget's slots:
   * slower than that, each can have a request of its own, and waiting for others to
   * join it only adds latency without saving a slot the budget needs.
   */
  lingerFor(ready: ReadyState): number {
    if (ready.requestsInFlight === 0 || ready.singles > 0) return 0;
    const perSecond = this.options.budget.perSecond();
    if (!this.looseBudget(perSecond)) return 0;
    if (this.recentRate() <= perSecond) return 0;
    if (ready.batchable >= this.options.maxBatchOperations / 2) return 0;
    const now = this.options.now();
    return Math.max(0, (ready.oldestReadyAt ?? now) + this.lingerMs - now);
  }

  /**
   * Waits for a request slot of the budget. A slot reserved before a 429 paused the
   * budget is given up for one after the pause; a slot due while this instance already
   * sent its second's worth (the event loop stalled and slots bunched up) waits a little.
   */
  async awaitSlot(): Promise<void> {
    const { budget, signal, now } = this.options;
    for (let attempt = 0; attempt < 4 && !signal.aborted; attempt++) {
      const wait = await budget.reserve();
      if (wait > 0) await sleep(wait, signal);
      if (budget.pausedUntil() > now()) continue;
      const hold = this.burst.delay(now(), budget.perSecond());
      if (hold > 0) await sleep(hold, signal);
      break;
    }
    this.burst.record(now());
  }

  /**
   * How many operations this request takes. Where the budget is loose, as many as fit.
   * Where it is tight, the operations expected to become ready per slot (their recent
   * rate ÷ the budget's requests per second, plus a quarter): the budget is spread over
   * every slot, which keeps each operation's wait short, instead of a few full requests
   * and idle slots between them. A burst (a request's answer readies the next operation
   * of each of its people at once) is spread over about eight slots; when operations
   * keep coming faster, the rate follows and requests fill up to the maximum.
   */
  batchLimit(batchable: number): number {
    const max = this.options.maxBatchOperations;
    const perSecond = this.options.budget.perSecond();
    if (this.looseBudget(perSecond)) return max;
    const perSlot = Math.ceil((1.25 * this.recentRate()) / perSecond);
    return Math.min(max, Math.max(1, perSlot, Math.ceil(batchable / 8)));
  }

  /** Operations becoming ready per second, recently: a running mean over windows of 250 ms or more. */
  private recentRate(): number {
    const now = this.options.now();
    const elapsed = now - this.arrivals.since;
    if (elapsed >= 250) {
      const rate = (this.arrivals.count * 1000) / elapsed;
      this.arrivals.rate = this.arrivals.rate === 0 ? rate : (this.arrivals.rate + rate) / 2;
      this.arrivals.count = 0;
      this.arrivals.since = now;
    }
    return this.arrivals.rate;
  }

  /** Slots less than a quarter of the linger time apart: plenty of requests to spare. */
  private looseBudget(perSecond: number): boolean {
    return 1000 / perSecond < this.lingerMs / 4;
  }
}
