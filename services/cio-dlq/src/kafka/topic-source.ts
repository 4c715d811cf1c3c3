import type { DecodedRecord } from './fetch-decoder';

/** One record as read from a partition. */
export type RawMessage = DecodedRecord;

/** Offsets of one partition: `low` is the first readable offset, `high` the end (exclusive). */
export interface PartitionRange {
  partition: number;
  low: string;
  high: string;
}

export interface ReadOptions {
  /** where to start per partition (default each partition's low offset) */
  from?: Map<number, string>;
  /** where to stop per partition, exclusive (default the end offset at the start of the read) */
  to?: Map<number, string>;
  /** read only these partitions */
  partitions?: number[];
}

export class TopicNotFoundError extends Error {
  override name = 'TopicNotFoundError';
  readonly retriable = false;
  constructor(readonly topic: string) {
    super(`topic ${topic} does not exist on the cluster`);
  }
}

/**
 * What the commands read topics through: a snapshot of each partition (from its
 * first offset to the end seen when the read starts), partitions merged oldest
 * first by timestamp, each partition in offset order. The Kafka implementation is
 * `TopicReader`; tests of planning and the guards use `MemorySource`.
 */
export interface TopicSource {
  exists(topic: string): Promise<boolean>;
  /** each partition's offsets; TopicNotFoundError when the topic does not exist */
  ranges(topic: string): Promise<PartitionRange[]>;
  /** runs of consecutive messages (cheaper than one at a time for large reads) */
  readRuns(topic: string, options?: ReadOptions): AsyncIterable<RawMessage[]>;
  read(topic: string, options?: ReadOptions): AsyncIterable<RawMessage>;
  /** the message at `partition`:`offset`, or undefined when there is none */
  readOne(topic: string, partition: number, offset: string): Promise<RawMessage | undefined>;
}

/** The end offsets of every partition, as `to` for reads that must see the same snapshot. */
export const snapshotOf = (ranges: PartitionRange[]): Map<number, string> =>
  new Map(ranges.map((r) => [r.partition, r.high]));
