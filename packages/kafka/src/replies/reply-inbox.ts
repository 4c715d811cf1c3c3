import { REPLY_TO_HEADER } from '@cio-bridge/contracts';
import type { Logger } from '@cio-bridge/logger';
import type { Consumer, Kafka } from 'kafkajs';
import { replyPartitionAssigner } from './assigner';
import { type KnownOutcome, type Wait, Waiters } from './waiters';

export interface ReplyInboxOptions {
  kafka: Kafka;
  /** the replies topic of the catalog */
  topic: string;
  /** the group every producer instance (or SDK publisher) of this topic joins; default `<topic>.waiters` */
  groupId?: string;
  /** most operations waited for at once (PRODUCER_MAX_WAITERS) */
  maxWaiting: number;
  /** default: silent (an app's SDK publisher has its own logging) */
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** a reply arrived: `matched` false when nobody waits for it (any more) */
  onReply?: (matched: boolean) => void;
}

/** A started wait and the header that tells the worker where to answer. */
export interface WaitTicket {
  wait: Wait;
  headers: Record<string, string>;
}

/** The outcome fields of a worker's reply, or undefined when it is not one. */
export function parseReply(value: Buffer | null): KnownOutcome | undefined {
  if (!value) return undefined;
  try {
    const reply = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    const { id, outcome, status, error_class, delivery_id } = reply;
    if (typeof id !== 'string' || (outcome !== 'delivered' && outcome !== 'dead_lettered')) return undefined;
    return {
      id,
      outcome,
      status: typeof status === 'number' ? status : null,
      ...(typeof error_class === 'string' && { error_class }),
      ...(typeof delivery_id === 'string' && { delivery_id }),
    };
  } catch {
    return undefined;
  }
}

/**
 * Where one process receives the worker's replies: it joins the replies group, owns one
 * partition of the replies topic (sticky across rebalances, see the assigner) and reads
 * only that one, so its cost follows its own waits, not other instances' traffic. A
 * waited operation carries `x-reply-to: <that partition>`.
 */
export class ReplyInbox {
  readonly waiters: Waiters;
  private consumer: Consumer | undefined;
  private partition: number | undefined;

  constructor(private readonly options: ReplyInboxOptions) {
    this.waiters = new Waiters(options.maxWaiting);
  }

  /** The partition replies come to; undefined before joining, or when every partition has an owner. */
  get address(): number | undefined {
    return this.partition;
  }

  /** Joins the replies group and starts reading; resolves once the group is joined. */
  async start(): Promise<void> {
    const { kafka, topic } = this.options;
    const logger = this.options.logger;
    const consumer = kafka.consumer({
      groupId: this.options.groupId ?? `${topic}.waiters`,
      partitionAssigners: [replyPartitionAssigner(() => this.partition)],
      // A crashed instance's partition is free again after this long.
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 3_000,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const owned = payload.memberAssignment[topic]?.[0];
      if (owned !== this.partition) {
        if (owned === undefined)
          logger?.warn({ topic }, 'every replies partition has an owner: requests here cannot wait');
        else logger?.info({ topic, partition: owned }, 'reading replies on this partition');
      }
      this.partition = owned;
    });
    await consumer.connect();
    // From the start of what the group has not read: a new owner of a partition skips
    // nothing addressed to it (what it finds for an earlier owner is dropped, unmatched).
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const outcome = parseReply(message.value);
        if (!outcome) return;
        const matched = this.waiters.settle(outcome);
        this.options.onReply?.(matched);
      },
    });
  }

  /** Starts waiting for these operations, or undefined when this instance cannot wait (no partition, too many waits). */
  begin(ids: readonly string[]): WaitTicket | undefined {
    const partition = this.partition;
    if (partition === undefined) return undefined;
    const wait = this.waiters.add(ids);
    return wait && { wait, headers: { [REPLY_TO_HEADER]: String(partition) } };
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
