import { createHash } from 'node:crypto';
import type { OutgoingMessage } from '@cio-bridge/kafka';
import {
  type FieldError,
  type PredictionWebhook,
  personKey,
  type ReportingWebhook,
  type TrackOperation,
  validateTrackOperationJson,
} from '@cio-bridge/schemas';
import { ulid } from 'ulid';

/** The value of `customerio.predictions` (see the design's "prediction" message). */
export interface PredictionMessage {
  user_id: PredictionWebhook['user_id'];
  predictions: PredictionWebhook['predictions'];
  /** the signed X-CIO-Timestamp as ISO time: when Customer.io made the prediction */
  as_of: string;
  received_at: string;
  /** sha256 of the raw body, hex */
  webhook_id: string;
}

export function predictionMessage(
  webhook: PredictionWebhook,
  signedTimestamp: number,
  receivedAtMs: number,
  webhookId: string,
): OutgoingMessage {
  const value: PredictionMessage = {
    user_id: webhook.user_id,
    predictions: webhook.predictions,
    as_of: new Date(signedTimestamp * 1000).toISOString(),
    received_at: new Date(receivedAtMs).toISOString(),
    webhook_id: webhookId,
  };
  return { key: String(webhook.user_id), value: JSON.stringify(value) };
}

/** A non-empty string, else undefined (Customer.io sends null or "" for unset identifiers). */
const present = (value: string | null | undefined): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The Customer.io person id of a reporting event, as received: `identifiers.id`, else
 * the (deprecated) `customer_id`, else `identifiers.cio_id`, `identifiers.email`; the
 * event id when the person is unknown (deleted people have none), so it still spreads.
 */
export function reportingKey(event: ReportingWebhook): string {
  const identifiers = event.data.identifiers ?? {};
  return (
    present(identifiers.id) ??
    present(event.data.customer_id) ??
    present(identifiers.cio_id) ??
    present(identifiers.email) ??
    String(event.event_id)
  );
}

/** A reporting event goes to `customerio.reporting` byte for byte, as Customer.io sent it. */
export const reportingMessage = (event: ReportingWebhook, rawBody: Buffer): OutgoingMessage => ({
  key: reportingKey(event),
  value: rawBody,
});

const SUPPRESSING_METRICS = new Set(['bounced', 'spammed']);

/** An email that bounced or was marked as spam. */
export const isSuppressingEvent = (event: ReportingWebhook): boolean =>
  event.object_type === 'email' && SUPPRESSING_METRICS.has(event.metric);

/**
 * A ULID that is the same for every delivery of one reporting event: the event's time
 * and 80 bits of sha256(event id). A retried webhook thus yields the same operation id,
 * and Customer.io drops the duplicate.
 */
export function deterministicUlid(seed: string, timeMs: number): string {
  const digest = createHash('sha256').update(seed).digest();
  let index = 0;
  // ulid draws one base32 character per call; one digest byte each (16 of 32 bytes).
  const prng = () => (digest[index++ % digest.length] ?? 0) / 256;
  return ulid(timeMs, prng);
}

const MAX_ULID_TIME = 2 ** 48 - 1;

/** A suppress operation to publish, or why the event yields none (field errors, no content). */
export type SuppressOutcome = { ok: true; message: OutgoingMessage } | { ok: false; errors: FieldError[] };

/**
 * The `suppress` Track operation for a bounced or spammed email, on the person's first
 * identifier of `id`, `cio_id`, `email` (the recipient when no identifier is set) that
 * makes a valid Track operation: validated like every operation the producer accepts,
 * so a recipient that is no email address suppresses nobody. Undefined when the event
 * names nobody.
 */
export function suppressOperation(event: ReportingWebhook, nowMs: number): SuppressOutcome | undefined {
  const identifiers = event.data.identifiers ?? {};
  const id = present(identifiers.id) ?? present(event.data.customer_id);
  const cioId = present(identifiers.cio_id);
  const email = present(identifiers.email) ?? present(event.data.recipient);
  const candidates: TrackOperation['identifiers'][] = [
    ...(id ? [{ id }] : []),
    ...(cioId ? [{ cio_id: cioId }] : []),
    ...(email ? [{ email }] : []),
  ];
  if (candidates.length === 0) return undefined;
  const eventMs = event.timestamp * 1000;
  const timeMs = Number.isSafeInteger(eventMs) && eventMs >= 0 && eventMs <= MAX_ULID_TIME ? eventMs : nowMs;
  const errors: FieldError[] = [];
  for (const chosen of candidates) {
    const operation: TrackOperation = {
      id: deterministicUlid(`suppress:${event.event_id}`, timeMs),
      action: 'suppress',
      type: 'person',
      identifiers: chosen,
    };
    const validation = validateTrackOperationJson(operation);
    if (validation.ok) return { ok: true, message: { key: personKey(operation), value: validation.json } };
    errors.push(...validation.errors);
  }
  return { ok: false, errors };
}
