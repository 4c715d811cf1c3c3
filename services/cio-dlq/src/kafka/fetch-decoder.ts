import type { IHeaders } from 'kafkajs';

// A lean decoder for Fetch responses (versions 4 to 11) and record batches (magic 2).
// kafkajs' own decoder builds each message's headers with an object spread per header
// and goes through a Long library per field: for dead letters, with a dozen headers
// each, that was most of the time and memory of reading 100,000 of them. This one
// makes one object per message, and Buffers that are slices of the response.

export class FetchDecodeError extends Error {
  override name = 'FetchDecodeError';
  readonly retriable = false;
}

/** One partition of a Fetch response, its record batches still encoded. */
export interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }>;
  records: Buffer | null;
}

export interface FetchResponse {
  errorCode: number;
  topics: Array<{ topic: string; partitions: FetchedPartition[] }>;
}

/** A message decoded from a record batch. */
export interface DecodedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** ms since the epoch, as a string (kafkajs' form) */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

class Reader {
  offset = 0;
  constructor(readonly buffer: Buffer) {}

  int8(): number {
    const v = this.buffer.readInt8(this.offset);
    this.offset += 1;
    return v;
  }
  int16(): number {
    const v = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    const v = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  int64(): bigint {
    const v = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }
  string(): string {
    const length = this.int16();
    if (length < 0) return '';
    const v = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return v;
  }
  bytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    const v = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return v;
  }
  /** zig-zag varint (up to 32 bits) */
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buffer[this.offset++];
      if (byte === undefined) throw new FetchDecodeError('record ends inside a varint');
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new FetchDecodeError('varint longer than 5 bytes');
    }
    return (result >>> 1) ^ -(result & 1);
  }
  /** zig-zag varlong, as a Number (timestamp deltas fit easily) */
  varlong(): number {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.buffer[this.offset++];
      if (byte === undefined) throw new FetchDecodeError('record ends inside a varlong');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
      if (shift > 63n) throw new FetchDecodeError('varlong longer than 10 bytes');
    }
    return Number((result >> 1n) ^ -(result & 1n));
  }
  varBytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const v = this.buffer.subarray(this.offset, this.offset + length);
    if (v.length < length) throw new FetchDecodeError('record shorter than its field');
    this.offset += length;
    return v;
  }
  varString(): string {
    const length = this.varint();
    if (length < 0) return '';
    const v = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return v;
  }
}

/** Decodes a Fetch response body of version 4 to 11, leaving record batches encoded. */
export function decodeFetchResponse(data: Buffer, apiVersion: number): FetchResponse {
  if (apiVersion < 4 || apiVersion > 11)
    throw new FetchDecodeError(`unsupported Fetch version ${apiVersion}`);
  const r = new Reader(data);
  r.int32(); // throttle time
  const errorCode = apiVersion >= 7 ? r.int16() : 0;
  if (apiVersion >= 7) r.int32(); // session id
  const topics: FetchResponse['topics'] = [];
  const topicCount = r.int32();
  for (let t = 0; t < topicCount; t++) {
    const topic = r.string();
    const partitions: FetchedPartition[] = [];
    const partitionCount = r.int32();
    for (let p = 0; p < partitionCount; p++) {
      const partition = r.int32();
      const partitionError = r.int16();
      const highWatermark = r.int64();
      const lastStableOffset = r.int64();
      if (apiVersion >= 5) r.int64(); // log start offset
      const abortedTransactions: FetchedPartition['abortedTransactions'] = [];
      const abortedCount = r.int32();
      for (let a = 0; a < abortedCount; a++) {
        abortedTransactions.push({ producerId: r.int64(), firstOffset: r.int64() });
      }
      if (apiVersion >= 11) r.int32(); // preferred read replica
      const records = r.bytes();
      partitions.push({
        partition,
        errorCode: partitionError,
        highWatermark,
        lastStableOffset,
        abortedTransactions,
        records,
      });
    }
    topics.push({ topic, partitions });
  }
  return { errorCode, topics };
}

const MAGIC_OFFSET = 16;
const BATCH_HEADER = 61; // up to and including the record count
const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export type Decompress = (codec: number, data: Buffer) => Promise<Buffer>;

export interface DecodeBatchesOptions {
  /** copied into every record */
  topic: string;
  partition: number;
  /** messages before this offset are dropped (a fetch returns whole batches) */
  fromOffset: bigint;
  /** messages at or after this offset are dropped */
  endOffset: bigint;
  /** drop messages of aborted transactions (read_committed) */
  abortedTransactions?: FetchedPartition['abortedTransactions'];
  decompress: Decompress;
}

