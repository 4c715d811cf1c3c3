import { PipelinesClient } from 'customerio-node';
import type { Channel } from '../delivery/engine';
import type { DeliveryError } from '../errors';
import type { WorkerMetrics } from '../metrics';
import { batchBody, postJson } from './http-post';

export interface PipelinesOptions {
  /** base URL without a path (https://cdp.customer.io, or a sandbox's URL); `/v1` is appended */
  url: string;
  /** the Pipelines API key (write key of the "Customer.io API" source) */
  apiKey: string;
}

/**
 * Customer.io's Pipelines limits: 32 KB per call and 500 KB per `/v1/batch` request.
 * Whether "KB" is 1,000 or 1,024 bytes is unconfirmed, so the batch cap is the stricter
 * figure Customer.io's own Python library uses (475,000 bytes, leaving padding).
 */
export const PIPELINES_LIMITS = { callBytes: 32 * 1024, batchBytes: 475_000 } as const;

/**
 * The Pipelines API as the Track topic's channel: every request is a `/v1/batch` (one
 * operation may be several calls, e.g. an identify with relationships is an identify and
 * group calls), with `X-Strict-Mode: 1` so invalid data gets a 4xx instead of a silent 200,
 * and Basic authentication with the key and an empty password. Pipelines documents no
 * per-item errors, so a refused batch (400) is a whole-batch failure: the engine then sends
 * each operation alone to find the culprit, as it does for a Track batch refused whole.
 * A 401 pauses consuming like any credential fault. The client's own retries are off.
 */
export function pipelinesChannel(
  options: PipelinesOptions,
  timeoutMs: number,
  metrics: WorkerMetrics,
): Channel {
  const client = new PipelinesClient(options.apiKey, {
    url: `${options.url}/v1`,
    strictMode: true,
    timeout: timeoutMs,
    retry: { maxRetries: 0 },
  });
  const uri = `${options.url}/v1/batch`;
  const observe = (status: string, seconds: number) =>
    metrics.requestDuration.observe({ api: 'pipelines', endpoint: 'batch', status }, seconds);
  const send = async (bodies: Buffer[]) => {
    await postJson(client.request, uri, batchBody(bodies), observe);
  };
  return {
    // The Track topic's channel: its budget, pause and metrics are the Track topic's.
    api: 'track',
    async sendBatch(bodies) {
      await send(bodies);
      return new Map<number, DeliveryError>();
    },
    async sendOne(body) {
      await send([body]);
    },
  };
}
