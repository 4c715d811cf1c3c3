import { headerString } from '@cio-bridge/kafka';
import type { RawMessage } from './kafka/topic-reader';
import { describeOperation, type OperationSummary } from './operation';
import { toMillis } from './time';

/** The dead-letter headers of the design ("Dead-letter headers"). */
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

/** Every dead-letter header starts with this; a replay leaves them out. */
export const DLQ_HEADER_PREFIX = 'x-dlq-';

/** Headers a replay adds: how often the operation was replayed, and from where (`topic:partition:offset`). */
export const REPLAY_COUNT_HEADER = 'x-replay-count';
export const REPLAYED_FROM_HEADER = 'x-replayed-from';

export const ERROR_CLASSES = [
  'http_4xx',
  'http_5xx',
  'rate_limited',
  'timeout',
  'network',
  'validation',
  'unknown',
] as const;

export interface Failure {
  originalTopic?: string;
  originalPartition?: number;
  originalOffset?: string;
  /** the original message's timestamp, in ms */
  originalTimestamp?: number;
  consumerGroup?: string;
  errorClass: string;
  httpStatus?: number;
  errorMessage: string;
  attempts?: number;
  firstFailedAt?: number;
  lastFailedAt?: number;
}

/** One message of the dead-letter topic, read. */
export interface DlqEntry {
  topic: string;
  partition: number;
  offset: string;
  /** `partition:offset`, how the CLI names a message */
  coordinate: string;
  /** when it was dead-lettered (the record's timestamp), in ms */
  time: number;
  key: string | null;
  raw: RawMessage;
  operation: OperationSummary;
  failure: Failure;
  /** how often this operation had been replayed before it was dead-lettered this time */
  replayCount: number;
  replayedFrom?: string;
}

const int = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^-?\d+$/.test(value.trim())) return undefined;
  return Number(value);
};

export function readEntry(raw: RawMessage): DlqEntry {
  const h = (name: string) => headerString(raw.headers, name);
  const status = int(h(DLQ_HEADERS.httpStatus));
  return {
    topic: raw.topic,
    partition: raw.partition,
    offset: raw.offset,
    coordinate: `${raw.partition}:${raw.offset}`,
    time: Number(raw.timestamp),
    key: raw.key === null ? null : raw.key.toString('utf8'),
    raw,
    operation: describeOperation(raw.value),
    failure: {
      originalTopic: h(DLQ_HEADERS.originalTopic) || undefined,
      originalPartition: int(h(DLQ_HEADERS.originalPartition)),
      originalOffset:
        int(h(DLQ_HEADERS.originalOffset)) === undefined ? undefined : h(DLQ_HEADERS.originalOffset)!.trim(),
      originalTimestamp: toMillis(h(DLQ_HEADERS.originalTimestamp)),
      consumerGroup: h(DLQ_HEADERS.consumerGroup),
      errorClass: h(DLQ_HEADERS.errorClass) || 'unknown',
      httpStatus: status !== undefined && status > 0 ? status : undefined,
      errorMessage: h(DLQ_HEADERS.errorMessage) ?? '',
      attempts: int(h(DLQ_HEADERS.attempts)),
      firstFailedAt: toMillis(h(DLQ_HEADERS.firstFailedAt)),
      lastFailedAt: toMillis(h(DLQ_HEADERS.lastFailedAt)),
    },
    replayCount: int(h(REPLAY_COUNT_HEADER)) ?? 0,
    replayedFrom: h(REPLAYED_FROM_HEADER),
  };
}