export interface DecodedBatches {
  records: DecodedRecord[];
  /** the offset after the last record seen (kept or not), or undefined when no whole batch was there */
  nextOffset?: bigint;
}

/**
 * Decodes the record batches of one partition. A batch cut off at the end of the
 * response (the fetch size limit) is left for the next fetch.
 */
export async function decodeRecordBatches(
  data: Buffer,
  options: DecodeBatchesOptions,
): Promise<DecodedBatches> {
  const records: DecodedRecord[] = [];
  let nextOffset: bigint | undefined;
  const aborted = [...(options.abortedTransactions ?? [])].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  let nextAborted = 0;
  const abortedProducers = new Set<bigint>();
  const from = Number(options.fromOffset);
  const until = options.endOffset > MAX_SAFE ? Number.MAX_SAFE_INTEGER : Number(options.endOffset);
  let position = 0;
  while (position + BATCH_HEADER <= data.length) {
    const baseOffset = data.readBigInt64BE(position);
    const batchLength = data.readInt32BE(position + 8);
    const end = position + 12 + batchLength;
    if (end > data.length) break; // partial batch
    const magic = data.readInt8(position + MAGIC_OFFSET);
    if (magic !== 2)
      throw new FetchDecodeError(`unsupported message format (magic ${magic}); Kafka 0.11+ writes 2`);
    const attributes = data.readInt16BE(position + 21);
    const lastOffsetDelta = data.readInt32BE(position + 23);
    const baseTimestamp = data.readBigInt64BE(position + 27);
    const maxTimestamp = data.readBigInt64BE(position + 35);
    const producerId = data.readBigInt64BE(position + 43);
    const count = data.readInt32BE(position + 57);
    const lastOffset = baseOffset + BigInt(lastOffsetDelta);
    const batch = data.subarray(position + BATCH_HEADER, end);
    position = end;
    nextOffset = lastOffset + 1n;

    if (lastOffset < options.fromOffset) continue;
    if ((attributes & TRANSACTIONAL) !== 0) {
      while (nextAborted < aborted.length && aborted[nextAborted]!.firstOffset <= lastOffset) {
        abortedProducers.add(aborted[nextAborted]!.producerId);
        nextAborted++;
      }
      if ((attributes & CONTROL) !== 0) {
        // A control record: its key is version (int16) and type (int16; 0 = abort).
        const control = new Reader(batch);
        control.varint();
        control.int8();
        control.varlong();
        control.varint();
        const key = control.varBytes();
        if (key && key.length >= 4 && key.readInt16BE(2) === 0) abortedProducers.delete(producerId);
        continue;
      }
      if (abortedProducers.has(producerId)) continue;
    } else if ((attributes & CONTROL) !== 0) continue;

    if (baseOffset > MAX_SAFE) throw new FetchDecodeError(`offset ${baseOffset} beyond 2^53`);
    const base = Number(baseOffset);
    const codec = attributes & COMPRESSION_MASK;
    const body = codec === 0 ? batch : await options.decompress(codec, batch);
    const r = new Reader(body);
    const timestampOf = (delta: number) =>
      (attributes & LOG_APPEND_TIME) !== 0
        ? maxTimestamp.toString()
        : baseTimestamp <= MAX_SAFE
          ? String(Number(baseTimestamp) + delta)
          : (baseTimestamp + BigInt(delta)).toString();
    for (let i = 0; i < count; i++) {
      const length = r.varint();
      const recordEnd = r.offset + length;
      r.int8(); // attributes
      const timestampDelta = r.varlong();
      const offsetDelta = r.varint();
      const key = r.varBytes();
      const value = r.varBytes();
      const headerCount = r.varint();
      const headers: IHeaders = {};
      for (let h = 0; h < headerCount; h++) {
        const name = r.varString();
        const headerValue = r.varBytes() ?? Buffer.alloc(0);
        const existing = headers[name];
        if (existing === undefined) headers[name] = headerValue;
        else if (Array.isArray(existing)) existing.push(headerValue);
        else headers[name] = [existing, headerValue];
      }
      r.offset = recordEnd;
      const offset = base + offsetDelta;
      if (offset < from || offset >= until) continue;
      records.push({
        topic: options.topic,
        partition: options.partition,
        offset: String(offset),
        timestamp: timestampOf(timestampDelta),
        key,
        value,
        headers,
      });
    }
  }
  return { records, nextOffset };
}
