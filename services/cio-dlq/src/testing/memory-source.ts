import type { IHeaders } from 'kafkajs';
import {
  type PartitionRange,
  type RawMessage,
  type ReadOptions,
  TopicNotFoundError,
  type TopicSource,
} from '../kafka/topic-source';

export interface MemoryMessage {
  partition?: number;
  key?: string | Buffer | null;
  value?: string | Buffer | null;
  headers?: Record<string, string | Buffer>;
  /** ms; default: one more than the topic's previous message */
  timestamp?: number;
}

/**
 * Topics held in memory, read the way `TopicReader` reads Kafka (snapshot ends,
 * partitions merged by timestamp). For unit tests of what the commands decide.
 */
export class MemorySource implements TopicSource {
  private readonly topics = new Map<string, RawMessage[][]>();
  private clock = 1_700_000_000_000;

  createTopic(topic: string, partitions = 1): this {
    this.topics.set(
      topic,
      Array.from({ length: partitions }, () => []),
    );
    return this;
  }

  /** Appends messages; returns where each one landed. */
  append(topic: string, messages: MemoryMessage[]): Array<{ partition: number; offset: string }> {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new TopicNotFoundError(topic);
    return messages.map((m) => {
      const partition = m.partition ?? 0;
      const log = partitions[partition];
      if (!log) throw new Error(`topic ${topic} has no partition ${partition}`);
      this.clock = m.timestamp ?? this.clock + 1;
      const buffer = (v: string | Buffer | null | undefined) =>
        v === null || v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v);
      const headers: IHeaders = {};
      for (const [name, v] of Object.entries(m.headers ?? {})) headers[name] = buffer(v)!;
      const offset = String(log.length);
      log.push({
        topic,
        partition,
        offset,
        timestamp: String(this.clock),
        key: buffer(m.key),
        value: buffer(m.value),
        headers,
      });
      return { partition, offset };
    });
  }

  async exists(topic: string): Promise<boolean> {
    return this.topics.has(topic);
  }

  async ranges(topic: string): Promise<PartitionRange[]> {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new TopicNotFoundError(topic);
    return partitions.map((log, partition) => ({ partition, low: '0', high: String(log.length) }));
  }

  async *readRuns(topic: string, options: ReadOptions = {}): AsyncGenerator<RawMessage[]> {
    for await (const message of this.read(topic, options)) yield [message];
  }

  async *read(topic: string, options: ReadOptions = {}): AsyncGenerator<RawMessage> {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new TopicNotFoundError(topic);
    const cursors = partitions
      .map((log, partition) => {
        const from = Number(options.from?.get(partition) ?? 0);
        const to = Math.min(log.length, Number(options.to?.get(partition) ?? log.length));
        return { log: log.slice(0, to), next: Math.max(0, from), partition };
      })
      .filter((c) => !options.partitions || options.partitions.includes(c.partition));
    for (;;) {
      let best: (typeof cursors)[number] | undefined;
      for (const cursor of cursors) {
        const head = cursor.log[cursor.next];
        if (head && (!best || Number(head.timestamp) < Number(best.log[best.next]!.timestamp))) best = cursor;
      }
      if (!best) return;
      yield best.log[best.next++]!;
    }
  }

  async readOne(topic: string, partition: number, offset: string): Promise<RawMessage | undefined> {
    return this.topics.get(topic)?.[partition]?.[Number(offset)];
  }
}
