// The worker's delivery vocabulary: what a message becomes on its way to Customer.io.
import type { IHeaders } from 'kafkajs';
import type { DeliveryError, ValidationError } from '../errors';

/** Where a message came from, kept byte for byte for the dead-letter topic. */
export interface Envelope {
  topic: string;
  partition: number;
  offset: string;
  /** the Kafka message timestamp (ms since the epoch, as kafkajs gives it) */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/** A decoded operation, ready to send. */
export interface Operation {
  /** the ordering key: one person's operations go out one at a time, in order */
  person: string;
  /**
   * the request JSON for this operation (one v2 batch item, or one send), as UTF-8
   * bytes: outside the JavaScript heap while it waits, and a batch body is their concatenation
   */
  body: Buffer;
  bytes: number;
  action: string;
  /** event name for metrics ('' when not an event) */
  event: string;
  id?: string;
}

export type ItemState = 'queued' | 'ready' | 'sending' | 'backoff' | 'suspect' | 'dead_lettering' | 'settled';

/** Where an item's outcome goes: its partition's offset tracker. */
export interface ItemSource {
  /** the partition was taken away by a rebalance: the new owner delivers its messages */
  readonly revoked: boolean;
  /** the message at `offset` was delivered or dead-lettered */
  finish(offset: string): void;
}

/** One message on its way through the worker. */
export interface Item {
  envelope: Envelope;
  /** absent when the message is not a valid operation */
  op?: Operation;
  invalid?: ValidationError;
  attempts: number;
  firstFailedAt?: number;
  lastFailedAt?: number;
  /** send alone (Track: /api/v2/entity) to get this operation's own verdict */
  single: boolean;
  state: ItemState;
  /** when it last became ready to send */
  readyAt?: number;
  timer?: NodeJS.Timeout;
  source: ItemSource;
  /** the person's next item (PersonQueues) */
  next?: Item;
  /** on a person's head: the last item of the person's queue (PersonQueues) */
  last?: Item;
}

/** Failure details carried into the dead-letter headers. */
export interface DeadLetter {
  item: Item;
  error: DeliveryError;
  attempts: number;
  firstFailedAt: number;
  lastFailedAt: number;
  /** the broker refused the letter as too large: write it with the shortest failure headers */
  shortest?: boolean;
}

/** What Customer.io answered to one accepted send, as far as a caller is told. */
export interface SendAnswer {
  /** the App API's id of a transactional message */
  deliveryId?: string;
}

/** One Customer.io API, as the engine sees it. */
export interface Channel {
  api: 'track' | 'app';
  /**
   * Sends several operations in one request (Track: /api/v2/batch). Resolves with the
   * failures of single items (207), by index; rejects with a DeliveryError when the
   * request as a whole failed. Absent: every item goes alone.
   */
  sendBatch?: (bodies: Buffer[]) => Promise<Map<number, DeliveryError>>;
  /**
   * Sends one operation; rejects with a DeliveryError. The App API resolves with its
   * answer's `delivery_id` (what a waiting caller is told); others resolve empty.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: the channels without an answer resolve with nothing
  sendOne: (body: Buffer) => Promise<SendAnswer | void>;
}
