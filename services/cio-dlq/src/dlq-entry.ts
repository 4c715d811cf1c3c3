import {
  DLQ_HEADER_PREFIX,
  DLQ_HEADERS,
  ERROR_CLASSES,
  REPLAY_COUNT_HEADER,
  REPLAYED_FROM_HEADER,
  REPLY_TO_HEADER,
} from '@cio-bridge/contracts';
import { headerString } from '@cio-bridge/kafka';
import type { RawMessage } from './kafka/topic-source';
import { describeOperation, type OperationSummary } from './operation';
import { toMillis } from './time';

// The header names and error classes are the worker's contract (@cio-bridge/contracts).
export {
  DLQ_HEADER_PREFIX,
  DLQ_HEADERS,
  ERROR_CLASSES,
  REPLAY_COUNT_HEADER,
  REPLAYED_FROM_HEADER,
  REPLY_TO_HEADER,
};

export interface Failure {
  readonly originalTopic?: string;
  readonly originalPartition?: number;
  readonly originalOffset?: string;
  /** the original message's timestamp, in ms */
  readonly originalTimestamp?: number;
  readonly consumerGroup?: string;
  readonly errorClass: string;
  readonly httpStatus?: number;
  readonly errorMessage: string;
  readonly attempts?: number;
  readonly firstFailedAt?: number;
  readonly lastFailedAt?: number;
}

/**
 * What listing, filtering and the stale-identify guard use of a dead letter; a
 * replay plan keeps only this (a compact copy) for each message.
 */
export interface EntrySummary {
  partition: number;
  offset: string;
  coordinate: string;
  time: number;
  key: string | null;
  operation: Pick<OperationSummary, 'action' | 'eventName' | 'person' | 'identifiers' | 'id' | 'time'>;
  failure: Failure;
  replayCount: number;
}

/** A compact copy of an entry: no buffers, the parsed value dropped, every header decoded. */
export function summarize(entry: EntrySummary): EntrySummary {
  const op = entry.operation;
  return {
    partition: entry.partition,
    offset: entry.offset,
    coordinate: entry.coordinate,
    time: entry.time,
    key: entry.key,
    operation: {
      action: op.action,
      eventName: op.eventName,
      person: op.person,
      identifiers: op.identifiers,
      id: op.id,
      time: op.time,
    },
    failure: failureSnapshot(entry.failure),
    replayCount: entry.replayCount,
  };
}

/** One message of the dead-letter topic, read. */
export interface DlqEntry extends EntrySummary {
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

/**
 * The failure headers. Listing 100,000 dead letters reads only a few of them, so
 * the rest are decoded when asked for.
 */
class HeaderFailure implements Failure {
  readonly errorClass: string;
  readonly httpStatus?: number;
  readonly errorMessage: string;
  constructor(private readonly headers: RawMessage['headers']) {
    this.errorClass = this.get(DLQ_HEADERS.errorClass) || 'unknown';
    const status = int(this.get(DLQ_HEADERS.httpStatus));
    if (status !== undefined && status > 0) this.httpStatus = status;
    // Other dead-letter-shaped topics say why in a header of their own (x-quarantine-reason, ...).
    this.errorMessage = this.get(DLQ_HEADERS.errorMessage) ?? this.otherReason() ?? '';
  }
  private get(name: string): string | undefined {
    return headerString(this.headers, name);
  }
  private otherReason(): string | undefined {
    const name = Object.keys(this.headers).find((h) => /^x-[a-z0-9-]+-reason$/.test(h));
    return name === undefined ? undefined : this.get(name);
  }
  get originalTopic() {
    return this.get(DLQ_HEADERS.originalTopic) || undefined;
  }
  get originalPartition() {
    return int(this.get(DLQ_HEADERS.originalPartition));
  }
  get originalOffset() {
    const value = this.get(DLQ_HEADERS.originalOffset);
    return int(value) === undefined ? undefined : value!.trim();
  }
  get originalTimestamp() {
    return toMillis(this.get(DLQ_HEADERS.originalTimestamp));
  }
  get consumerGroup() {
    return this.get(DLQ_HEADERS.consumerGroup);
  }
  get attempts() {
    return int(this.get(DLQ_HEADERS.attempts));
  }
  get firstFailedAt() {
    return toMillis(this.get(DLQ_HEADERS.firstFailedAt));
  }
  get lastFailedAt() {
    return toMillis(this.get(DLQ_HEADERS.lastFailedAt));
  }
}

/** A plain copy of a failure (every header decoded), for keeping without the message. */
export const failureSnapshot = (f: Failure): Failure => ({
  originalTopic: f.originalTopic,
  originalPartition: f.originalPartition,
  originalOffset: f.originalOffset,
  originalTimestamp: f.originalTimestamp,
  consumerGroup: f.consumerGroup,
  errorClass: f.errorClass,
  httpStatus: f.httpStatus,
  errorMessage: f.errorMessage,
  attempts: f.attempts,
  firstFailedAt: f.firstFailedAt,
  lastFailedAt: f.lastFailedAt,
});

export function readEntry(raw: RawMessage): DlqEntry {
  const h = (name: string) => headerString(raw.headers, name);
  return {
    topic: raw.topic,
    partition: raw.partition,
    offset: raw.offset,
    coordinate: `${raw.partition}:${raw.offset}`,
    time: Number(raw.timestamp),
    key: raw.key === null ? null : raw.key.toString('utf8'),
    raw,
    operation: describeOperation(raw.value),
    failure: new HeaderFailure(raw.headers),
    replayCount: int(h(REPLAY_COUNT_HEADER)) ?? 0,
    replayedFrom: h(REPLAYED_FROM_HEADER),
  };
}
