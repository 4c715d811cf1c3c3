import { createHash } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { PredictionMessage } from '../prediction';
import type { ReportingEvent } from '../reporting';

/** A prediction message as the webhook-handler publishes it. */
export function predictionMessage(
  userId: string | number,
  predictions: Record<string, unknown>,
  asOf: string,
): { key: string; value: string } {
  const body = JSON.stringify({ user_id: userId, predictions });
  const value: PredictionMessage = {
    user_id: userId,
    predictions,
    as_of: asOf,
    received_at: new Date().toISOString(),
    webhook_id: createHash('sha256').update(`${asOf}:${body}`).digest('hex'),
  };
  return { key: String(userId), value: JSON.stringify(value) };
}

/** A reporting webhook event keyed by its person, value as received. */
export function reportingMessage(event: ReportingEvent): { key: string; value: string } {
  const identifiers = (event.data?.identifiers ?? {}) as { id?: string };
  return { key: identifiers.id ?? event.event_id, value: JSON.stringify(event) };
}

export function emailEvent(
  eventId: string,
  metric: string,
  timestamp: number,
  personId = '42',
): ReportingEvent {
  return {
    event_id: eventId,
    object_type: 'email',
    metric,
    timestamp,
    data: {
      action_id: 42,
      customer_id: personId,
      delivery_id: `delivery-${eventId}`,
      identifiers: { id: personId, email: 'person@example.com', cio_id: `cio-${personId}` },
      recipient: 'person@example.com',
    },
  };
}

/** Produces with an idempotent producer of its own, acks=all. */
export async function produce(
  kafka: Kafka,
  topic: string,
  messages: { key: string; value: string; partition?: number }[],
): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}
