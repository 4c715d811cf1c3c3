import type { PartitionRange } from '../kafka/topic-source';
import { OffsetTable } from '../offset-table';

/**
 * Where an operation first entered the pipeline: its position in the original
 * topic. A replayed copy (and the dead letter of a replayed copy) keeps the
 * position of the operation it is a copy of, so it is never "newer" than that
 * operation's successors.
 */
export interface Position {
  /** index into the table's topic names; -1 when unknown (no x-dlq-original-* headers) */
  topic: number;
  partition: number;
  offset: number;
  /** the original record's timestamp, ms (the clock for positions in different partitions) */
  recordTime: number;
}

export const UNKNOWN_TOPIC = -1;

/**
 * Topic names as small numbers, and the original positions of the dead letters
 * cio-dlq replayed before: a copy names its dead letter (`x-replayed-from`), and
 * counts at that dead letter's original position. Nothing is kept for the others;
 * their position is read off their own headers when needed.
 */
export class PositionTable {
  private readonly names: string[] = [];
  private readonly indexes = new Map<string, number>();
  // columns: topic, partition, offset, record time
  private readonly kept = new OffsetTable([Int32Array, Int32Array, Float64Array, Float64Array]);
  private readonly ranges: Map<number, { low: bigint; high: bigint }>;

  constructor(
    readonly dlqTopic: string,
    ranges: PartitionRange[],
  ) {
    this.ranges = new Map(ranges.map((r) => [r.partition, { low: BigInt(r.low), high: BigInt(r.high) }]));
  }

  topicIndex(name: string): number {
    let index = this.indexes.get(name);
    if (index === undefined) {
      index = this.names.length;
      this.names.push(name);
      this.indexes.set(name, index);
    }
    return index;
  }

  topicName(index: number): string | undefined {
    return this.names[index];
  }

  /** Keeps the original position of the (replayed) dead letter at `partition`:`offset`. */
  keep(partition: number, offset: string, position: Position): void {
    this.kept.set(partition, Number(offset), [
      position.topic,
      position.partition,
      position.offset,
      position.recordTime,
    ]);
  }

  get(partition: number, offset: string): Position | undefined {
    const row = this.kept.get(partition, Number(offset));
    if (!row) return undefined;
    const [topic, originalPartition, originalOffset, recordTime] = row as [number, number, number, number];
    return { topic, partition: originalPartition, offset: originalOffset, recordTime };
  }

  /** Whether the dead letter at `partition`:`offset` is part of the snapshot (not removed by retention). */
  inSnapshot(partition: number, offset: string): boolean {
    const range = this.ranges.get(partition);
    return (
      range !== undefined &&
      /^\d+$/.test(offset) &&
      BigInt(offset) >= range.low &&
      BigInt(offset) < range.high
    );
  }

  /** The dead letter `x-replayed-from` names (`<dlq topic>:<partition>:<offset>`), when it is in this table. */
  resolve(replayedFrom: string | undefined): Position | undefined {
    if (replayedFrom === undefined) return undefined;
    const match = /^(.+):(\d+):(\d+)$/.exec(replayedFrom);
    if (!match || match[1] !== this.dlqTopic) return undefined;
    return this.get(Number(match[2]), match[3]!);
  }

  describe(position: Position): string {
    const topic = this.topicName(position.topic);
    return topic === undefined ? 'an unknown position' : `${topic} ${position.partition}:${position.offset}`;
  }
}

export const samePartition = (a: Position, b: Position) =>
  a.topic !== UNKNOWN_TOPIC && a.topic === b.topic && a.partition === b.partition;

/** Whether `later` entered the pipeline after `earlier`: by offset in one partition, else by record time. */
export const enteredAfter = (later: Position, earlier: Position) =>
  samePartition(later, earlier) ? later.offset > earlier.offset : later.recordTime > earlier.recordTime;
