import { DLQ_HEADERS } from '@cio-bridge/contracts';
import { KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { DeliveryError } from '../errors';
import { classifyDeadLetterFailure, deadLetterMessage, MAX_ERROR_MESSAGE_CHARS } from './dead-letter';
import type { Item } from './engine';

const item = (headers: Item['envelope']['headers'] = {}): Item => ({
  envelope: {
    topic: 'customerio.track',
    partition: 4,
    offset: '1234',
    timestamp: '1716402912000',
    key: Buffer.from([0x75, 0xff, 0x31]),
    value: Buffer.from('{"name":"x","identifiers":{"id":"u"}}'),
    headers,
  },
  attempts: 3,
  single: true,
  state: 'dead_lettering',
  source: { revoked: false, finish: () => {} },
});

describe('deadLetterMessage', () => {
  it('keeps key and value byte for byte and the original headers, and fills every failure header', () => {
    const original = item({ 'x-operation-id': Buffer.from('01HZ'), traceparent: '00-abc' });
    const message = deadLetterMessage(
      {
        item: original,
        error: new DeliveryError('http_4xx', 'Customer.io answered 400:\n name is required', false, 400),
        attempts: 3,
        firstFailedAt: Date.parse('2024-05-22T18:35:12Z'),
        lastFailedAt: Date.parse('2024-05-22T18:35:14Z'),
      },
      'cio-worker',
    );
    expect(message.key).toBe(original.envelope.key);
    expect(message.value).toBe(original.envelope.value);
    expect(message.headers['x-operation-id']).toEqual(Buffer.from('01HZ'));
    expect(message.headers.traceparent).toBe('00-abc');
    expect(message.headers).toMatchObject({
      'x-dlq-original-topic': 'customerio.track',
      'x-dlq-original-partition': '4',
      'x-dlq-original-offset': '1234',
      'x-dlq-original-timestamp': '1716402912000',
      'x-dlq-consumer-group': 'cio-worker',
      'x-dlq-error-class': 'http_4xx',
      'x-dlq-http-status': '400',
      'x-dlq-error-message': 'Customer.io answered 400: name is required',
      'x-dlq-attempts': '3',
      'x-dlq-first-failed-at': '2024-05-22T18:35:12.000Z',
      'x-dlq-last-failed-at': '2024-05-22T18:35:14.000Z',
    });
    for (const header of Object.values(DLQ_HEADERS)) expect(message.headers[header]).toBeDefined();
  });

  it('replaces the failure headers of an earlier dead-lettering (a replay that failed again)', () => {
    const message = deadLetterMessage(
      {
        item: item({ 'x-dlq-error-class': 'http_5xx', 'x-dlq-attempts': '12' }),
        error: new DeliveryError('validation', 'invalid Track operation', false),
        attempts: 1,
        firstFailedAt: 0,
        lastFailedAt: 0,
      },
      'g',
    );
    expect(message.headers['x-dlq-error-class']).toBe('validation');
    expect(message.headers['x-dlq-attempts']).toBe('1');
    expect(message.headers['x-dlq-http-status']).toBe('');
  });
});

describe('dead-letter size and failures', () => {
  const letter = (message: string) => ({
    item: item(),
    error: new DeliveryError('http_4xx', message, false, 400),
    attempts: 1,
    firstFailedAt: 0,
    lastFailedAt: 0,
  });

  it('shortens x-dlq-error-message, and drops it for the shortest form', () => {
    const long = 'x'.repeat(5_000);
    expect(String(deadLetterMessage(letter(long), 'g').headers['x-dlq-error-message'])).toHaveLength(
      MAX_ERROR_MESSAGE_CHARS,
    );
    expect(deadLetterMessage(letter(long), 'g', 0).headers['x-dlq-error-message']).toBe('');
  });

  const protocol = (type: string) => Object.assign(new KafkaJSProtocolError('broker says no'), { type });
  it.each([
    ['MESSAGE_TOO_LARGE', protocol('MESSAGE_TOO_LARGE'), 'too_large'],
    ['RECORD_LIST_TOO_LARGE', protocol('RECORD_LIST_TOO_LARGE'), 'too_large'],
    ['TOPIC_AUTHORIZATION_FAILED', protocol('TOPIC_AUTHORIZATION_FAILED'), 'unauthorized'],
    [
      'wrapped TOPIC_AUTHORIZATION_FAILED',
      // kafkajs's retrier wraps a non-retriable error and keeps it as the cause.
      Object.assign(new KafkaJSNonRetriableError('not retriable'), {
        cause: protocol('TOPIC_AUTHORIZATION_FAILED'),
      }),
      'unauthorized',
    ],
    ['NOT_LEADER_FOR_PARTITION', protocol('NOT_LEADER_FOR_PARTITION'), 'transient'],
    ['a plain error', new Error('Connection closed'), 'transient'],
  ])('classifies %s', (_name, error, expected) => {
    expect(classifyDeadLetterFailure(error)).toBe(expected);
  });
});
