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
