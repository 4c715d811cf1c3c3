import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import {
  decodeFetchResponse,
  decodeRecordBatches,
  type FetchedPartition,
  type FetchResponse,
} from './fetch-decoder';
import {
  type PartitionRange,
  type RawMessage,
  type ReadOptions,
  TopicNotFoundError,
  type TopicSource,
} from './topic-source';

export { type PartitionRange, type RawMessage, type ReadOptions, TopicNotFoundError, type TopicSource };

// kafkajs offers reading only through a consumer group: join, sync, assignment,
// heartbeats, and on most clusters a 3 s `group.initial.rebalance.delay.ms` before
// the first message. The CLI reads a snapshot of a topic (every partition from its
// first offset up to the end offset it saw when it started) and never commits, so
// it fetches partitions directly from their leaders through the client's own
// cluster object (connections, SASL/SSL, metadata, leaders), sending kafkajs' Fetch
// request with a response decoder of its own (fetch-decoder.ts, several times faster
// than kafkajs' for messages with many headers). kafkajs is pinned at 2.2.x (its
// final line); `clusterOf` checks the private factory exists and fails with a clear
// message if a future version moves it.

/** Where the read of one partition stands: fetched messages not yet handed out, and the next offset to fetch. */
interface Cursor {
  partition: number;
  next: bigint;
  end: bigint;
  buffer: RawMessage[];
  index: number;
  done: boolean;
}

// The parts of kafkajs' internal Cluster and Broker that are used here.
interface ProtocolRequest {
  request: { apiVersion: number };
  response: { decode(data: Buffer): Promise<unknown>; parse(data: unknown): Promise<unknown> };
}
interface InternalBroker {
  lookupRequest(apiKey: number, definition: unknown): (params: Record<string, unknown>) => ProtocolRequest;
  connectionPool: { send(request: ProtocolRequest): Promise<unknown> };
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
const FETCH_API_KEY = 1;
const OFFSET_OUT_OF_RANGE = 1;

// kafkajs internals: the Fetch request encoder (versions 4-11, negotiated per broker),
// its error codes, and its codecs for compressed batches.
const fetchRequests: unknown = require('kafkajs/src/protocol/requests/fetch');
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as {
  createErrorFromCode(code: number): Error & { retriable: boolean; type: string };
};
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression') as {
  lookupCodecByAttributes(attributes: number): { decompress(data: Buffer): Promise<Buffer> } | null;
};

const decompress = async (codec: number, data: Buffer): Promise<Buffer> => {
  const implementation = lookupCodecByAttributes(codec);
  if (!implementation) throw new Error(`unknown compression codec ${codec}`);
  return implementation.decompress(data);
};

/** Sends a Fetch request with this module's response decoder instead of kafkajs'. */
async function fetchFrom(broker: InternalBroker, params: Record<string, unknown>): Promise<FetchResponse> {
  const protocol = broker.lookupRequest(FETCH_API_KEY, fetchRequests)(params);
  const apiVersion = protocol.request.apiVersion;
  protocol.response = {
    decode: async (data: Buffer) => decodeFetchResponse(data, apiVersion),
    parse: async (data: unknown) => data,
  };
  return (await broker.connectionPool.send(protocol)) as FetchResponse;
}

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
  /** bytes per partition per fetch (default 512 KiB: larger fetches were no faster and cost memory) */
  maxBytesPerPartition?: number;
  /** bytes per fetch response (default 32 MiB) */
  maxBytes?: number;
}

/**
 * Reads topics without a consumer group: partitions are fetched straight from
 * their leaders up to the end offsets seen at the start, and messages come out
 * merged across partitions in timestamp order (each partition stays in offset order).
 */
export class TopicReader implements TopicSource {
  private readonly cluster: InternalCluster;
  private connected = false;
  private readonly topics = new Set<string>();
  private readonly maxBytesPerPartition: number;
  private readonly maxBytes: number;

