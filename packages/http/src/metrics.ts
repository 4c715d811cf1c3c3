import { collectDefaultMetrics, Registry } from 'prom-client';

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
