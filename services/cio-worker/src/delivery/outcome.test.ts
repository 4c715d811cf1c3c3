import { DeliveryError, ValidationError } from '../errors';
import { decideOutcome, type FailedAttempt } from './outcome';

const policy = { maxAttempts: 5, maxRetryMs: 60_000, retryBaseMs: 100, retryMaxMs: 1_000 };
const base: Omit<FailedAttempt, 'error'> = {
  revoked: false,
  alone: true,
  attempts: 1,
  firstFailedAt: 0,
  now: 0,
  policy,
  random: () => 1,
};
const http = (status: number, retriable: boolean, retryAfterMs?: number) =>
  new DeliveryError(
    status >= 500 ? 'http_5xx' : 'http_4xx',
    `status ${status}`,
    retriable,
    status,
    retryAfterMs,
  );

describe('decideOutcome', () => {
  it.each<[string, Partial<FailedAttempt> & Pick<FailedAttempt, 'error'>, ReturnType<typeof decideOutcome>]>([
    ['a revoked partition, whatever the error', { error: http(500, true), revoked: true }, { kind: 'drop' }],
    ['401: a configuration fault', { error: http(401, false) }, { kind: 'requeue' }],
    ['403 inside a batch', { error: http(403, false), alone: false }, { kind: 'requeue' }],
    ['400 for a whole batch: split it', { error: http(400, false), alone: false }, { kind: 'split' }],
    ['400 alone: await the verdict', { error: http(400, false) }, { kind: 'suspect' }],
    [
      '404 alone during a 404 endpoint fault',
      { error: http(404, false), endpointFaultStatus: 404 },
      { kind: 'requeue' },
    ],
    [
      '400 alone during a 404 endpoint fault',
      { error: http(400, false), endpointFaultStatus: 404 },
      { kind: 'suspect' },
    ],
    ['a validation error', { error: new ValidationError('too large') }, { kind: 'dead_letter' }],
    [
      'an ambiguous send',
      { error: new DeliveryError('ambiguous', 'may have been sent', false) },
      { kind: 'dead_letter' },
    ],
    ['503, first attempt', { error: http(503, true) }, { kind: 'retry', delayMs: 100 }],
    [
      '503, third attempt (doubling)',
      { error: http(503, true), attempts: 3 },
      { kind: 'retry', delayMs: 400 },
    ],
    [
      '503, capped',
      { error: http(503, true), attempts: 4, policy: { ...policy, retryMaxMs: 300 } },
      { kind: 'retry', delayMs: 300 },
    ],
    ['429 with a longer Retry-After', { error: http(429, true, 2_000) }, { kind: 'retry', delayMs: 2_000 }],
    ['503 after the last attempt', { error: http(503, true), attempts: 5 }, { kind: 'dead_letter' }],
    [
      '503 past the retry time',
      { error: http(503, true), firstFailedAt: 0, now: 60_000 },
      { kind: 'dead_letter' },
    ],
  ])('%s', (_name, failed, expected) => {
    expect(decideOutcome({ ...base, ...failed })).toEqual(expected);
  });
});
