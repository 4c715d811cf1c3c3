import { createHash } from 'node:crypto';
import type { Logger } from '@cio-bridge/logger';
import Denque from 'denque';
import type { Redis } from 'ioredis';

/**
 * A request budget towards one Customer.io API: `rps` requests per second, evenly
 * spaced (a GCRA schedule with a tolerance of a few slots), so that every instance
 * together stays within the limit Customer.io enforces.
 *
 * When Customer.io answers 429 anyway (another client uses the same workspace, or its
 * limit is lower than configured), every requester pauses for Retry-After and the rate
 * halves (multiplicative decrease, at most once per `cooldown`); afterwards it grows
 * back linearly by `recoveryPerSecond` of the budget each second (additive increase).
 */
export interface RequestBudget {
  /** Reserves the next request slot; resolves with the milliseconds to wait before using it. */
  reserve(): Promise<number>;
  /** Customer.io answered 429: pause everyone for `retryAfterMs`, then continue slower. */
  throttled(retryAfterMs: number): Promise<void>;
  /** The current rate (after back-off), requests per second. */
  currentRps(): number;
  /** Until when (ms) requests are paused after a 429, as far as this instance knows. */
  pausedUntil(): number;
  /** Requests per second aimed at now (the rate times the utilisation share). */
  perSecond(): number;
}

export interface BudgetOptions {
  rps: number;
  /** share of `rps` aimed at, leaving room for timer jitter at the server's window edges */
  utilisation?: number;
  /** the lowest share of `rps` the back-off goes down to */
  minShare?: number;
  /** share of `rps` regained per second after a back-off */
  recoveryPerSecond?: number;
  /**
   * slots a late requester may catch up on (GCRA tolerance): a stalled event loop
   * does not lose the budget's slots for good. The burst this allows after idle time is
   * held to a second's worth by the engine's BurstGuard.
   */
  catchUpSlots?: number;
}

const defaults = { utilisation: 0.96, minShare: 0.05, recoveryPerSecond: 0.05, catchUpSlots: 2 };

/**
 * At most `limit` requests of this instance in any second. The budget spaces requests
 * evenly, but a stalled event loop fires several due slots at once; a server counting
 * requests in a sliding window would see a burst above its limit. This holds back the
 * request that would make one.
 */
export class BurstGuard {
  private readonly sent = new Denque<number>();
  /** milliseconds to wait before a request may go */
  delay(now: number, limit: number): number {
    while ((this.sent.peekFront() ?? now) <= now - 1000) this.sent.shift();
    if (this.sent.length < Math.max(1, Math.floor(limit))) return 0;
    return this.sent.peekFront()! + 1000 - now;
  }
  record(now: number): void {
    this.sent.push(now);
  }
}

/** The budget's state; the same arithmetic runs in-process and (as Lua) in Redis. */
export interface BudgetState {
  /** theoretical arrival time of the next request (ms) */
  tat: number;
  /** no request before this (ms): Retry-After */
  pausedUntil: number;
  /** share of the rate right after the last back-off */
  share: number;
  /** when the share started growing again (the end of the last pause) */
  growingSince: number;
}

export const initialBudgetState = (): BudgetState => ({
  tat: 0,
  pausedUntil: 0,
  share: 1,
  growingSince: Number.NEGATIVE_INFINITY,
});

function shareAt(state: BudgetState, now: number, recoveryPerSecond: number): number {
  if (now <= state.growingSince || !Number.isFinite(state.growingSince)) return state.share;
  return Math.min(1, state.share + (recoveryPerSecond * (now - state.growingSince)) / 1000);
}

/** Reserves a slot: returns the wait in ms and advances the schedule. */
export function reserveSlot(state: BudgetState, now: number, options: BudgetOptions): number {
  const { utilisation, recoveryPerSecond, catchUpSlots } = { ...defaults, ...options };
  const interval = 1000 / (options.rps * utilisation * shareAt(state, now, recoveryPerSecond));
  const start = Math.max(state.tat - catchUpSlots * interval, now, state.pausedUntil);
  state.tat = Math.max(state.tat, start) + interval;
  return start - now;
}

