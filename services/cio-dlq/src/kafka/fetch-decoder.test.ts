import { decodeRecordBatches, FetchDecodeError } from './fetch-decoder';

// Record batches encoded by kafkajs' own producer-side encoder, so the decoder is
// checked against an independent implementation of the format.
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (options: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
};
const Record: (
  options: Record<string, unknown>,
) => unknown = require('kafkajs/src/protocol/recordBatch/record/v0');
const { Types: Compression, lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression');
const Long = require('kafkajs/src/utils/long');

const decompress = (codec: number, data: Buffer) => lookupCodecByAttributes(codec).decompress(data);

async function batch(
  firstOffset: number,
  records: Array<Record<string, unknown>>,
  options: Record<string, unknown> = {},
) {
  const encoded = await RecordBatch({
    firstOffset: Long.fromValue(firstOffset),
    firstTimestamp: 1716403000000,
    maxTimestamp: 1716403000000 + records.length,
    lastOffsetDelta: records.length - 1,
    records: records.map((r, i) =>
      Record({ offsetDelta: i, timestampDelta: i, key: r.key, value: r.value, headers: r.headers }),
    ),
    ...options,
  });
  return encoded.buffer;
}

const records = [
  {
    key: Buffer.from('user-1'),
    value: Buffer.from('{"a":1}'),
    headers: { 'x-dlq-error-class': Buffer.from('http_4xx') },
  },
  { key: null, value: Buffer.from('é'), headers: {} },
  { key: Buffer.from('user-3'), value: null, headers: { dup: Buffer.from('1') } },
];

describe('decodeRecordBatches', () => {
  it('decodes offsets, timestamps, keys, values and headers byte for byte', async () => {
    const data = Buffer.concat([await batch(40, records), await batch(43, records.slice(0, 1))]);
    const { records: decoded, nextOffset } = await decodeRecordBatches(data, {
      topic: 't',
      partition: 0,
      fromOffset: 0n,
      endOffset: 1000n,
      decompress,
    });
    expect(nextOffset).toBe(44n);
    expect(decoded.map((r) => [r.offset, r.timestamp])).toEqual([
      ['40', '1716403000000'],
      ['41', '1716403000001'],
      ['42', '1716403000002'],
      ['43', '1716403000000'],
    ]);
    expect(decoded[0]!.key).toEqual(Buffer.from('user-1'));
    expect(decoded[0]!.headers).toEqual({ 'x-dlq-error-class': Buffer.from('http_4xx') });
    expect(decoded[1]!.key).toBeNull();
    expect(decoded[1]!.value).toEqual(Buffer.from('é'));
    expect(decoded[2]!.value).toBeNull();
  });

  it('keeps only offsets in [from, end) and leaves a cut-off batch for the next fetch', async () => {
    const first = await batch(10, records);
    const second = await batch(13, records);
    const data = Buffer.concat([first, second.subarray(0, second.length - 5)]);
    const { records: decoded, nextOffset } = await decodeRecordBatches(data, {
      topic: 't',
      partition: 0,
      fromOffset: 11n,
      endOffset: 12n,
      decompress,
    });
    expect(decoded.map((r) => r.offset)).toEqual(['11']);
    expect(nextOffset).toBe(13n);
  });

  it('decompresses gzip batches', async () => {
    const data = await batch(0, records, { compression: Compression.GZIP });
    const { records: decoded } = await decodeRecordBatches(data, {
      topic: 't',
      partition: 0,
      fromOffset: 0n,
      endOffset: 10n,
      decompress,
    });
    expect(decoded.map((r) => r.value?.toString() ?? null)).toEqual(['{"a":1}', 'é', null]);
    expect(decoded[2]!.headers).toEqual({ dup: Buffer.from('1') });
  });

  it('drops messages of aborted transactions', async () => {
    const producerId = Long.fromValue(7);
    const aborted = await batch(0, records.slice(0, 2), { transactional: true, producerId });
    const committed = await batch(2, records.slice(0, 1), {
      producerId: Long.fromValue(8),
      transactional: true,
    });
    const { records: decoded } = await decodeRecordBatches(Buffer.concat([aborted, committed]), {
      topic: 't',
      partition: 0,
      fromOffset: 0n,
      endOffset: 10n,
      abortedTransactions: [{ producerId: 7n, firstOffset: 0n }],
      decompress,
    });
    expect(decoded.map((r) => r.offset)).toEqual(['2']);
  });

  it('refuses the pre-0.11 message format', async () => {
    const data = Buffer.from(await batch(0, records));
    data.writeInt8(1, 16);
    await expect(
      decodeRecordBatches(data, { topic: 't', partition: 0, fromOffset: 0n, endOffset: 10n, decompress }),
    ).rejects.toThrow(FetchDecodeError);
  });
});
