import { readEntry } from './dlq-entry';
import type { RawMessage } from './kafka/topic-reader';
import { describeOperation } from './operation';

const raw = (
  value: unknown,
  headers: Record<string, string> = {},
  key: string | null = 'user-1',
): RawMessage => ({
  topic: 'customerio.dlq',
  partition: 2,
  offset: '1045',
  timestamp: '1716403000000',
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
});

describe('describeOperation', () => {
  it('reads a seed event (no action, a name)', () => {
    const op = describeOperation(
      Buffer.from(
        JSON.stringify({
          id: '01HX',
          name: 'product_scanned',
          identifiers: { id: 'user-123' },
          timestamp: 1716403000,
        }),
      ),
    );
    expect(op).toMatchObject({
      action: 'event',
      eventName: 'product_scanned',
      person: 'user-123',
      id: '01HX',
      time: 1716403000000,
    });
  });

  it('reads identify, merge and transactional sends', () => {
    const identify = describeOperation(
      Buffer.from(
        JSON.stringify({
          action: 'identify',
          identifiers: { email: 'a@b.co' },
          timestamp: '2024-05-22T18:35:12Z',
        }),
      ),
    );
    expect(identify).toMatchObject({
      action: 'identify',
      person: 'a@b.co',
      time: Date.parse('2024-05-22T18:35:12Z'),
    });
    expect(identify.eventName).toBeUndefined();
    const merge = describeOperation(
      Buffer.from(JSON.stringify({ action: 'merge', primary: { id: 'p' }, secondary: { email: 's@b.co' } })),
    );
    expect(merge).toMatchObject({ action: 'merge', person: 'p', identifiers: ['p', 's@b.co'] });
    const send = describeOperation(
      Buffer.from(
        JSON.stringify({ transactional_message_id: 12, to: 'jane@example.com', identifiers: { id: 'u1' } }),
      ),
    );
    expect(send).toMatchObject({
      action: 'send_email',
      person: 'u1',
      identifiers: ['u1', 'jane@example.com'],
    });
  });

  it('is lenient with values that are not operations', () => {
    expect(describeOperation(Buffer.from('not json'))).toMatchObject({
      action: 'unknown',
      problem: 'value is not JSON',
    });
    expect(describeOperation(null)).toMatchObject({ action: 'unknown', problem: 'no value (tombstone)' });
    expect(describeOperation(Buffer.from('[1]'))).toMatchObject({ action: 'unknown' });
    expect(
      describeOperation(Buffer.from(JSON.stringify({ action: 'fly', identifiers: { id: 'x' } }))),
    ).toMatchObject({
      action: 'unknown',
      person: 'x',
      problem: 'unknown action "fly"',
    });
  });
});

describe('readEntry', () => {
  it('reads the dead-letter headers', () => {
    const entry = readEntry(
      raw(
        { id: '01HX', action: 'identify', identifiers: { id: 'user-1' } },
        {
          'x-dlq-original-topic': 'customerio.track',
          'x-dlq-original-partition': '7',
          'x-dlq-original-offset': '88',
          'x-dlq-original-timestamp': '2024-05-22T18:35:12.000Z',
          'x-dlq-consumer-group': 'cio-worker',
          'x-dlq-error-class': 'http_4xx',
          'x-dlq-http-status': '400',
          'x-dlq-error-message': 'attribute too long',
          'x-dlq-attempts': '1',
          'x-dlq-first-failed-at': '2024-05-22T18:35:13.000Z',
          'x-dlq-last-failed-at': '2024-05-22T18:35:14.000Z',
          'x-replay-count': '2',
          'x-replayed-from': 'customerio.dlq:0:3',
        },
      ),
    );
    expect(entry).toMatchObject({
      coordinate: '2:1045',
      time: 1716403000000,
      key: 'user-1',
      replayCount: 2,
      replayedFrom: 'customerio.dlq:0:3',
      failure: {
        originalTopic: 'customerio.track',
        originalPartition: 7,
        originalOffset: '88',
        originalTimestamp: Date.parse('2024-05-22T18:35:12.000Z'),
        consumerGroup: 'cio-worker',
        errorClass: 'http_4xx',
        httpStatus: 400,
        errorMessage: 'attribute too long',
        attempts: 1,
        firstFailedAt: Date.parse('2024-05-22T18:35:13.000Z'),
        lastFailedAt: Date.parse('2024-05-22T18:35:14.000Z'),
      },
    });
  });

  it('copes with missing or malformed headers', () => {
    const entry = readEntry(raw('x', { 'x-dlq-http-status': '', 'x-dlq-original-offset': 'abc' }, null));
    expect(entry.key).toBeNull();
    expect(entry.replayCount).toBe(0);
    expect(entry.failure).toMatchObject({ errorClass: 'unknown', errorMessage: '' });
    expect(entry.failure.httpStatus).toBeUndefined();
    expect(entry.failure.originalOffset).toBeUndefined();
    expect(entry.failure.originalTopic).toBeUndefined();
  });
});