/** Applies a 429: pause, and halve the rate unless it was halved within the last second or pause. */
export function applyThrottle(state: BudgetState, now: number, retryAfterMs: number, options: BudgetOptions) {
  const { minShare, recoveryPerSecond } = { ...defaults, ...options };
  const recentlyHalved = now < state.growingSince + 1000;
  if (!recentlyHalved) state.share = Math.max(minShare, shareAt(state, now, recoveryPerSecond) / 2);
  state.pausedUntil = Math.max(state.pausedUntil, now + retryAfterMs);
  state.growingSince = Math.max(state.growingSince, state.pausedUntil);
}

/** The budget of one worker instance (no REDIS_URL). */
export class LocalBudget implements RequestBudget {
  private readonly state = initialBudgetState();
  constructor(
    private readonly options: BudgetOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async reserve(): Promise<number> {
    return reserveSlot(this.state, this.now(), this.options);
  }

  async throttled(retryAfterMs: number): Promise<void> {
    applyThrottle(this.state, this.now(), retryAfterMs, this.options);
  }

  currentRps(): number {
    return this.options.rps * shareAt(this.state, this.now(), this.options.recoveryPerSecond ?? 0.05);
  }

  pausedUntil(): number {
    return this.state.pausedUntil;
  }

  perSecond(): number {
    return this.currentRps() * (this.options.utilisation ?? defaults.utilisation);
  }
}

// The same arithmetic as reserveSlot/applyThrottle, atomically in Redis with Redis's
// clock, so every instance shares one schedule. Numbers go back as strings: Redis
// would truncate Lua numbers to integers.
const LOAD_STATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local h = redis.call('HMGET', KEYS[1], 'tat', 'paused', 'share', 'growing')
local tat = tonumber(h[1]) or 0
local paused = tonumber(h[2]) or 0
local share = tonumber(h[3]) or 1
local growing = tonumber(h[4]) or 0
local rps = tonumber(ARGV[1])
local utilisation = tonumber(ARGV[2])
local min_share = tonumber(ARGV[3])
local recovery = tonumber(ARGV[4])
local current = share
if now > growing then current = math.min(1, share + recovery * (now - growing) / 1000) end
`;

const RESERVE = `${LOAD_STATE}
local interval = 1000 / (rps * utilisation * current)
local start = math.max(tat - tonumber(ARGV[5]) * interval, now, paused)
local next = math.max(tat, start) + interval
redis.call('HSET', KEYS[1], 'tat', tostring(next))
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(next, paused) - now) + 60000)
return {tostring(start - now), tostring(current)}
`;

const THROTTLE = `${LOAD_STATE}
local retry_after = tonumber(ARGV[6])
if now >= growing + 1000 then share = math.max(min_share, current / 2) end
paused = math.max(paused, now + retry_after)
growing = math.max(growing, paused)
redis.call('HSET', KEYS[1], 'paused', tostring(paused), 'share', tostring(share), 'growing', tostring(growing))
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(tat, paused) - now) + 60000)
return tostring(share)
`;

const scripts = {
  reserve: { source: RESERVE, sha: createHash('sha1').update(RESERVE).digest('hex') },
  throttle: { source: THROTTLE, sha: createHash('sha1').update(THROTTLE).digest('hex') },
};

export interface SharedBudgetOptions {
  /** how long one Redis call may take before this instance falls back (one request timeout at most) */
  redisTimeoutMs?: number;
  /** while fallen back, how often Redis is asked again */
  probeEveryMs?: number;
  /** how often this instance says in Redis that it shares the budget */
  heartbeatEveryMs?: number;
  /** this instance's name among those sharing the budget */
  instanceId?: string;
  /** the shared budget became unavailable (true) or available again (false) */
  onFallback?: (fallback: boolean, instances: number) => void;
  now?: () => number;
}

/**
 * The budget shared by every instance through Redis. If Redis fails or does not answer
 * within `redisTimeoutMs`, this instance falls back at once to its part of the budget:
 * the budget divided by the number of instances last seen sharing it (kept in Redis
 * while Redis answers), so that N instances together still stay within it. It asks
 * Redis again every `probeEveryMs` and goes back to the shared budget when it answers.
 */
export class RedisBudget implements RequestBudget {
  private fallback: LocalBudget;
  private share = 1;
  redisErrors = 0;
  /** instances last seen sharing this budget (this one included) */
  instances = 1;
  private fallenBack = false;
  private nextProbe = 0;
  private nextHeartbeat = 0;
  private readonly shared: Required<Omit<SharedBudgetOptions, 'onFallback'>> &
    Pick<SharedBudgetOptions, 'onFallback'>;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly options: BudgetOptions,
    private readonly logger: Logger,
    shared: SharedBudgetOptions = {},
  ) {
    this.shared = {
      redisTimeoutMs: 1_000,
      probeEveryMs: 1_000,
      heartbeatEveryMs: 1_000,
      instanceId: `${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
      now: Date.now,
      ...shared,
    };
    this.fallback = new LocalBudget(options);
  }

  /** Whether this instance uses its own part of the budget because Redis is unavailable. */
  get usingFallback(): boolean {
    return this.fallenBack;
  }

  private args(): (string | number)[] {
    const o = { ...defaults, ...this.options };
    return [o.rps, o.utilisation, o.minShare, o.recoveryPerSecond, o.catchUpSlots];
  }

  async reserve(): Promise<number> {
    const now = this.shared.now();
    if (this.fallenBack && now < this.nextProbe) return this.fallback.reserve();
    try {
      if (now >= this.nextHeartbeat) await this.heartbeat(now);
      const [wait, share] = (await this.script(scripts.reserve, this.args())) as [string, string];
      this.share = Number(share);
      this.recovered();
      return Math.max(0, Number(wait));
    } catch (error) {
      this.failed(error);
      return this.fallback.reserve();
    }
  }

  async throttled(retryAfterMs: number): Promise<void> {
    await this.fallback.throttled(retryAfterMs);
    if (this.fallenBack) return;
    try {
      const share = (await this.script(scripts.throttle, [...this.args(), retryAfterMs])) as string;
      this.share = Number(share);
    } catch (error) {
      this.failed(error);
    }
  }

  currentRps(): number {
    return this.fallenBack ? this.fallback.currentRps() : this.options.rps * this.share;
  }

  pausedUntil(): number {
    return this.fallback.pausedUntil();
  }

  perSecond(): number {
    return this.fallenBack
      ? this.fallback.perSecond()
      : this.currentRps() * (this.options.utilisation ?? defaults.utilisation);
  }

  /** Says in Redis that this instance shares the budget, and counts who else did lately. */
  private async heartbeat(now: number): Promise<void> {
    const members = `${this.key}:instances`;
    const stale = now - Math.max(15_000, 3 * this.shared.heartbeatEveryMs);
    const result = await this.bounded(
      this.redis
        .multi()
        .zadd(members, now, this.shared.instanceId)
        .zremrangebyscore(members, '-inf', stale)
        .zcard(members)
        .pexpire(members, Math.max(60_000, 6 * this.shared.heartbeatEveryMs))
        .exec(),
    );
    const count = Number(result?.[2]?.[1]);
    if (Number.isInteger(count) && count > 0) this.instances = count;
    this.nextHeartbeat = now + this.shared.heartbeatEveryMs;
  }

  /** A Redis call, or a rejection after `redisTimeoutMs` (ioredis queues commands while reconnecting). */
  private bounded<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      call,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Redis did not answer within ${this.shared.redisTimeoutMs} ms`)),
          this.shared.redisTimeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** EVALSHA, loading the script on NOSCRIPT (after a Redis restart, for example). */
  private async script(
    { source, sha }: { source: string; sha: string },
    args: (string | number)[],
  ): Promise<unknown> {
    try {
      return await this.bounded(this.redis.evalsha(sha, 1, this.key, ...args));
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return this.bounded(this.redis.eval(source, 1, this.key, ...args));
    }
  }

  private failed(error: unknown): void {
    this.redisErrors++;
    this.nextProbe = this.shared.now() + this.shared.probeEveryMs;
    if (this.fallenBack) return;
    this.fallenBack = true;
    const rps = Math.max(1, Math.floor(this.options.rps / this.instances));
    this.fallback = new LocalBudget({ ...this.options, rps });
    this.logger.warn(
      { reason: (error as Error)?.message, instances: this.instances, rps },
      'shared rate limit unavailable in Redis: using this instance’s part of the budget (budget ÷ instances last seen)',
    );
    this.shared.onFallback?.(true, this.instances);
  }

  private recovered(): void {
    if (!this.fallenBack) return;
    this.fallenBack = false;
    this.logger.warn({ instances: this.instances }, 'shared rate limit in Redis available again: using it');
    this.shared.onFallback?.(false, this.instances);
  }
}
