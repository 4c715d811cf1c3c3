import type { DeliveryError } from '../errors';

/** The two Customer.io APIs the worker delivers to (Pipelines delivers as the Track topic's `track`). */
export type Api = 'track' | 'app';

/** Why dead letters of an API cannot be written: too large for the topic, or not authorized. */
export type DeadLetterBlock = 'too_large' | 'unauthorized';

/**
 * A configuration fault starting (`raised`) or ending: something that holds a whole API
 * rather than one message. Delivery and the start-up check raise them; consumer pausing
 * and health (readiness, status) subscribe.
 */
export type FaultEvent =
  /** Customer.io rejects the credentials (401/403) */
  | { kind: 'credentials'; api: Api; raised: true; error: DeliveryError }
  /** the endpoint or account refuses every operation (404/405, one status for everyone) */
  | { kind: 'endpoint'; api: Api; raised: true; error: DeliveryError }
  /** dead letters cannot be written */
  | { kind: 'dead_letter'; api: Api; raised: true; reason: DeadLetterBlock }
  /** the start-up account check refuses the Track API credentials or endpoint */
  | { kind: 'preflight'; api: Api; raised: true; fault: 'credentials' | 'endpoint'; error: DeliveryError }
  | { kind: FaultKind; api: Api; raised: false };

export type FaultKind = 'credentials' | 'endpoint' | 'dead_letter' | 'preflight';

/** One channel for fault events: every subscriber sees every event, in order. */
export class Faults {
  private readonly listeners: ((event: FaultEvent) => void)[] = [];

  subscribe(listener: (event: FaultEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(event: FaultEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
