import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * A registry per service (never prom-client's global one), with process metrics. It adds
 * no labels of its own: Prometheus's `job` (and `namespace`, `instance`) say which
 * service and deployment a series comes from.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export type HttpMetrics = ReturnType<typeof createHttpMetrics>;

/** The request metrics every service's HTTP server registers (createHttpApp adds them). */
export function createHttpMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'cio_bridge_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'cio_bridge_http_request_duration_seconds',
      help: 'HTTP request processing time by route',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
