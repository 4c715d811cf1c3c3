import { REPLY_TO_HEADER } from '@cio-bridge/contracts';
import { headerString, type Publisher } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import type { WorkerMetrics } from '../metrics';
import type { Item, Settlement } from './engine';
import { countedReport, OutcomePublisher } from './outcome-publisher';
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

export interface RepliesOptions {
  publisher: Publisher;
  /** the replies topic of the catalog (KAFKA_TOPIC_REPLIES) */
  topic: string;
  logger: Logger;
  metrics: Pick<WorkerMetrics, 'replies'>;
  now?: () => number;
}

/**
 * Publishes one reply per settled operation that carries a reply address, to the
 * partition it names, and nothing for the others. Like receipts, a reply never holds
 * delivery up: offsets follow the outcome, and a lost reply leaves the caller with
 * `pending` (the operation itself is delivered or dead-lettered all the same). The
 * replies of one turn of the event loop go out as one publication.
 */
export class Replies {
  private readonly outcomes: OutcomePublisher;
  private readonly now: () => number;

  constructor(options: RepliesOptions) {
    this.now = options.now ?? Date.now;
    const { publisher, topic, logger, metrics } = options;
    this.outcomes = new OutcomePublisher({
      publisher,
      topic,
      report: countedReport(metrics.replies, logger, topic, 'replies to waiting callers'),
    });
  }

  record(item: Item, settlement: Settlement): void {
    const partition = replyPartition(item);
    if (partition === undefined) return;
    const reply = replyOf(item, settlement, this.now());
    if (reply.id === null) return;
    this.outcomes.enqueue({ key: reply.id, value: JSON.stringify(reply), partition });
  }

  /** Publishes the replies still queued and waits for them (on stop, before the producer disconnects). */
  flush(): Promise<void> {
    return this.outcomes.flush();
  }
}
