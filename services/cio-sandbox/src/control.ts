/**
 * What the admin API changes at run time: credentials, the requests-per-second
 * limit and injected faults. Each setter validates its input and names the
 * offending field.
 */
import { HttpError } from '@cio-bridge/http';

export interface Credentials {
  siteId: string;
  apiKey: string;
  appApiKey: string;
  /** the Pipelines API key (Basic auth with an empty password) */
  pipelinesApiKey: string;
}

/** Fault injection settings as set over `PUT /_sandbox/faults`. */
export interface FaultSpec {
  /** the status failed requests answer with (default 500, or 503 for an outage) */
  status?: number;
  /** the share of requests that fail, 0..1 (default 1) */
  rate?: number;
  /** delay added to every Track and App API request */
  latencyMs?: number;
  /** fail every request for this long from now, then stop failing */
  outageMs?: number;
  /** destroy the connection instead of answering */
  resetConnections?: boolean;
  /** a Retry-After header (seconds) on injected failures */
  retryAfterSeconds?: number;
}

export interface ActiveFaults {
  latencyMs: number;
  failing: boolean;
  status: number;
  rate: number;
  resetConnections: boolean;
  retryAfterSeconds: number | null;
  /** epoch ms; failures stop at this time (null: until cleared) */
  outageUntil: number | null;
}

export const noFaults = (): ActiveFaults => ({
  latencyMs: 0,
  failing: false,
  status: 500,
  rate: 1,
  resetConnections: false,
  retryAfterSeconds: null,
  outageUntil: null,
});

const FAULT_KEYS = ['status', 'rate', 'latencyMs', 'outageMs', 'resetConnections', 'retryAfterSeconds'];

function numberField(body: Record<string, unknown>, key: string, min: number, max: number, integer: boolean) {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  )
    throw new HttpError(
      400,
      `${key} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`,
    );
  return value;
}

/** Validates a fault specification and turns it into the active fault settings. */
export function parseFaults(body: unknown, now: number): ActiveFaults {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'the body must be a JSON object');
  const spec = body as Record<string, unknown>;
  const unknown = Object.keys(spec).filter((key) => !FAULT_KEYS.includes(key));
  if (unknown.length > 0)
    throw new HttpError(400, `unknown field ${unknown[0]}; expected some of ${FAULT_KEYS.join(', ')}`);
  const status = numberField(spec, 'status', 400, 599, true);
  const rate = numberField(spec, 'rate', 0, 1, false);
  const latencyMs = numberField(spec, 'latencyMs', 0, 120_000, true);
  const outageMs = numberField(spec, 'outageMs', 0, 3_600_000, true);
  const retryAfterSeconds = numberField(spec, 'retryAfterSeconds', 0, 86_400, true);
  if (spec.resetConnections !== undefined && typeof spec.resetConnections !== 'boolean')
    throw new HttpError(400, 'resetConnections must be true or false');
  const resetConnections = spec.resetConnections === true;
  const failing = status !== undefined || rate !== undefined || outageMs !== undefined || resetConnections;
  return {
    latencyMs: latencyMs ?? 0,
    failing,
    status: status ?? (outageMs !== undefined ? 503 : 500),
    rate: rate ?? 1,
    resetConnections,
    retryAfterSeconds: retryAfterSeconds ?? null,
    outageUntil: outageMs !== undefined ? now + outageMs : null,
  };
}

/** Should this request fail? (an outage fails everything inside its window, otherwise `rate` decides) */
export function shouldFail(faults: ActiveFaults, now: number, random: () => number = Math.random): boolean {
  if (!faults.failing) return false;
  if (faults.outageUntil !== null) return now < faults.outageUntil;
  return faults.rate >= 1 || (faults.rate > 0 && random() < faults.rate);
}

/** The admin view of the fault settings. */
export function describeFaults(faults: ActiveFaults, now: number) {
  return {
    latencyMs: faults.latencyMs,
    failing: faults.failing && (faults.outageUntil === null || now < faults.outageUntil),
    status: faults.status,
    rate: faults.rate,
    resetConnections: faults.resetConnections,
    retryAfterSeconds: faults.retryAfterSeconds,
    outageRemainingMs: faults.outageUntil === null ? null : Math.max(0, faults.outageUntil - now),
  };
}

/**
 * At most `rps` requests in any sliding 1 s window: a ring of the last `rps`
 * admission times; a request is admitted when the oldest of them is at least
 * a window old.
 */
export class SlidingWindowLimiter {
  private readonly stamps: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    readonly rps: number,
    private readonly windowMs = 1000,
  ) {
    this.stamps = new Float64Array(rps);
  }

  /** Admits (0) or returns the milliseconds until a request would be admitted. */
  take(now: number): number {
    if (this.count < this.rps) {
      this.stamps[(this.head + this.count) % this.rps] = now;
      this.count++;
      return 0;
    }
    const oldest = this.stamps[this.head]!;
    const age = now - oldest;
    if (age >= this.windowMs) {
      this.stamps[this.head] = now;
      this.head = (this.head + 1) % this.rps;
      return 0;
    }
    return this.windowMs - age;
  }
}

/** Validates `{ rps: number | null }`. */
export function parseRateLimit(body: unknown): number | null {
  if (typeof body !== 'object' || body === null || !('rps' in body))
    throw new HttpError(400, 'rps is required: a whole number from 1 to 1000000, or null for no limit');
  const rps = (body as { rps: unknown }).rps;
  if (rps === null) return null;
  if (typeof rps !== 'number' || !Number.isInteger(rps) || rps < 1 || rps > 1_000_000)
    throw new HttpError(400, 'rps must be a whole number from 1 to 1000000, or null for no limit');
  return rps;
}

/** Validates `{ siteId?, apiKey?, appApiKey? }` and returns the new credentials. */
export function parseCredentials(body: unknown, current: Credentials): Credentials {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new HttpError(400, 'the body must be a JSON object');
  const next = { ...current };
  const spec = body as Record<string, unknown>;
  const keys = ['siteId', 'apiKey', 'appApiKey', 'pipelinesApiKey'] as const;
  const unknown = Object.keys(spec).filter((key) => !(keys as readonly string[]).includes(key));
  if (unknown.length > 0)
    throw new HttpError(400, `unknown field ${unknown[0]}; expected some of ${keys.join(', ')}`);
  for (const key of keys) {
    const value = spec[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0)
      throw new HttpError(400, `${key} must be a non-empty string`);
    next[key] = value;
  }
  return next;
}
