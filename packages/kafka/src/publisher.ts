import type { Message, Producer, RecordMetadata, TopicMessages } from 'kafkajs';
import type { MessagePlacement, Placement } from './placement';

export interface OutgoingMessage {
  key: string;
  value: string | Buffer;
  headers?: Record<string, string | Buffer>;
  /** a partition of its own choosing (a reply to the instance that owns it); absent: by key */
  partition?: number;
}

export interface PublisherOptions {
  /** an idempotent producer (`idempotent: true, maxInFlightRequests: 1`), connected by the caller */
  producer: Producer;
  /** how long `publish` waits for the broker's acknowledgement before failing */
  timeoutMs?: number;
  /** upper bounds of one produce request, so a batch stays under the broker's message.max.bytes */
  maxBatchMessages?: number;
  maxBatchBytes?: number;
  /**
   * the producer's partitioner's record (its `createPartitioner` came from it): `publish`
   * then resolves with each message's partition and offset
   */
  placement?: MessagePlacement;
}

/** The broker did not acknowledge in time; the same messages (same ids) may be published again. */
export class PublishTimeoutError extends Error {
  override name = 'PublishTimeoutError';
  readonly retriable = true;
}

interface Pending {
  topic: string;
  messages: OutgoingMessage[];
  bytes: number;
  /** what the producer was handed for `messages` (set when the batch is built) */
  sent?: Message[];
  resolve: (placements: (Placement | undefined)[]) => void;
  reject: (error: Error) => void;
}

const sizeOf = (m: OutgoingMessage) => Buffer.byteLength(m.value) + Buffer.byteLength(m.key) + 64;

/**
 * Publishes with `acks=all` and shares produce requests between concurrent callers:
 * while one request is with the broker, new messages queue up and leave together in
 * the next one. `publish` resolves only once the broker acknowledged its messages.
 */
export class Publisher {
  private readonly queue: Pending[] = [];
  private sending = false;
  private readonly timeoutMs: number;
  private readonly maxBatchMessages: number;
  private readonly maxBatchBytes: number;

  constructor(private readonly options: PublisherOptions) {
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxBatchMessages = options.maxBatchMessages ?? 2_000;
    this.maxBatchBytes = options.maxBatchBytes ?? 768 * 1024;
  }

  /** Resolves once the broker acknowledged every message. */
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    await this.publishPlaced(topic, messages);
  }

  /**
   * `publish`, resolving with each message's partition and offset when the producer's
   * partitioner came from `placement` (undefined where they are not known).
   */
  publishPlaced(topic: string, messages: OutgoingMessage[]): Promise<(Placement | undefined)[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return new Promise<(Placement | undefined)[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Not sent yet: take it back so it is not published after the caller gave up.
        const index = this.queue.indexOf(pending);
        if (index >= 0) this.queue.splice(index, 1);
        reject(new PublishTimeoutError(`Kafka did not acknowledge within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const pending: Pending = {
        topic,
        messages,
        bytes: messages.reduce((sum, m) => sum + sizeOf(m), 0),
        resolve: (placements) => {
          clearTimeout(timer);
          resolve(placements);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.queue.push(pending);
      if (!this.sending) setImmediate(() => void this.drain());
    });
  }

  /** How many callers are waiting for an acknowledgement. */
  get waiting(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.takeBatch();
        try {
          const answer = await this.options.producer.sendBatch({
            acks: -1,
            topicMessages: groupByTopic(batch),
          });
          for (const pending of batch) pending.resolve(this.placementsOf(pending, batch, answer));
        } catch (error) {
          for (const pending of batch) pending.reject(error as Error);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private placementsOf(
    pending: Pending,
    batch: Pending[],
    answer: RecordMetadata[],
  ): (Placement | undefined)[] {
    const { placement } = this.options;
    if (!placement || !pending.sent) return [];
    // positions count every message of the topic in the request, the other callers' too
    const sameTopic = batch.filter((other) => other.topic === pending.topic);
    const all = placement.place(
      pending.topic,
      sameTopic.flatMap((other) => other.sent ?? []),
      answer,
    );
    const start = sameTopic
      .slice(0, sameTopic.indexOf(pending))
      .reduce((sum, other) => sum + (other.sent?.length ?? 0), 0);
    return all.slice(start, start + pending.sent.length);
  }

  private takeBatch(): Pending[] {
    let messages = 0;
    let bytes = 0;
    let count = 0;
    for (const pending of this.queue) {
      if (
        count > 0 &&
        (messages + pending.messages.length > this.maxBatchMessages ||
          bytes + pending.bytes > this.maxBatchBytes)
      )
        break;
      messages += pending.messages.length;
      bytes += pending.bytes;
      count++;
    }
    return this.queue.splice(0, count);
  }
}

function groupByTopic(batch: Pending[]): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const pending of batch) {
    const list = byTopic.get(pending.topic) ?? [];
    pending.sent = pending.messages.map((m) => ({
      key: m.key,
      value: m.value,
      headers: m.headers,
      partition: m.partition,
    }));
    list.push(...pending.sent);
    byTopic.set(pending.topic, list);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
