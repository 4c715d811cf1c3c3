import type { DeliveryError } from '../errors';
import { type RetryPolicy, retriesExhausted, retryDelay } from './retry-policy';

/** What becomes of an operation whose request failed. */
export type Outcome =
  /** its partition was taken away: forget it (the new owner delivers it) */
  | { kind: 'drop' }
  /** not the message's fault (credentials, an endpoint fault): ready again, no attempt counted */
  | { kind: 'requeue' }
  /** a batch was refused as a whole: send each operation alone for its own verdict */
  | { kind: 'split' }
  /** refused alone, permanently: hold it until it is clear whether the message or the endpoint is at fault */
  | { kind: 'suspect' }
  | { kind: 'dead_letter' }
  | { kind: 'retry'; delayMs: number };

export interface FailedAttempt {
  error: DeliveryError;
  /** the item's partition was revoked */
  revoked: boolean;
  /** it was sent alone (or the channel cannot batch) */
  alone: boolean;
  /** attempts including this one */
  attempts: number;
  firstFailedAt: number;
  now: number;
  /** the status of the endpoint fault currently declared, if any */
  endpointFaultStatus?: number;
  policy: RetryPolicy;
  random?: () => number;
}

/**
 * The worker's outcome policy in one place, without side effects: 401/403 and the
 * status of a declared endpoint fault are configuration faults; a batch refused as a
 * whole is split; a permanent refusal of one operation awaits the verdict (validation
 * failures and ambiguous sends go to the dead-letter topic at once); transient
 * failures are retried with back-off until the attempts or the time run out.
 */
export function decideOutcome(failed: FailedAttempt): Outcome {
  const { error } = failed;
  if (failed.revoked) return { kind: 'drop' };
  if (error.authentication) return { kind: 'requeue' };
  if (!error.retriable && !failed.alone) return { kind: 'split' };
  if (
    !error.retriable &&
    failed.endpointFaultStatus !== undefined &&
    failed.endpointFaultStatus === error.status
  )
    return { kind: 'requeue' };
  if (!error.retriable) {
    return error.errorClass === 'validation' || error.errorClass === 'ambiguous'
      ? { kind: 'dead_letter' }
      : { kind: 'suspect' };
  }
  if (retriesExhausted(failed.attempts, failed.firstFailedAt, failed.now, failed.policy))
    return { kind: 'dead_letter' };
  return {
    kind: 'retry',
    delayMs: retryDelay(failed.attempts, failed.policy, error.retryAfterMs, failed.random),
  };
}
