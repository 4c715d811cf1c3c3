import {
  DLQ_HEADERS as DLQ_HEADER_NAMES,
  DLQ_HEADER_PREFIX,
  type DlqHeaderName,
} from '@cio-bridge/contracts';
import type { OutgoingMessage, Publisher } from '@cio-bridge/kafka';
import type { IHeaders, Producer } from 'kafkajs';
import type { DeadLetter } from './engine';

/** The headers the design adds to a dead letter, in the order they are written. */
export const DLQ_HEADERS = Object.values(DLQ_HEADER_NAMES);

const MAX_MESSAGE_CHARS = 1_000;

/**
 * The dead letter for a message: its key and value byte for byte, its headers, and
 * the failure headers (replacing those of an earlier dead-lettering of a replay).
 * `x-dlq-http-status` is empty when no HTTP answer was involved (validation,
 * timeout, network).
 */
export function deadLetterMessage(letter: DeadLetter, consumerGroup: string) {
  const { envelope } = letter.item;
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(envelope.headers ?? {})) {
    if (!name.startsWith(DLQ_HEADER_PREFIX) && value !== undefined) headers[name] = value;
  }
  const message = letter.error.message.replace(/\s+/g, ' ').slice(0, MAX_MESSAGE_CHARS);
  const added: Record<DlqHeaderName, string> = {
    'x-dlq-original-topic': envelope.topic,
    'x-dlq-original-partition': String(envelope.partition),
    'x-dlq-original-offset': envelope.offset,
    'x-dlq-original-timestamp': envelope.timestamp,
    'x-dlq-consumer-group': consumerGroup,
    'x-dlq-error-class': letter.error.errorClass,
    'x-dlq-http-status': letter.error.status === undefined ? '' : String(letter.error.status),
    'x-dlq-error-message': message,
    'x-dlq-attempts': String(letter.attempts),
    'x-dlq-first-failed-at': new Date(letter.firstFailedAt).toISOString(),
    'x-dlq-last-failed-at': new Date(letter.lastFailedAt).toISOString(),
  };
  Object.assign(headers, added);
  return { key: envelope.key, value: envelope.value, headers };
}

/**
 * Writes dead letters through the shared publisher (acks=all, produce requests shared
 * by concurrent callers). kafkajs sends Buffer keys and values and array-valued
 * headers as they are, which OutgoingMessage's narrower types do not admit (a string
 * conversion would not be byte for byte); a message without a key, which the
 * publisher cannot size, goes straight to the idempotent producer.
 */
export function deadLetterWriter(
  publisher: Publisher,
  producer: Producer,
  topic: string,
  consumerGroup: string,
) {
  return async (letter: DeadLetter): Promise<void> => {
    const message = deadLetterMessage(letter, consumerGroup);
    if (message.key === null || message.value === null) {
      await producer.send({ topic, acks: -1, messages: [message] });
      return;
    }
    await publisher.publish(topic, [message as unknown as OutgoingMessage]);
  };
}
