import type { OutgoingMessage, Publisher } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import type { Counter } from 'prom-client';

/** How one publication of outcome messages ended: their count, and the error when Kafka refused them. */
export type OutcomeReport = (result: 'published' | 'failed', count: number, error?: unknown) => void;

/** A report that counts messages by result on `counter` and logs each refused publication once, naming `what` was lost. */
export function countedReport(
  counter: Counter<'result'>,
  logger: Logger,
  topic: string,
  what: string,
): OutcomeReport {
  return (result, count, error) => {
    counter.inc({ result }, count);
    if (result === 'failed') logger.warn({ err: error, topic, count }, `could not publish ${what}`);
  };
}

export interface OutcomePublisherOptions {
  publisher: Publisher;
  topic: string;
  /** told once per publication (not per message) */
  report: OutcomeReport;
  /** most messages in one publication (default 1,000) */
  maxBatch?: number;
}

/**
 * Publishes compact per-operation outcome messages (receipts, replies) without holding
 * up delivery: messages enqueued in one turn of the event loop go out together, as one
 * publication (one promise, one timer, one produce request), instead of one each. At
 * most once: a publication Kafka refuses is reported, not retried.
 */
export class OutcomePublisher {
  private queued: OutgoingMessage[] = [];
  private scheduled = false;
  private readonly pending = new Set<Promise<void>>();
  private readonly maxBatch: number;

  constructor(private readonly options: OutcomePublisherOptions) {
    this.maxBatch = options.maxBatch ?? 1_000;
  }

  enqueue(message: OutgoingMessage): void {
    this.queued.push(message);
    if (this.queued.length >= this.maxBatch) this.publishQueued();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.publishQueued());
    }
  }

  /** Publishes what is queued and waits for every publication on its way (on stop). */
  async flush(): Promise<void> {
    this.publishQueued();
    await Promise.all([...this.pending]);
  }

  private publishQueued(): void {
    this.scheduled = false;
    if (this.queued.length === 0) return;
    const messages = this.queued;
    this.queued = [];
    const { publisher, topic, report } = this.options;
    const sent = publisher.publish(topic, messages).then(
      () => report('published', messages.length),
      (error: unknown) => report('failed', messages.length, error),
    );
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }
}
