// The contracts services share by name. Constants only: the CLI imports this
// without pulling in a validator or a Kafka client.

/**
 * The headers the cio-worker adds to a dead letter (next to the original message's
 * own headers), in the order it writes them.
 */
export const DLQ_HEADERS = {
  originalTopic: 'x-dlq-original-topic',
  originalPartition: 'x-dlq-original-partition',
  originalOffset: 'x-dlq-original-offset',
  originalTimestamp: 'x-dlq-original-timestamp',
  consumerGroup: 'x-dlq-consumer-group',
  errorClass: 'x-dlq-error-class',
  httpStatus: 'x-dlq-http-status',
  errorMessage: 'x-dlq-error-message',
  attempts: 'x-dlq-attempts',
  firstFailedAt: 'x-dlq-first-failed-at',
  lastFailedAt: 'x-dlq-last-failed-at',
} as const;

export type DlqHeaderName = (typeof DLQ_HEADERS)[keyof typeof DLQ_HEADERS];

/** Every dead-letter header starts with this; a replay leaves them out. */
export const DLQ_HEADER_PREFIX = 'x-dlq-';

/** Added by a replay: how often the operation has been replayed (a decimal count). */
export const REPLAY_COUNT_HEADER = 'x-replay-count';
/** Added by a replay: the dead letter it is a copy of, `<dlq topic>:<partition>:<offset>`. */
export const REPLAYED_FROM_HEADER = 'x-replayed-from';

/**
 * On a Track operation or transactional send whose caller waits for the outcome
 * (`Prefer: wait`, `sendAndWait`): the partition of the replies topic where the worker
 * publishes one reply for it (a decimal number). Operations without it get no reply;
 * a replay leaves it out.
 */
export const REPLY_TO_HEADER = 'x-reply-to';

/** The `x-dlq-error-class` values. */
export const ERROR_CLASSES = [
  'http_4xx',
  'http_5xx',
  'rate_limited',
  'timeout',
  'network',
  'validation',
  /** a transactional send that may or may not have reached Customer.io (timeout or reset after sending) */
  'ambiguous',
  'unknown',
] as const;

export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** The actions of a Track operation. */
export const TRACK_ACTIONS = [
  'identify',
  'event',
  'page',
  'screen',
  'delete',
  'suppress',
  'unsuppress',
  'add_device',
  'delete_device',
  'merge',
  'add_relationships',
  'delete_relationships',
] as const;

export type TrackAction = (typeof TRACK_ACTIONS)[number];

/** The operations on an object (`type: "object"`): a subset of the Track actions. */
export const OBJECT_ACTIONS = [
  'identify',
  'delete',
  'add_relationships',
  'delete_relationships',
] as const satisfies readonly TrackAction[];

export type ObjectAction = (typeof OBJECT_ACTIONS)[number];

/** The actions that erase a person from Customer.io's point of view (what replay must not undo). */
export const ERASING_ACTIONS = ['delete', 'suppress'] as const satisfies readonly TrackAction[];
