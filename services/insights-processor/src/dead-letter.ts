import type { OutgoingMessage } from '@cio-bridge/kafka';
import type { KafkaMessage } from 'kafkajs';
import { sqlState } from './sql';

/** The part of `Publisher` the worker needs: resolves once Kafka acknowledged (acks=all). */
export interface MessagePublisher {
  publish(topic: string, messages: OutgoingMessage[]): Promise<void>;
}

/** Where a rejected message came from. */
export interface Origin {
  topic: string;
  partition: number;
  message: KafkaMessage;
  consumerGroup: string;
}

/**
 * A prediction the database rejected, for `customerio.predictions.dlq`: its key and
 * value byte for byte, and the design's dead-letter headers. The error names only the
 * SQLSTATE: Postgres messages can quote the offending value, which may be personal data.
 */
export function predictionDeadLetter(
  { topic, partition, message, consumerGroup }: Origin,
  error: unknown,
  nowMs: number,
): OutgoingMessage {
  const state = sqlState(error) ?? 'unknown';
  const failedAt = new Date(nowMs).toISOString();
  const headers: Record<string, string | Buffer> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (name.startsWith('x-dlq-') || value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = first;
  }
  Object.assign(headers, {
    'x-dlq-original-topic': topic,
    'x-dlq-original-partition': String(partition),
    'x-dlq-original-offset': message.offset,
    'x-dlq-original-timestamp': message.timestamp,
    'x-dlq-consumer-group': consumerGroup,
    'x-dlq-error-class': 'validation',
    'x-dlq-http-status': '',
    'x-dlq-error-message': `the database rejected the prediction (SQLSTATE ${state})`,
    'x-dlq-attempts': '1',
    'x-dlq-first-failed-at': failedAt,
    'x-dlq-last-failed-at': failedAt,
  });
  return { key: message.key?.toString() ?? '', value: message.value ?? Buffer.alloc(0), headers };
}
