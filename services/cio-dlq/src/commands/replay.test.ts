import type { RawMessage } from '../kafka/topic-reader';
import { replayMessage } from '../replay/plan';
import { newRunId } from './replay';

describe('replayMessage', () => {
  const value = Buffer.from('{"id":"01HX","action":"identify","identifiers":{"id":"user-1"}}');
  const key = Buffer.from([0x75, 0x2d, 0xc3, 0xa9]); // "u-é" in UTF-8
  const raw: RawMessage = {
    topic: 'customerio.dlq',
    partition: 2,
    offset: '1045',
    timestamp: '1716403000000',
    key,
    value,
    headers: {
      traceparent: Buffer.from('00-abc-def-01'),
      'x-dlq-original-topic': Buffer.from('customerio.track'),
      'x-dlq-error-class': Buffer.from('http_5xx'),
      'x-replay-count': Buffer.from('1'),
      'x-replayed-from': Buffer.from('customerio.dlq:0:7'),
    },
  };

  it('drops the reply address: a replay produces no reply to a caller who waited long ago', () => {
    const waited = { ...raw, headers: { ...raw.headers, 'x-reply-to': Buffer.from('3') } };
    expect(replayMessage(waited, 'customerio.dlq', 2).headers).not.toHaveProperty('x-reply-to');
  });

  it('keeps key, value and other headers byte for byte, drops dead-letter headers, adds replay headers', () => {
    const message = replayMessage(raw, 'customerio.dlq', 2);
    expect(Buffer.from(message.key as unknown as Buffer).equals(key)).toBe(true);
    expect(message.value).toBe(value);
    expect(message.headers).toEqual({
      traceparent: Buffer.from('00-abc-def-01'),
      'x-replay-count': '2',
      'x-replayed-from': 'customerio.dlq:2:1045',
    });
  });
});

describe('newRunId', () => {
  it('is readable and sortable by time', () => {
    expect(newRunId(Date.parse('2024-05-22T18:35:12.345Z'))).toMatch(/^20240522T183512-[0-9a-f]{6}$/);
  });
});
