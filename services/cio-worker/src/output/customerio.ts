import { APIClient, TrackClient } from 'customerio-node';
import type { Channel } from '../delivery/engine';
import { DeliveryError } from '../errors';
import type { WorkerMetrics } from '../metrics';
import { batchBody, postJson } from './http-post';

export interface CustomerioOptions {
  /** Track API base URL without a path (https://track.customer.io, or a sandbox's URL) */
  trackUrl: string;
  /** App API base URL without a path (https://api.customer.io) */
  appUrl: string;
  /** the Track API's site id and key; absent in a Pipelines-only workspace (CIO_API=pipelines) */
  siteId?: string;
  apiKey?: string;
  /** App API key; without it transactional sends are not consumed */
  appApiKey?: string;
  /** CIO_REGION: checked against the account's region at start */
  region?: 'us' | 'eu';
}

/** The Track API's site id and key (start-up validation requires them with CIO_API=track). */
export function trackCredentials(options: CustomerioOptions): { siteId: string; apiKey: string } {
  if (!options.siteId || !options.apiKey) throw new Error('the Track API needs CIO_SITE_ID and CIO_API_KEY');
  return { siteId: options.siteId, apiKey: options.apiKey };
}

/** The per-item errors of a 207 answer, by batch index. */
function batchFailures(json: Record<string, unknown>, size: number): Map<number, DeliveryError> {
  const failures = new Map<number, DeliveryError>();
  const errors = Array.isArray(json?.errors) ? (json.errors as Record<string, unknown>[]) : [];
  for (const error of errors) {
    const index = Number(error?.batch_index);
    if (!Number.isInteger(index) || index < 0 || index >= size) continue;
    const detail = [error.reason, error.field, error.message].filter(
      (part) => part !== undefined && part !== '',
    );
    failures.set(
      index,
      new DeliveryError(
        'http_4xx',
        `Customer.io rejected the operation in a batch (207): ${detail.join(': ')}`,
        false,
        207,
      ),
    );
  }
  return failures;
}

/**
 * The Track API through customerio-node's TrackClient: many operations per
 * `/api/v2/batch` request, and `/api/v2/entity` for one operation alone. The client's
 * own retries are off: the worker retries with its budget, ordering and dead letters.
 */
export function trackChannel(options: CustomerioOptions, timeoutMs: number, metrics: WorkerMetrics): Channel {
  const { siteId, apiKey } = trackCredentials(options);
  const client = new TrackClient(siteId, apiKey, {
    url: `${options.trackUrl}/api/v1`,
    timeout: timeoutMs,
    retry: { maxRetries: 0 },
  });
  const v2 = `${options.trackUrl}/api/v2`;
  const observe = (endpoint: string) => (status: string, seconds: number) =>
    metrics.requestDuration.observe({ api: 'track', endpoint, status }, seconds);
  return {
    api: 'track',
    async sendBatch(bodies) {
      const json = await postJson(client.request, `${v2}/batch`, batchBody(bodies), observe('batch'));
      return batchFailures(json, bodies.length);
    },
    async sendOne(body) {
      await postJson(client.request, `${v2}/entity`, body, observe('entity'));
    },
  };
}

/**
 * The App API through customerio-node's APIClient: one `/v1/send/email` request per
 * transactional send, the body as it was produced (SendEmailRequest would drop fields
 * it does not know).
 */
export function appChannel(
  options: CustomerioOptions & { appApiKey: string },
  timeoutMs: number,
  metrics: WorkerMetrics,
): Channel {
  const client = new APIClient(options.appApiKey, {
    url: `${options.appUrl}/v1`,
    timeout: timeoutMs,
    retry: { maxRetries: 0 },
  });
  return {
    api: 'app',
    async sendOne(body) {
      const answer = await postJson(
        client.request,
        `${options.appUrl}/v1/send/email`,
        body,
        (status, seconds) =>
          metrics.requestDuration.observe({ api: 'app', endpoint: 'send_email', status }, seconds),
      );
      const deliveryId = answer?.delivery_id;
      return typeof deliveryId === 'string' ? { deliveryId } : undefined;
    },
  };
}