  constructor(kafka: Kafka, options: TopicReaderOptions = {}) {
    this.cluster = clusterOf(kafka);
    this.maxBytesPerPartition = options.maxBytesPerPartition ?? 512 * 1024;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
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
    for await (const run of this.readRuns(topic, options)) yield* run;
  }

  /** As `read`, in runs of consecutive messages (cheaper than one at a time for large reads). */
  async *readRuns(topic: string, options: ReadOptions = {}): AsyncGenerator<RawMessage[]> {
    const ranges = (await this.ranges(topic)).filter(
      (r) => !options.partitions || options.partitions.includes(r.partition),
    );
    const cursors = ranges.map((r): Cursor => {
      const from = options.from?.get(r.partition);
      const to = options.to?.get(r.partition);
      const next = BigInt(from !== undefined && BigInt(from) > BigInt(r.low) ? from : r.low);
      const end = to !== undefined && BigInt(to) < BigInt(r.high) ? BigInt(to) : BigInt(r.high);
      return { partition: r.partition, next, end, buffer: [], index: 0, done: next >= end };
    });

    for (;;) {
      const empty = cursors.filter((c) => !c.done && c.index >= c.buffer.length);
      if (empty.length > 0) await this.fill(topic, empty);
      // The head with the smallest timestamp goes next; each partition keeps its order.
      let best: Cursor | undefined;
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
      const start = best.index;
      do best.index++;
      while (
        !openOthers &&
        best.index < best.buffer.length &&
        Number(best.buffer[best.index]!.timestamp) <= limit
      );
      yield start === 0 && best.index === best.buffer.length
        ? best.buffer
        : best.buffer.slice(start, best.index);
      if (best.index >= best.buffer.length) {
        best.buffer = [];
        best.index = 0;
      }
    }
  }

  /** One fetch round for the given cursors, one request per leader. */
  private async fill(topic: string, cursors: Cursor[]): Promise<void> {
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
            const response = await fetchFrom(broker, {
              replicaId: -1,
              isolationLevel: READ_COMMITTED,
              maxWaitTime: 50,
              minBytes: 1,
              maxBytes: this.maxBytes,
              rackId: '',
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
            if (response.errorCode !== 0) throw createErrorFromCode(response.errorCode);
            for (const data of response.topics.flatMap((t) => t.partitions)) {
              const cursor = mine.find((c) => c.partition === data.partition);
              if (!cursor) continue;
              if (data.errorCode === OFFSET_OUT_OF_RANGE) {
                // The start moved past us (retention): continue from the new start.
                const [range] = (await this.ranges(topic)).filter((r) => r.partition === cursor.partition);
                if (range && BigInt(range.low) > cursor.next) {
                  cursor.next = BigInt(range.low);
                  continue;
                }
              }
              if (data.errorCode !== 0) throw createErrorFromCode(data.errorCode);
              await this.accept(topic, cursor, data);
            }
          }),
        );
        return;
      } catch (error) {
        const retriable = (error as { retriable?: boolean }).retriable === true;
        if (!retriable || attempt >= 4) throw error;
        await sleep(100 * 2 ** attempt);
        await this.cluster.refreshMetadata();
      }
    }
  }

  private async accept(topic: string, cursor: Cursor, data: FetchedPartition): Promise<void> {
    const { records, nextOffset } = data.records
      ? await decodeRecordBatches(data.records, {
          topic,
          partition: cursor.partition,
          fromOffset: cursor.next,
          endOffset: cursor.end,
          abortedTransactions: data.abortedTransactions,
          decompress,
        })
      : { records: [], nextOffset: undefined };
    if (cursor.buffer.length === 0) cursor.buffer = records;
    else for (const record of records) cursor.buffer.push(record);
    if (nextOffset !== undefined && nextOffset > cursor.next) cursor.next = nextOffset;
    const stable = data.lastStableOffset >= 0n ? data.lastStableOffset : data.highWatermark;
    if (cursor.next >= cursor.end) cursor.done = true;
    // Nothing more to read below the end (it moved down, e.g. retention, or an open transaction).
    else if (nextOffset === undefined && cursor.next >= stable) cursor.done = true;
  }
}
