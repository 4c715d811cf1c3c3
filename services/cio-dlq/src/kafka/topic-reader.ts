import type { IHeaders, Kafka } from 'kafkajs';

// kafkajs offers reading only through a consumer group: join, sync, assignment,
// heartbeats, and on most clusters a 3 s `group.initial.rebalance.delay.ms` before
// the first message. The CLI reads a snapshot of a topic (every partition from its
// first offset up to the end offset it saw when it started) and never commits, so
// it fetches partitions directly from their leaders through the client's own
// cluster object. kafkajs is pinned at 2.2.x (its final line); `clusterOf` checks
// the private factory exists and fails with a clear message if a future version
// moves it.

/** One record as read from a partition. */
export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  /** milliseconds since the epoch, as a string (kafkajs' form) */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

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

// The parts of kafkajs' internal Cluster and Broker that are used here.
interface FetchPartitionResponse {
  partition: number;
  highWatermark: string;
  lastStableOffset?: string;
  abortedTransactions?: unknown[];
  messages: Array<RawFetchedMessage>;
}
interface RawFetchedMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  isControlRecord?: boolean;
}
interface InternalBroker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{
      topic: string;
      partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }>;
    }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: FetchPartitionResponse[] }> }>;
}
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number }>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<InternalBroker>;
  fetchTopicsOffset(
    topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning: boolean }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
}

const READ_COMMITTED = 1;

// kafkajs' consumer drops messages of aborted transactions with this (for a transactional writer).
const filterAbortedMessages: (batch: {
  messages: RawFetchedMessage[];
  abortedTransactions: unknown[] | undefined;
}) => RawFetchedMessage[] = require('kafkajs/src/consumer/filterAbortedMessages');

function clusterOf(kafka: Kafka): InternalCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const create = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof create !== 'function') {
    throw new Error('this kafkajs version does not expose its cluster factory; cio-dlq needs kafkajs 2.2.x');
  }
  return create({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED, metadataMaxAge: 60_000 });
}

const isUnknownTopic = (error: unknown) =>
  (error as { type?: string })?.type === 'UNKNOWN_TOPIC_OR_PARTITION';

export interface TopicReaderOptions {
  /** bytes per partition per fetch (default 8 MiB) */
  maxBytesPerPartition?: number;
  /** bytes per fetch response (default 64 MiB) */
  maxBytes?: number;
}

/**
 * Reads topics without a consumer group: partitions are fetched straight from
 * their leaders up to the end offsets seen at the start, and messages come out
 * merged across partitions in timestamp order (each partition stays in offset order).
 */
export class TopicReader {
  private readonly cluster: InternalCluster;
  private connected = false;
  private readonly topics = new Set<string>();
  private readonly maxBytesPerPartition: number;
  private readonly maxBytes: number;

  constructor(kafka: Kafka, options: TopicReaderOptions = {}) {
    this.cluster = clusterOf(kafka);
    this.maxBytesPerPartition = options.maxBytesPerPartition ?? 8 * 1024 * 1024;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.cluster.connect();
    this.connected = true;
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    await this.cluster.disconnect();
  }

  /** Whether the topic exists. */
  async exists(topic: string): Promise<boolean> {
    try {
      await this.target(topic);
      return true;
    } catch (error) {
      if (error instanceof TopicNotFoundError) return false;
      throw error;
    }
  }

  private async target(topic: string): Promise<void> {
    await this.connect();
    if (this.topics.has(topic)) return;
    try {
      await this.cluster.addTargetTopic(topic);
    } catch (error) {
      if (isUnknownTopic(error)) throw new TopicNotFoundError(topic);
      throw error;
    }
    if (this.cluster.findTopicPartitionMetadata(topic).length === 0) throw new TopicNotFoundError(topic);
    this.topics.add(topic);
  }

  /** Each partition's first readable offset and end offset (last stable offset). */
  async ranges(topic: string): Promise<PartitionRange[]> {
    await this.target(topic);
    const partitions = this.cluster
      .findTopicPartitionMetadata(topic)
      .map((p) => ({ partition: p.partitionId }))
      .sort((a, b) => a.partition - b.partition);
    const [low, high] = await Promise.all(
      [true, false].map((fromBeginning) =>
        this.cluster.fetchTopicsOffset([{ topic, partitions, fromBeginning }]),
      ),
    );
    const offsetOf = (result: typeof low, partition: number) =>
      result?.[0]?.partitions.find((p) => p.partition === partition)?.offset ?? '0';
    return partitions.map(({ partition }) => ({
      partition,
      low: offsetOf(low, partition),
      high: offsetOf(high, partition),
    }));
  }

  /** The message at `partition`:`offset`, or undefined when there is none. */
  async readOne(topic: string, partition: number, offset: string): Promise<RawMessage | undefined> {
    const range = (await this.ranges(topic)).find((r) => r.partition === partition);
    if (!range || BigInt(offset) < BigInt(range.low) || BigInt(offset) >= BigInt(range.high))
      return undefined;
    for await (const message of this.read(topic, {
      partitions: [partition],
      from: new Map([[partition, offset]]),
      to: new Map([[partition, (BigInt(offset) + 1n).toString()]]),
    })) {
      return message.offset === offset ? message : undefined;
    }
    return undefined;
  }

