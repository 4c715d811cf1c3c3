import type { OutgoingMessage, TopicNames } from '@cio-bridge/kafka';
import { type Classification, classifyWebhook } from './classify';
import { isSuppressingEvent, predictionMessage, reportingMessage, suppressOperation } from './messages';
import type { PublishedKind } from './metrics';

/** The headers of a `customerio.webhooks.quarantine` message (the signature headers as received). */
export const QUARANTINE_HEADERS = {
  reason: 'x-quarantine-reason',
  receivedAt: 'x-quarantine-received-at',
  timestamp: 'x-cio-timestamp',
  signature: 'x-cio-signature',
} as const;

export type RouteTopics = Pick<TopicNames, 'predictions' | 'reporting' | 'track' | 'quarantine'>;

export interface SignedWebhook {
  /** the body exactly as received */
  raw: Buffer;
  /** sha256 of the raw body, hex */
  id: string;
  /** the verified X-CIO-Timestamp (unix seconds) */
  timestamp: number;
  /** the X-CIO-Timestamp and X-CIO-Signature as received (kept in quarantine so the body can be verified again) */
  headers: { timestamp: string; signature: string };
  receivedAtMs: number;
}

export interface RoutedMessage {
  topic: string;
  kind: PublishedKind;
  message: OutgoingMessage;
}

export interface Routing {
  classification: Classification;
  messages: RoutedMessage[];
  /** why a bounce yields no suppress operation: field pointers and reasons, never values */
  suppressErrors?: string[];
}

/** The body as JSON, or undefined when it is not JSON (such requests are refused before routing). */
export function parseBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Where one correctly signed webhook goes, and as what: the single owner of that
 * decision, used by the HTTP handler and by `cio-dlq reroute` for quarantined bodies.
 */
export function routeWebhook(
  webhook: SignedWebhook,
  body: unknown,
  topics: RouteTopics,
  { suppressOnBounce = false }: { suppressOnBounce?: boolean } = {},
): Routing {
  const classification = classifyWebhook(body);
  const messages: RoutedMessage[] = [];
  let suppressErrors: string[] | undefined;
  if (classification.kind === 'prediction') {
    messages.push({
      topic: topics.predictions,
      kind: 'prediction',
      message: predictionMessage(classification.value, webhook.timestamp, webhook.receivedAtMs, webhook.id),
    });
  } else if (classification.kind === 'reporting') {
    messages.push({
      topic: topics.reporting,
      kind: 'reporting',
      message: reportingMessage(classification.value, webhook.raw),
    });
    if (suppressOnBounce && classification.known && isSuppressingEvent(classification.value)) {
      const suppress = suppressOperation(classification.value, webhook.receivedAtMs);
      if (suppress?.ok) messages.push({ topic: topics.track, kind: 'suppress', message: suppress.message });
      else if (suppress) suppressErrors = suppress.errors.map((e) => `${e.pointer} ${e.message}`);
    }
  } else {
    messages.push({
      topic: topics.quarantine,
      kind: 'quarantine',
      message: {
        key: webhook.id,
        value: webhook.raw,
        headers: {
          [QUARANTINE_HEADERS.timestamp]: webhook.headers.timestamp,
          [QUARANTINE_HEADERS.signature]: webhook.headers.signature,
          [QUARANTINE_HEADERS.reason]: classification.reason,
          [QUARANTINE_HEADERS.receivedAt]: new Date(webhook.receivedAtMs).toISOString(),
        },
      },
    });
  }
  return { classification, messages, ...(suppressErrors && { suppressErrors }) };
}
