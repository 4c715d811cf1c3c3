import type { ErrorClass } from '@cio-bridge/contracts';
import { maskEmails } from '@cio-bridge/logger';
import { CustomerIORequestError } from 'customerio-node';

/** The dead-letter topic's `x-dlq-error-class` values (owned by @cio-bridge/contracts). */
export type { ErrorClass };

/** Why an operation was not delivered; `retriable` says whether trying again can help. */
export class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
    readonly retriable: boolean,
    readonly status?: number,
    /** from Retry-After, in milliseconds */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** 401/403: Customer.io rejects the credentials; a configuration fault, never the message's. */
  get authentication(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** The message is not an operation Customer.io would accept; it goes to the dead-letter topic at once. */
export class ValidationError extends DeliveryError {
  override name = 'ValidationError';
  constructor(message: string) {
    super('validation', message, false);
  }
}

/**
 * Whether the request may have reached Customer.io although no answer came back: a
 * timeout, or a connection lost other than while connecting.
 */
export function maybeSent(error: DeliveryError): boolean {
  if (error.errorClass === 'timeout' && error.status === undefined) return true;
  if (error.errorClass !== 'network') return false;
  return !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/.test(error.message);
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds, capped at `maxMs`. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now(), maxMs = 300_000) {
  if (value == null || value.trim() === '') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, ms), maxMs);
}

// Customer.io's answer goes to logs and x-dlq-error-message: it may quote the operation,
// so emails in it are masked.
const bodyMessage = (error: CustomerIORequestError): string => {
  const body = error.body?.trim();
  if (!body) return maskEmails(error.message);
  return maskEmails(body.length > 300 ? `${body.slice(0, 300)}...` : body);
};

/**
 * Classifies what the Customer.io client threw: HTTP statuses (429 and 408 and 5xx
 * retriable, other 4xx permanent), timeouts and network failures (retriable), and
 * anything else as `unknown` (retriable, since it is most likely transient: an
 * unparseable error page from a proxy, for example).
 */
export function classifyError(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  if (error instanceof CustomerIORequestError) {
    const status = error.statusCode;
    const message = `Customer.io answered ${status}: ${bodyMessage(error)}`;
    if (status === 429) {
      return new DeliveryError(
        'rate_limited',
        message,
        true,
        status,
        parseRetryAfter(error.response?.headers?.['retry-after']),
      );
    }
    if (status === 408) return new DeliveryError('timeout', message, true, status);
    if (status >= 500) {
      return new DeliveryError(
        'http_5xx',
        message,
        true,
        status,
        parseRetryAfter(error.response?.headers?.['retry-after']),
      );
    }
    return new DeliveryError('http_4xx', message, false, status);
  }
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new DeliveryError('timeout', `Customer.io did not answer in time (${e.message})`, true);
  }
  if (e?.name === 'TypeError' && e.message === 'fetch failed') {
    const cause = e.cause?.code ?? e.cause?.message ?? 'connection failed';
    return new DeliveryError('network', `network error: ${cause}`, true);
  }
  return new DeliveryError('unknown', e?.message ?? String(error), true);
}
