import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { QUARANTINE_KINDS } from './classify';

/** How a webhook request ended; each maps to one answer. */
export const OUTCOMES = [
  'accepted', // 200, published
  'quarantined', // 200, signed but invalid: published to the quarantine topic
  'replayed', // 200, already published within the window
  'bad_signature', // 401, missing or wrong signature or headers
  'stale', // 401, signed timestamp outside the tolerance
  'bad_credentials', // 401, no valid journey credential, or one that may not carry this kind of webhook
  'forbidden', // 403, the source address is not in WEBHOOK_ALLOWED_SOURCES
  'invalid', // 400, 413, 415
  'unavailable', // 503, Kafka (or the replay store) could not take it; Customer.io retries
  'error', // 500, a bug
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export type PublishedKind = 'prediction' | 'reporting' | 'suppress' | 'quarantine';

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;

/** The service's own metrics, on the registry the composition root passes in. */
export function createWebhookMetrics(registry: Registry) {
  const requests = new Counter({
    name: 'cio_bridge_webhook_requests_total',
    help: 'Customer.io webhook requests by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'cio_bridge_webhook_processing_duration_seconds',
    help: 'Time from receiving a webhook to answering it (verification, validation, Kafka acknowledgement)',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const published = new Counter({
    name: 'cio_bridge_webhook_messages_published_total',
    help: 'Messages published to Kafka from webhooks, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const kafkaAck = new Histogram({
    name: 'cio_bridge_webhook_kafka_ack_duration_seconds',
    help: 'Time from handing a webhook to the publisher to Kafka acknowledging it (acks=all), or failing',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const quarantined = new Counter({
    name: 'cio_bridge_webhook_quarantined_total',
    help: 'Signed webhooks that failed validation, published to the quarantine topic, by what they looked like (prediction, reporting, unreadable)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const unknownKinds = new Counter({
    name: 'cio_bridge_webhook_unknown_kinds_total',
    help: 'Reporting events of an object type or metric the schema does not list, published as received',
    registers: [registry],
  });
  // Every series exists from the start, so rates and alerts work before the first failure.
  for (const outcome of OUTCOMES) requests.inc({ outcome }, 0);
  for (const kind of ['prediction', 'reporting', 'suppress', 'quarantine'] as const)
    published.inc({ kind }, 0);
  for (const kind of QUARANTINE_KINDS) quarantined.inc({ kind }, 0);
  return { requests, duration, published, kafkaAck, quarantined, unknownKinds };
}

/** The outcome of an answer no handler labelled (errors raised by the body parser and the like). */
export function outcomeOfStatus(status: number): Outcome {
  if (status < 300) return 'accepted';
  if (status === 401) return 'bad_signature';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'invalid';
  return 'error';
}

/** The replay store's Redis fallback (0 without REDIS_URL). */
export function createReplayStoreMetrics(registry: Registry) {
  return {
    fallback: new Gauge({
      name: 'cio_bridge_webhook_replay_store_fallback',
      help: '1 while Redis is unavailable and this replica guards against replays with its in-process store',
      registers: [registry],
    }),
  };
}

export type ReplayStoreMetrics = ReturnType<typeof createReplayStoreMetrics>;
