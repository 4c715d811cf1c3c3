import type { Logger } from '@cio-bridge/logger';
import type { DeliveryError } from '../errors';
import type { ApiHealth } from '../health/api-health';
import type { WorkerMetrics } from '../metrics';
import type { RequestBudget } from './rate-limit';
import type { RetryPolicy } from './retry-policy';
import type { EffectLedger } from './transactional-ledger';
import type { Channel, DeadLetter, Item } from './types';

export interface EngineOptions {
  channel: Channel;
  budget: RequestBudget;
  /** writes a dead letter; resolves once Kafka acknowledged it */
  deadLetter: (letter: DeadLetter) => Promise<void>;
  retry: RetryPolicy;
  metrics: WorkerMetrics;
  logger: Logger;
  concurrency: number;
  maxBatchOperations: number;
  maxBatchBytes: number;
  authProbeMinMs: number;
  authProbeMaxMs: number;
  defaultRetryAfterMs: number;
  /**
   * With a loose budget (slots less than a quarter of this apart, above 200 requests/s
   * by default), requests in flight and operations coming faster than the budget's
   * slots, how long a batch may wait to fill up (to half of `maxBatchOperations`)
   * before it goes anyway: fewer, fuller requests where slots are plentiful. Operations
   * coming slower than the slots go at once; with a tighter budget every slot is used.
   * Default 20 ms.
   */
  lingerMs?: number;
  /**
   * the API's configuration faults (credentials, endpoint, dead letters): the engine
   * reports what it sees and probes while one holds; the faults' events go to the subscribers
   */
  health: ApiHealth;
  /** a request carrying `items` leaves: the request runs inside what it returns (request-spans.ts) */
  onRequest?: (items: Item[], endpoint: string) => RequestTrace;
  /** an item was delivered or dead-lettered (receipts.ts) */
  onSettled?: (item: Item, settlement: Settlement) => void;
  /**
   * Endpoint faults: a permanent failure is held, not dead-lettered, until the verdict is
   * in. Another request succeeding makes it the message's fault (dead-lettered); the same
   * status for operations of `endpointFaultPeople` different people with no success in
   * between makes it the endpoint's (a configuration fault, nothing dead-lettered); after
   * `endpointVerdictMs` without either it is the message's.
   */
  endpointFaultPeople?: number;
  endpointVerdictMs?: number;
  /**
   * Effect-once sends (the App API has no idempotency key): checked before each send,
   * written after each success, keyed by the operation id.
   */
  ledger?: EffectLedger;
  /** a send that may have reached Customer.io without an answer: try again, or dead-letter it as `ambiguous` */
  ambiguous?: 'retry' | 'dead-letter';
  now?: () => number;
}

/** How an item ended: the HTTP status of the request that settled it (null: no answer). */
export interface Settlement {
  outcome: 'delivered' | 'dead_lettered';
  status: number | null;
  errorClass?: string;
  /** a transactional send's App API `delivery_id` */
  deliveryId?: string;
}

/** What the engine does around one Customer.io request (its `onRequest` hook). */
export interface RequestTrace {
  /** runs `call` (the request, or what follows its failure) with the request's spans active, so log lines written meanwhile carry their ids */
  run<T>(call: () => T): T;
  /** the request ended: without an error it was answered 200, or 207 with `partial` */
  end(error?: DeliveryError, partial?: boolean): void;
}
