import { createHash } from 'node:crypto';
import {
  EncodeError,
  type EncodeOptions,
  eventName,
  identifierOf,
  operationAction,
  parseJsonText,
  personKey,
  type TrackOperation,
  type TransactionalSend,
  toPipelinesCalls,
  toTrackApiItem,
  validateTrackOperationSchema,
  validateTransactionalSend,
} from '@cio-bridge/schemas';
import { encodeTime, TIME_LEN, TIME_MAX, ulid } from 'ulid';
import type { Operation } from '../delivery/engine';
import { ValidationError } from '../errors';

export interface DecodeLimits {
  /** Customer.io's limit for one v2 operation */
  maxOperationBytes: number;
}

/** Where a message sits, for deriving an id when the operation carries none. */
export interface MessageCoordinates {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
}

/**
 * A ULID derived from the message's place in the topic: its timestamp, and 80 bits of
 * a hash of topic, partition and offset. Redelivering the same message (after a crash
 * or a rebalance) gives the same id, so Customer.io drops the duplicate.
 */
export function derivedOperationId(at: MessageCoordinates): string {
  const time = Math.max(0, Math.min(Number(at.timestamp) || 0, TIME_MAX));
  const hash = createHash('sha256').update(`${at.topic}\0${at.partition}\0${at.offset}`).digest();
  // The random part is the hash's first 80 bits, five at a time (the ulid package
  // draws its 16 characters least significant first).
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(hash[i]!);
  const fromHash = () => {
    const next = Number(bits & 31n) / 32;
    bits >>= 5n;
    return next;
  };
  // ulid() takes the current time for 0: the time part is encoded on its own.
  return encodeTime(time, TIME_LEN) + ulid(1, fromHash).slice(TIME_LEN);
}

/** Which API the Track operations go to (CIO_API). */
export type CioApi = 'track' | 'pipelines';

/** How decodeTrack encodes: the output API and the encoding options. */
export interface TrackOutput {
  api: CioApi;
  convertDates: boolean;
}

/**
 * The JSON text of the request item(s) of one operation, for the output API (the
 * encoders are @cio-bridge/schemas', which also sizes their output at the edge).
 */
function encodeTrack(op: TrackOperation, id: string, at: MessageCoordinates, output: TrackOutput): string[] {
  const options: EncodeOptions = {
    fallbackTimestamp: Math.floor((Number(at.timestamp) || Date.now()) / 1000),
    convertDates: output.convertDates,
  };
  try {
    if (output.api === 'pipelines') {
      return toPipelinesCalls(op, id, options).map((call) => JSON.stringify(call));
    }
    return [JSON.stringify(toTrackApiItem(op, id, options))];
  } catch (error) {
    if (error instanceof EncodeError) throw new ValidationError(error.message);
    throw error;
  }
}

const describe = (errors: { pointer: string; message: string }[]): string =>
  errors
    .slice(0, 5)
    .map((e) => `${e.pointer || '(value)'} ${e.message}`)
    .join('; ');

/** The message's JSON; the error names a position and a reason, never the content (it goes to logs and headers). */
function parseJson(value: Buffer | null): unknown {
  if (value === null || value.length === 0) throw new ValidationError('the message has no value');
  const parsed = parseJsonText(value);
  if (!parsed.ok) throw new ValidationError(`the value is ${parsed.message}`);
  return parsed.value;
}

/** The ordering key: the Kafka key (the producers' person key), else the operation's own. */
function orderingKey(key: Buffer | null, fallback: string): string {
  return key && key.length > 0 ? key.toString('utf8') : fallback;
}

const TRACK_OUTPUT: TrackOutput = { api: 'track', convertDates: false };

/**
 * Decodes a `customerio.track` message into the request item(s) to send: one v2
 * operation (Track API), or one or more Pipelines calls joined by commas (a batch body is
 * the concatenation of items). Throws ValidationError.
 */
export function decodeTrack(
  value: Buffer | null,
  at: MessageCoordinates,
  limits: DecodeLimits,
  output: TrackOutput = TRACK_OUTPUT,
): Operation {
  // The schemas only: Customer.io's limit is checked below on exactly what is sent
  // (the edge checks it on every output's form, which is work the worker need not repeat).
  const validation = validateTrackOperationSchema(parseJson(value));
  if (!validation.ok) throw new ValidationError(`invalid Track operation: ${describe(validation.errors)}`);
  const op = validation.value;
  const id = op.id ?? derivedOperationId(at);
  const items = encodeTrack(op, id, at, output);
  const body = Buffer.from(items.length === 1 ? items[0]! : items.join(','));
  // One item (the Track API's case): its size is the body's.
  const sizes = items.length === 1 ? [body.length] : items.map((item) => Buffer.byteLength(item));
  for (const itemBytes of sizes) {
    if (itemBytes > limits.maxOperationBytes) {
      const form = output.api === 'pipelines' ? 'a Pipelines call' : 'a Customer.io operation';
      throw new ValidationError(
        `the operation is ${itemBytes} bytes as ${form}, more than Customer.io's limit of ${limits.maxOperationBytes}`,
      );
    }
  }
  return {
    person: orderingKey(at.key, personKey(op)),
    body,
    bytes: body.length,
    action: operationAction(op),
    event: eventName(op) ?? '',
    id,
  };
}

/** Decodes a `customerio.transactional` message into the App API send body; throws ValidationError. */
export function decodeTransactional(value: Buffer | null, at: MessageCoordinates): Operation {
  const validation = validateTransactionalSend(parseJson(value));
  if (!validation.ok) throw new ValidationError(`invalid transactional send: ${describe(validation.errors)}`);
  // `id` is cio-bridge's own and not part of Customer.io's send request.
  const { id, ...send }: TransactionalSend = validation.value;
  const body = Buffer.from(JSON.stringify(send));
  return {
    person: orderingKey(at.key, identifierOf(send.identifiers)?.value ?? send.to),
    body,
    bytes: body.length,
    action: 'send_email',
    event: String(send.transactional_message_id),
    id: id ?? derivedOperationId(at),
  };
}
