import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Keeps the `event` label bounded: unknown event names are accepted, so there may be many. */
class LabelLimiter {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  label(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}

/** The worker's Prometheus metrics, registered on the registry passed in. */
export function createWorkerMetrics(registry: Registry) {
  const registers = [registry];
  const events = new LabelLimiter(200);
  const metrics = {
    delivered: new Counter({
      name: 'cio_bridge_worker_operations_delivered_total',
      help: 'Operations Customer.io accepted, by API, action and event name',
      labelNames: ['api', 'action', 'event'],
      registers,
    }),
    retried: new Counter({
      name: 'cio_bridge_worker_operations_retried_total',
      help: 'Delivery attempts that failed transiently and will be retried',
      labelNames: ['api', 'action', 'event', 'error_class'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'cio_bridge_worker_operations_dead_lettered_total',
      help: 'Operations written to the dead-letter topic',
      labelNames: ['api', 'action', 'event', 'error_class'],
      registers,
    }),
    requestDuration: new Histogram({
      name: 'cio_bridge_worker_request_duration_seconds',
      help: 'Customer.io request latency by API, endpoint and status (or timeout/network)',
      labelNames: ['api', 'endpoint', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    inFlight: new Gauge({
      name: 'cio_bridge_worker_operations_in_flight',
      help: 'Operations taken from Kafka and not yet delivered or dead-lettered',
      labelNames: ['topic'],
      registers,
    }),
    requestsInFlight: new Gauge({
      name: 'cio_bridge_worker_requests_in_flight',
      help: 'Requests to Customer.io awaiting an answer',
      labelNames: ['api'],
      registers,
    }),
    lag: new Gauge({
      name: 'cio_bridge_worker_consumer_lag_messages',
      help: 'Messages in the partition after the committable offset (high watermark minus it)',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    rateLimitWait: new Histogram({
      name: 'cio_bridge_worker_rate_limit_wait_seconds',
      help: 'Time requests waited for rate-limit budget (the sum is the total time spent waiting)',
      labelNames: ['api'],
      buckets: [0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    rateLimitRps: new Gauge({
      name: 'cio_bridge_worker_rate_limit_requests_per_second',
      help: 'Current request rate allowed towards Customer.io (lower after 429s)',
      labelNames: ['api'],
      registers,
    }),
    throttled: new Counter({
      name: 'cio_bridge_worker_rate_limited_responses_total',
      help: 'Responses 429 from Customer.io',
      labelNames: ['api'],
      registers,
    }),
    authFailures: new Counter({
      name: 'cio_bridge_worker_auth_failures_total',
      help: 'Requests Customer.io rejected with 401/403 (credentials)',
      labelNames: ['api'],
      registers,
    }),
    credentialsRejected: new Gauge({
      name: 'cio_bridge_worker_credentials_rejected',
      help: '1 while Customer.io rejects the credentials of the API and consuming is paused',
      labelNames: ['api'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'cio_bridge_worker_batch_operations',
      help: 'Operations per request',
      labelNames: ['api'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    }),
    ledgerFallback: new Gauge({
      name: 'cio_bridge_worker_ledger_fallback',
      help: '1 while Redis is unavailable and this instance keeps the transactional send ledger in process (effect-once within this instance only)',
      registers,
    }),
    replies: new Counter({
      name: 'cio_bridge_worker_replies_total',
      help: 'Replies to waiting callers (x-reply-to) by result: published, or failed (the caller gets pending)',
      labelNames: ['result'] as const,
      registers,
    }),
    receipts: new Counter({
      name: 'cio_bridge_worker_receipts_total',
      help: 'Delivery receipts (WORKER_RECEIPTS_TOPIC) by result: published, or failed (lost)',
      labelNames: ['result'],
      registers,
    }),
    hotPartitions: new Gauge({
      name: 'cio_bridge_worker_hot_partitions',
      help: 'Partitions paused because one person they carry holds more than WORKER_MAX_PER_PERSON operations',
      labelNames: ['topic'],
      registers,
    }),
    endpointFault: new Gauge({
      name: 'cio_bridge_worker_endpoint_fault',
      help: '1 while the Customer.io endpoint or account refuses every operation of the API (404/405, one status for everyone, or the start-up check); consuming is paused',
      labelNames: ['api'],
      registers,
    }),
    ledgerSkipped: new Counter({
      name: 'cio_bridge_worker_sends_skipped_total',
      help: 'Transactional sends not sent again because the effect-once ledger shows them accepted before',
      labelNames: ['api'],
      registers,
    }),
    budgetFallback: new Gauge({
      name: 'cio_bridge_worker_shared_budget_fallback',
      help: '1 while Redis is unavailable and this instance uses the budget divided by the instances last seen sharing it',
      labelNames: ['api'],
      registers,
    }),
    deadLetterWriteFailures: new Counter({
      name: 'cio_bridge_worker_dead_letter_write_failures_total',
      help: 'Failed writes to the dead-letter topic, by reason (too_large, unauthorized, transient)',
      labelNames: ['api', 'reason'],
      registers,
    }),
    deadLetterBlocked: new Gauge({
      name: 'cio_bridge_worker_dead_letter_blocked',
      help: '1 while dead letters cannot be written (too large for the topic, or not authorized); consuming is paused',
      labelNames: ['api'],
      registers,
    }),
    /** The `event` label of an event name: bounded (unknown names are accepted, so there may be many). */
    eventLabel: (name: string): string => (name === '' ? '' : events.label(name)),
  };
  // Every per-API series exists from the start, so alerts and panels see 0, not nothing.
  for (const api of ['track', 'app'] as const) {
    metrics.throttled.inc({ api }, 0);
    metrics.authFailures.inc({ api }, 0);
    metrics.credentialsRejected.set({ api }, 0);
    metrics.endpointFault.set({ api }, 0);
    metrics.deadLetterBlocked.set({ api }, 0);
    metrics.deadLetterWriteFailures.inc({ api, reason: 'transient' }, 0);
  }
  return metrics;
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
