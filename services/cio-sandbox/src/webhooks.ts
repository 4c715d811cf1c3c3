/**
 * Customer.io's webhook sender, both kinds:
 * - reporting webhooks (reporting-webhooks.openapi.json, "Securely verifying requests"
 *   and "Timeouts and failures"): the body is signed with HMAC-SHA256 over
 *   `v0:<timestamp>:<raw body>`, sent with `X-CIO-Timestamp` and `X-CIO-Signature`;
 * - a journey's "send and receive data" webhook action, which cannot sign: Basic
 *   credentials in the URL become an `Authorization: Basic` header, and custom headers
 *   are sent as configured.
 * Both are retried with exponential backoff until a 2xx answer.
 */

import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** The hex HMAC-SHA256 of `v0:<timestamp>:<rawBody>` keyed with the signing key. */
export function signWebhook(
  signingKey: string,
  timestamp: number | string,
  rawBody: string | Buffer,
): string {
  const hmac = createHmac('sha256', signingKey);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return hmac.digest('hex');
}

export interface SendWebhookOptions {
  /** may carry Basic credentials (`https://user:password@host/...`), as a journey's URL does */
  url: string;
  /** signs the request (reporting webhooks); without it the request is journey-style */
  signingKey?: string;
  /** custom headers (a journey action's secret header, for example) */
  headers?: Record<string, string>;
  /** an object (sent as JSON) or the raw body, byte for byte */
  body: unknown;
  /** unix seconds; default now */
  timestamp?: number;
  /** total attempts including the first (default 5) */
  maxAttempts?: number;
  /** the first retry's delay; doubles each time (default 200 ms) */
  baseDelayMs?: number;
  /** cap for one delay (default 5000 ms) */
  maxDelayMs?: number;
  /** per attempt; Customer.io waits 4 seconds */
  timeoutMs?: number;
}

export interface WebhookResult {
  /** the last HTTP status, 0 when no answer came (network error or timeout) */
  status: number;
  attempts: number;
  delivered: boolean;
  /** the last network error, when the last attempt got no answer */
  error?: string;
  /** the time of sending, and the signature when the request was signed */
  timestamp: number;
  signature?: string;
}

/** The URL without its credentials, and the Authorization header they make (as HTTP clients send them). */
export function splitCredentials(url: string): { url: string; authorization?: string } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { url };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return {
    url: parsed.toString(),
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  };
}

/** Posts one webhook (signed when a signing key is given), retrying on non-2xx answers and network errors. */
export async function sendWebhook(options: SendWebhookOptions): Promise<WebhookResult> {
  const {
    signingKey,
    body,
    timestamp = Math.floor(Date.now() / 1000),
    maxAttempts = 5,
    baseDelayMs = 200,
    maxDelayMs = 5000,
    timeoutMs = 4000,
  } = options;
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const signature = signingKey === undefined ? undefined : signWebhook(signingKey, timestamp, raw);
  const { url, authorization } = splitCredentials(options.url);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': 'Customer.io Webhooks (cio-sandbox)',
    ...options.headers,
    ...(authorization && { Authorization: authorization }),
    ...(signature && { 'X-CIO-Timestamp': String(timestamp), 'X-CIO-Signature': signature }),
  };
  let status = 0;
  let error: string | undefined;
  let attempts = 0;
  while (attempts < maxAttempts) {
    if (attempts > 0) await sleep(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1)));
    attempts++;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body: raw,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      status = response.status;
      error = undefined;
      if (status >= 200 && status < 300)
        return { status, attempts, delivered: true, timestamp, ...(signature && { signature }) };
    } catch (caught) {
      status = 0;
      const e = caught as Error & { cause?: { code?: string; message?: string } };
      error = e.cause?.code ?? e.cause?.message ?? e.message;
    }
  }
  return {
    status,
    attempts,
    delivered: false,
    ...(error ? { error } : {}),
    timestamp,
    ...(signature && { signature }),
  };
}
