/**
 * Customer.io's webhook sender (reporting-webhooks.openapi.json, "Securely
 * verifying requests" and "Timeouts and failures"): the body is signed with
 * HMAC-SHA256 over `v0:<timestamp>:<raw body>`, sent with `X-CIO-Timestamp` and
 * `X-CIO-Signature`, and retried with exponential backoff until a 2xx answer.
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
  url: string;
  signingKey: string;
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
  /** the signed timestamp and signature that were sent */
  timestamp: number;
  signature: string;
}

/** Signs and posts one webhook, retrying on non-2xx answers and network errors. */
export async function sendWebhook(options: SendWebhookOptions): Promise<WebhookResult> {
  const {
    url,
    signingKey,
    body,
    timestamp = Math.floor(Date.now() / 1000),
    maxAttempts = 5,
    baseDelayMs = 200,
    maxDelayMs = 5000,
    timeoutMs = 4000,
  } = options;
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const signature = signWebhook(signingKey, timestamp, raw);
  let status = 0;
  let error: string | undefined;
  let attempts = 0;
  while (attempts < maxAttempts) {
    if (attempts > 0) await sleep(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1)));
    attempts++;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-CIO-Timestamp': String(timestamp),
          'X-CIO-Signature': signature,
          'User-Agent': 'Customer.io Webhooks (cio-sandbox)',
        },
        body: raw,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      status = response.status;
      error = undefined;
      if (status >= 200 && status < 300) return { status, attempts, delivered: true, timestamp, signature };
    } catch (caught) {
      status = 0;
      const e = caught as Error & { cause?: { code?: string; message?: string } };
      error = e.cause?.code ?? e.cause?.message ?? e.message;
    }
  }
  return { status, attempts, delivered: false, ...(error ? { error } : {}), timestamp, signature };
}
