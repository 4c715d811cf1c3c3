import { headerString, type Publisher, type TopicSpec } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import type { WorkerMetrics } from '../metrics';
import type { Item, Settlement } from './engine';
import { countedReport, OutcomePublisher } from './outcome-publisher';

/**
 * Delivery receipts (opt-in with WORKER_RECEIPTS_TOPIC): one compact message per
 * operation the worker finished, so upstream teams can answer "did my event reach
 * Customer.io?" from Kafka. Keyed like the operation (the person), so one person's
 * receipts stay in order on one partition.
 */
export interface Receipt {
  /** the operation id (the `id` the producer or SDK assigned; Customer.io's event id) */
  id: string | null;
  /** the Kafka key of the operation (the person) */
  key: string | null;
  /** where the operation was read: join on these, or on `id` */
  topic: string;
  partition: number;
  offset: string;
  outcome: Settlement['outcome'];
  /** requests that carried it, the settling one included */
  attempts: number;
  /** from the operation's Kafka timestamp to its outcome */
  latency_ms: number;
  /** Customer.io's HTTP status for the request that settled it; null when none answered */
  status: number | null;
  /** why it was dead-lettered (the x-dlq-error-class); null when delivered */
  error_class: string | null;
  /** when the worker recorded the outcome (ISO 8601) */
  at: string;
}

/** Receipts live as long as the operations they describe. */
export const receiptsTopicSpec = (name: string): TopicSpec => ({
  name,
  partitions: 12,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
});

export function receiptOf(item: Item, settlement: Settlement, now: number): Receipt {
  const { envelope } = item;
  const produced = Number(envelope.timestamp);
  return {
    id: item.op?.id ?? headerString(envelope.headers, 'x-operation-id') ?? null,
    key: envelope.key === null ? null : envelope.key.toString('utf8'),
    topic: envelope.topic,
    partition: envelope.partition,
    offset: envelope.offset,
    outcome: settlement.outcome,
    // item.attempts counts failed requests; a delivery adds the one that succeeded
    attempts: settlement.outcome === 'delivered' ? item.attempts + 1 : Math.max(1, item.attempts),
    latency_ms: Number.isFinite(produced) ? Math.max(0, now - produced) : 0,
    status: settlement.status,
    error_class: settlement.errorClass ?? null,
    at: new Date(now).toISOString(),
  };
}

export interface ReceiptsOptions {
  publisher: Publisher;
  topic: string;
  logger: Logger;
  metrics: WorkerMetrics;
  now?: () => number;
}

/**
 * Publishes receipts without holding up delivery: the offset is committed on the
 * outcome, not on the receipt, so a receipt is at most once per outcome and may be
 * lost when Kafka refuses it (counted and logged). The receipts of one turn of the
 * event loop go out as one publication. After a crash an operation can be delivered,
 * and receipted, again: consumers keep the last receipt per `id`.
 */
export class Receipts {
  private readonly outcomes: OutcomePublisher;
  private readonly now: () => number;

  constructor(options: ReceiptsOptions) {
    this.now = options.now ?? Date.now;
    const { publisher, topic, logger, metrics } = options;
    this.outcomes = new OutcomePublisher({
      publisher,
      topic,
      report: countedReport(metrics.receipts, logger, topic, 'delivery receipts'),
    });
  }

  record(item: Item, settlement: Settlement): void {
    const receipt = receiptOf(item, settlement, this.now());
    const headers: Record<string, string> = {};
    if (receipt.id) headers['x-operation-id'] = receipt.id;
    this.outcomes.enqueue({ key: receipt.key ?? '', value: JSON.stringify(receipt), headers });
  }

  /** Publishes the receipts still queued and waits for them (on stop, before the producer disconnects). */
  flush(): Promise<void> {
    return this.outcomes.flush();
  }
}
