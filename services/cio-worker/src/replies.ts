import { REPLY_TO_HEADER } from '@cio-bridge/contracts';
import { headerString, type Publisher } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import { Counter, type Registry } from 'prom-client';
import type { Item, Settlement } from './engine';
import { type Receipt, receiptOf } from './receipts';

/**
 * The answer to a caller waiting for an operation (`Prefer: wait`, `sendAndWait`): the
 * receipt's outcome fields, without where the message was read, plus the App API's
 * `delivery_id` of a transactional send. Key: the operation id.
 */
export type Reply = Pick<Receipt, 'id' | 'outcome' | 'status' | 'error_class' | 'attempts' | 'at'> & {
  delivery_id: string | null;
};

export function replyOf(item: Item, settlement: Settlement, now: number): Reply {
  const { id, outcome, status, error_class, attempts, at } = receiptOf(item, settlement, now);
  return { id, outcome, status, error_class, attempts, at, delivery_id: settlement.deliveryId ?? null };
}

/** The partition of the replies topic a waited operation asks its answer on; undefined: nobody waits. */
export function replyPartition(item: Item): number | undefined {
  const address = headerString(item.envelope.headers, REPLY_TO_HEADER);
  if (address === undefined || !/^\d{1,6}$/.test(address)) return undefined;
  return Number(address);
}

export function createRepliesMetrics(registry: Registry) {
  return {
    replies: new Counter({
      name: 'cio_bridge_worker_replies_total',
      help: 'Replies to waiting callers (x-reply-to) by result: published, or failed (the caller gets pending)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type RepliesMetrics = ReturnType<typeof createRepliesMetrics>;

export interface RepliesOptions {
  publisher: Publisher;
  /** the replies topic of the catalog (KAFKA_TOPIC_REPLIES) */
  topic: string;
  logger: Logger;
  metrics: RepliesMetrics;
  now?: () => number;
}

/**
 * Publishes one reply per settled operation that carries a reply address, to the
 * partition it names, and nothing for the others. Like receipts, a reply never holds
 * delivery up: offsets follow the outcome, and a lost reply leaves the caller with
 * `pending` (the operation itself is delivered or dead-lettered all the same).
 */
export class Replies {
  private readonly pending = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly options: RepliesOptions) {
    this.now = options.now ?? Date.now;
  }

  record(item: Item, settlement: Settlement): void {
    const partition = replyPartition(item);
    if (partition === undefined) return;
    const reply = replyOf(item, settlement, this.now());
    if (reply.id === null) return;
    const sent = this.options.publisher
      .publish(this.options.topic, [{ key: reply.id, value: JSON.stringify(reply), partition }])
      .then(
        () => this.options.metrics.replies.inc({ result: 'published' }),
        (error: unknown) => {
          this.options.metrics.replies.inc({ result: 'failed' });
          this.options.logger.warn(
            { err: error, partition, operationId: reply.id },
            'could not publish a reply to a waiting caller',
          );
        },
      );
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  /** Waits for the replies still on their way (on stop, before the producer disconnects). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
