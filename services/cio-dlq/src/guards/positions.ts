import type { PartitionRange } from '../kafka/topic-source';

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
 * The original position of every dead letter of one snapshot of the dead-letter
 * topic, in flat typed arrays (24 bytes a message), so a copy's `x-replayed-from`
 * can be resolved to its original without keeping the dead letters.
 */
export class PositionTable {
  private readonly names: string[] = [];
  private readonly indexes = new Map<string, number>();
  private readonly partitions = new Map<
    number,
    { low: number; topic: Int32Array; partition: Int32Array; offset: Float64Array; time: Float64Array }
  >();

  constructor(
    readonly dlqTopic: string,
    ranges: PartitionRange[],
  ) {
    for (const r of ranges) {
      const size = Math.max(0, Number(BigInt(r.high) - BigInt(r.low)));
      const topic = new Int32Array(size).fill(UNKNOWN_TOPIC - 1);
      this.partitions.set(r.partition, {
        low: Number(r.low),
        topic,
        partition: new Int32Array(size),
        offset: new Float64Array(size),
        time: new Float64Array(size),
      });
    }
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

  set(partition: number, offset: string, position: Position): void {
    const p = this.partitions.get(partition);
    const i = Number(offset) - (p?.low ?? 0);
    if (!p || i < 0 || i >= p.topic.length) return;
    p.topic[i] = position.topic;
    p.partition[i] = position.partition;
    p.offset[i] = position.offset;
    p.time[i] = position.recordTime;
  }

  get(partition: number, offset: string): Position | undefined {
    const p = this.partitions.get(partition);
    const i = Number(offset) - (p?.low ?? 0);
    if (!p || i < 0 || i >= p.topic.length || p.topic[i]! < UNKNOWN_TOPIC) return undefined;
    return { topic: p.topic[i]!, partition: p.partition[i]!, offset: p.offset[i]!, recordTime: p.time[i]! };
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
