import { SEED_EVENT_NAMES } from '@cio-bridge/schemas';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type Outcome =
  | 'accepted'
  | 'invalid'
  | 'malformed'
  | 'unauthorized'
  | 'too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'overloaded'
  | 'error';

/** Event names beyond this many distinct ones are counted as `_other`, to bound label cardinality. */
const MAX_EVENT_LABELS = 200;

export type ProducerMetrics = ReturnType<typeof createProducerMetrics>;

/** The service's own metrics, on the registry the composition root passes in. */
export function createProducerMetrics(registry: Registry) {
  const requests = new Counter({
    name: 'cio_bridge_producer_requests_total',
    help: 'Ingest requests by route and outcome',
    labelNames: ['route', 'outcome'],
    registers: [registry],
  });
  const published = new Counter({
    name: 'cio_bridge_producer_operations_published_total',
    help: 'Operations Kafka acknowledged, by action and event name (transactional sends: action "transactional")',
    labelNames: ['action', 'event'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'cio_bridge_producer_publish_duration_seconds',
    help: 'Time from handing messages to the producer until Kafka acknowledged them (acks=all)',
    labelNames: ['topic'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const pending = new Gauge({
    name: 'cio_bridge_producer_pending_bytes',
    help: 'Bytes of messages waiting for Kafka to acknowledge them',
    registers: [registry],
  });
  const known = new Set<string>(SEED_EVENT_NAMES);
  const eventLabel = (name: string | undefined): string => {
    if (name === undefined) return '';
    if (known.has(name)) return name;
    if (known.size < SEED_EVENT_NAMES.length + MAX_EVENT_LABELS) {
      known.add(name);
      return name;
    }
    return '_other';
  };
  return {
    request: (route: string, outcome: Outcome) => requests.inc({ route, outcome }),
    published: (action: string, event: string | undefined) =>
      published.inc({ action, event: eventLabel(event) }),
    observePublish: (topic: string, seconds: number) => latency.observe({ topic }, seconds),
    pendingBytes: (bytes: number) => pending.set(bytes),
  };
}

/** Requests that waited for outcomes (`Prefer: wait=N`) and the replies that answered them. */
export function createWaitMetrics(registry: Registry) {
  return {
    waits: new Counter({
      name: 'cio_bridge_producer_waits_total',
      help: 'Requests with Prefer: wait by result: answered (200), timed_out (202 with pending), refused (202 at once: PRODUCER_MAX_WAITERS or no reply partition)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    waiting: new Gauge({
      name: 'cio_bridge_producer_waiting_operations',
      help: 'Operations whose outcome requests are waiting for (bounded by PRODUCER_MAX_WAITERS)',
      registers: [registry],
    }),
    replies: new Counter({
      name: 'cio_bridge_producer_replies_total',
      help: 'Worker replies read from the replies partition of this instance: matched a waiting request, or unmatched (late, dropped)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type WaitMetrics = ReturnType<typeof createWaitMetrics>;
