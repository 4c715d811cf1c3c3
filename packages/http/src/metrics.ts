import { collectDefaultMetrics, Registry } from 'prom-client';

/** A registry per service (never prom-client's global one), with process metrics. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
