// The metrics table, from each service's own metric factories on a fresh registry.

import { createWorkerMetrics } from '@cio-bridge/cio-worker/metrics';
import { createHttpMetrics } from '@cio-bridge/http';
import { createCacheMetrics, createInsightsMetrics } from '@cio-bridge/insights-processor/metrics';
import { createProducerMetrics, createWaitMetrics } from '@cio-bridge/producer/metrics';
import { createReplayStoreMetrics, createWebhookMetrics } from '@cio-bridge/webhook-handler/metrics';
import { Registry } from 'prom-client';
import { code, codeList, table } from './markdown';

/** Each service's metric factories (the HTTP layer's first: every service serves it). */
const METRIC_SOURCES: ((registry: Registry) => unknown)[] = [
  createHttpMetrics,
  createWorkerMetrics,
  createInsightsMetrics,
  createCacheMetrics,
  createProducerMetrics,
  createWaitMetrics,
  createWebhookMetrics,
  createReplayStoreMetrics,
];

interface MetricDescription {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

async function describeMetrics(register: (registry: Registry) => unknown): Promise<MetricDescription[]> {
  const registry = new Registry();
  register(registry);
  const metrics = await registry.getMetricsAsJSON();
  return metrics.map((metric) => {
    // prom-client's JSON has no label names for a metric without series: read them off the metric
    const labelNames = (registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] })
      .labelNames;
    return { name: metric.name, type: String(metric.type), help: metric.help, labels: labelNames ?? [] };
  });
}

export async function metricsTable(): Promise<string> {
  const rows: string[][] = [];
  for (const source of METRIC_SOURCES) {
    for (const metric of await describeMetrics(source)) {
      rows.push([code(metric.name), metric.type, codeList(metric.labels), metric.help]);
    }
  }
  return table(['metric', 'type', 'labels', 'meaning'], rows);
}