  /**
   * Every message of the topic between the start and end offsets, merged across
   * partitions by timestamp. The end is fixed when reading starts, so messages
   * written meanwhile are not part of this read.
   */
  async *read(topic: string, options: ReadOptions = {}): AsyncGenerator<RawMessage> {
    const ranges = (await this.ranges(topic)).filter(
      (r) => !options.partitions || options.partitions.includes(r.partition),
    );
    const cursors = ranges
      .map((r) => {
        const from = options.from?.get(r.partition);
        const to = options.to?.get(r.partition);
        return {
          partition: r.partition,
          next: BigInt(from !== undefined && BigInt(from) > BigInt(r.low) ? from : r.low),
          end: to !== undefined && BigInt(to) < BigInt(r.high) ? BigInt(to) : BigInt(r.high),
          buffer: [] as RawMessage[],
          index: 0,
          done: false,
        };
      })
      .map((c) => ({ ...c, done: c.next >= c.end }));

    for (;;) {
      const empty = cursors.filter((c) => !c.done && c.index >= c.buffer.length);
      if (empty.length > 0) await this.fill(topic, empty);
      // The head with the smallest timestamp goes next; each partition keeps its order.
      let best: (typeof cursors)[number] | undefined;
      let bestTime = 0;
      for (const cursor of cursors) {
        const head = cursor.buffer[cursor.index];
        if (!head) continue;
        const time = Number(head.timestamp);
        if (!best || time < bestTime) {
          best = cursor;
          bestTime = time;
        }
      }
      if (!best) return;
      // Yield this partition's messages while they stay the oldest heads.
      const others = cursors.filter((c) => c !== best && c.index < c.buffer.length);
      const limit = others.reduce(
        (min, c) => Math.min(min, Number(c.buffer[c.index]!.timestamp)),
        Number.POSITIVE_INFINITY,
      );
      const openOthers = cursors.some((c) => c !== best && !c.done && c.index >= c.buffer.length);
      do {
        yield best.buffer[best.index]!;
        best.index++;
      } while (
        !openOthers &&
        best.index < best.buffer.length &&
        Number(best.buffer[best.index]!.timestamp) <= limit
      );
      if (best.index >= best.buffer.length) {
        best.buffer = [];
        best.index = 0;
      }
    }
  }

  /** One fetch round for the given cursors, one request per leader. */
  private async fill(
    topic: string,
    cursors: Array<{
      partition: number;
      next: bigint;
      end: bigint;
      buffer: RawMessage[];
      index: number;
      done: boolean;
    }>,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const byLeader = this.cluster.findLeaderForPartitions(
          topic,
          cursors.map((c) => c.partition),
        );
        await Promise.all(
          Object.entries(byLeader).map(async ([nodeId, partitions]) => {
            const broker = await this.cluster.findBroker({ nodeId });
            const mine = cursors.filter((c) => partitions.includes(c.partition));
            const { responses } = await broker.fetch({
              replicaId: -1,
              isolationLevel: READ_COMMITTED,
              maxWaitTime: 50,
              minBytes: 1,
              maxBytes: this.maxBytes,
              topics: [
                {
                  topic,
                  partitions: mine.map((c) => ({
                    partition: c.partition,
                    fetchOffset: c.next.toString(),
                    maxBytes: this.maxBytesPerPartition,
                  })),
                },
              ],
            });
            for (const response of responses) {
              for (const data of response.partitions) {
                const cursor = mine.find((c) => c.partition === data.partition);
                if (cursor) this.accept(topic, cursor, data);
              }
            }
          }),
        );
        return;
      } catch (error) {
        const retriable = (error as { retriable?: boolean }).retriable === true;
        if (!retriable || attempt >= 4) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
        await this.cluster.refreshMetadata();
      }
    }
  }

  private accept(
    topic: string,
    cursor: {
      partition: number;
      next: bigint;
      end: bigint;
      buffer: RawMessage[];
      index: number;
      done: boolean;
    },
    data: FetchPartitionResponse,
  ): void {
    const start = cursor.next;
    let last = -1n;
    const kept =
      (data.abortedTransactions ?? []).length > 0
        ? new Set(
            filterAbortedMessages({ messages: data.messages, abortedTransactions: data.abortedTransactions }),
          )
        : undefined;
    for (const m of data.messages) {
      const offset = BigInt(m.offset);
      if (offset > last) last = offset;
      // A fetch returns whole record batches: skip what lies before the requested offset.
      if (offset < start || offset >= cursor.end || m.isControlRecord) continue;
      if (kept && !kept.has(m)) continue;
      cursor.buffer.push({
        topic,
        partition: cursor.partition,
        offset: m.offset,
        timestamp: m.timestamp,
        key: m.key,
        value: m.value,
        headers: m.headers ?? {},
      });
    }
    if (last >= cursor.next) cursor.next = last + 1n;
    const stable = BigInt(data.lastStableOffset ?? data.highWatermark);
    const highWatermark = BigInt(data.highWatermark);
    if (cursor.next >= cursor.end) cursor.done = true;
    // Nothing more to read below the end (the end moved down, e.g. retention or an open transaction).
    else if (data.messages.length === 0 && cursor.next >= (stable >= 0n ? stable : highWatermark))
      cursor.done = true;
  }
}
