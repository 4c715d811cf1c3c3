import { DLQ_HEADER_PREFIX, type DlqHeaderName } from '@cio-bridge/contracts';
import type { OutgoingMessage, Publisher } from '@cio-bridge/kafka';
import type { Logger } from '@cio-bridge/logger';
import type { IHeaders, Producer } from 'kafkajs';
import type { ApiHealth } from '../health/api-health';
import type { DeadLetterBlock } from '../health/faults';
import type { WorkerMetrics } from '../metrics';
import { sleep } from './pacer';
import { GrowingPause } from './retry-policy';
import type { DeadLetter } from './types';

/**
 * Longest `x-dlq-error-message`: the failure headers add about 1.3 KB to a message with
 * a full-length message; a short one keeps a message that fitted its topic fitting the
 * dead-letter topic. A letter the broker still refuses as too large goes without it.
 */
export const MAX_ERROR_MESSAGE_CHARS = 200;

/** Why a dead-letter write failed, as far as it decides what to do next. */
export type DeadLetterFailure =
  /** the broker refuses the message's size: write it again with the shortest headers */
  | 'too_large'
  /** the worker may not write to the dead-letter topic: a configuration fault */
  | 'unauthorized'
  /** anything else (broker away, leader moving, timeout): try again */
  | 'transient';

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const UNAUTHORIZED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
]);

/** Classifies what producing a dead letter threw, looking through kafkajs's wrapping errors. */
export function classifyDeadLetterFailure(error: unknown): DeadLetterFailure {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift() as
      | { type?: string; name?: string; cause?: unknown; originalError?: unknown; errors?: unknown[] }
      | undefined;
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    if (current.type && TOO_LARGE.has(current.type)) return 'too_large';
    if (current.type && UNAUTHORIZED.has(current.type)) return 'unauthorized';
    if (current.name === 'KafkaJSSASLAuthenticationError') return 'unauthorized';
    queue.push(
      current.cause,
      current.originalError,
      ...(Array.isArray(current.errors) ? current.errors : []),
    );
  }
  return 'transient';
}

/**
 * The dead letter for a message: its key and value byte for byte, its headers, and
 * the failure headers (replacing those of an earlier dead-lettering of a replay).
 * `x-dlq-http-status` is empty when no HTTP answer was involved (validation,
 * timeout, network).
 */
export function deadLetterMessage(
  letter: DeadLetter,
  consumerGroup: string,
  maxMessageChars = MAX_ERROR_MESSAGE_CHARS,
) {
  const { envelope } = letter.item;
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(envelope.headers ?? {})) {
    if (!name.startsWith(DLQ_HEADER_PREFIX) && value !== undefined) headers[name] = value;
  }
  const message = letter.error.message.replace(/\s+/g, ' ').slice(0, maxMessageChars);
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
    const message = deadLetterMessage(letter, consumerGroup, letter.shortest ? 0 : MAX_ERROR_MESSAGE_CHARS);
    if (message.key === null || message.value === null) {
      await producer.send({ topic, acks: -1, messages: [message] });
      return;
    }
    await publisher.publish(topic, [message as unknown as OutgoingMessage]);
  };
}

export interface DeadLetterSinkOptions {
  /** writes one dead letter; resolves once Kafka acknowledged it */
  write: (letter: DeadLetter) => Promise<void>;
  api: 'track' | 'app';
  metrics: WorkerMetrics;
  logger: Logger;
  /** aborted when the engine stops: a failing write then gives up */
  signal: AbortSignal;
  /** told while dead letters cannot be written (a configuration fault) and once they can */
  health: ApiHealth;
}

/** Writes dead letters until they are written, classifying what goes wrong on the way. */
export class DeadLetterSink {
  /** dead letters that cannot be written, by reason */
  private readonly blockedLetters = new Map<DeadLetter, DeadLetterBlock>();

  constructor(private readonly options: DeadLetterSinkOptions) {}

  /** Why dead letters cannot be written, if any are blocked. */
  get blocked(): DeadLetterBlock | undefined {
    return this.blockedLetters.values().next().value;
  }

  /**
   * Keeps trying (Kafka may be away for a while) until written or stopping. A letter the
   * broker refuses as too large is written again at once with the shortest failure
   * headers; one still too large, or one the worker may not write, is a configuration
   * fault: the topic pauses (its partition's commit point cannot move anyway) and the
   * write is tried again with growing pauses until the topic's settings allow it.
   */
  async write(letter: DeadLetter): Promise<void> {
    const pause = new GrowingPause(500, 10_000);
    const api = this.options.api;
    for (;;) {
      try {
        await this.options.write(letter);
        this.unblock(letter);
        return;
      } catch (error) {
        if (this.options.signal.aborted) {
          this.unblock(letter);
          throw error;
        }
        const failure = classifyDeadLetterFailure(error);
        this.options.metrics.deadLetterWriteFailures.inc({ api, reason: failure });
        if (failure === 'too_large' && !letter.shortest) {
          letter.shortest = true;
          continue;
        }
        if (failure !== 'transient') this.block(letter, failure);
        const retryInMs = pause.next();
        this.options.logger.warn(
          { err: error, reason: failure, offset: letter.item.envelope.offset, retryInMs },
          failure === 'too_large'
            ? 'the dead-letter topic refuses this message as too large (its max.message.bytes is below the source topic’s); trying again'
            : failure === 'unauthorized'
              ? 'the worker may not write to the dead-letter topic (ACLs); trying again'
              : 'writing to the dead-letter topic failed; trying again',
        );
        await sleep(retryInMs, this.options.signal);
      }
    }
  }

  private block(letter: DeadLetter, reason: DeadLetterBlock): void {
    this.blockedLetters.set(letter, reason);
    this.options.health.deadLettersRefused(this.blocked ?? reason);
  }

  private unblock(letter: DeadLetter): void {
    if (!this.blockedLetters.delete(letter)) return;
    const still = this.blocked;
    if (still) this.options.health.deadLettersRefused(still);
    else this.options.health.deadLettersWritten();
  }
}
