import { createHash } from 'node:crypto';
import {
  eventName,
  identifierOf,
  operationAction,
  parseJsonText,
  personKey,
  type TrackOperation,
  type TransactionalSend,
  validateTrackOperation,
  validateTransactionalSend,
} from '@cio-bridge/schemas';
import type { Operation } from './engine';
import { ValidationError } from './errors';

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

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID derived from the message's place in the topic: its timestamp, and 80 bits of
 * a hash of topic, partition and offset. Redelivering the same message (after a crash
 * or a rebalance) gives the same id, so Customer.io drops the duplicate.
 */
export function derivedOperationId(at: MessageCoordinates): string {
  let time = Math.max(0, Math.min(Number(at.timestamp) || 0, 2 ** 48 - 1));
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[time % 32] + out;
    time = Math.floor(time / 32);
  }
  const hash = createHash('sha256').update(`${at.topic}\0${at.partition}\0${at.offset}`).digest();
  // 80 bits = 16 characters of 5 bits.
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(hash[i]!);
  let random = '';
  for (let i = 0; i < 16; i++) {
    random = CROCKFORD[Number(bits & 31n)] + random;
    bits >>= 5n;
  }
  return out + random;
}

/** Unix seconds from an RFC 3339 string or a number of seconds. */
function unixSeconds(value: string | number): number {
  return typeof value === 'number' ? value : Math.floor(Date.parse(value) / 1000);
}

/**
 * The Customer.io v2 person operation (track-api.openapi.json, person_operations) for a
 * Track operation. Event `data` becomes `attributes`, timestamps become Unix seconds,
 * and the operation's id goes along on every action (Customer.io uses an event's id to
 * drop duplicates; the other actions are idempotent anyway).
 */
export function toV2Operation(op: TrackOperation, id: string): Record<string, unknown> {
  const action = operationAction(op);
  const timestamp = op.timestamp === undefined ? undefined : unixSeconds(op.timestamp);
  switch (action) {
    case 'merge':
      return { type: 'person', action, id, primary: op.primary, secondary: op.secondary };
    case 'event':
      return {
        type: 'person',
        action,
        id,
        identifiers: op.identifiers,
        name: op.name,
        ...(timestamp === undefined ? {} : { timestamp }),
        ...(op.data === undefined ? {} : { attributes: op.data }),
      };
    case 'identify':
      return {
        type: 'person',
        action,
        id,
        identifiers: op.identifiers,
        ...(timestamp === undefined ? {} : { timestamp }),
        attributes: op.attributes ?? {},
      };
    case 'add_device':
      return { type: 'person', action, id, identifiers: op.identifiers, device: op.device };
    case 'delete_device':
      return { type: 'person', action, id, identifiers: op.identifiers, device: { token: op.device?.token } };
    default:
      return { type: 'person', action, id, identifiers: op.identifiers };
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

/** Decodes a `customerio.track` message into the v2 operation to send; throws ValidationError. */
export function decodeTrack(value: Buffer | null, at: MessageCoordinates, limits: DecodeLimits): Operation {
  const validation = validateTrackOperation(parseJson(value));
  if (!validation.ok) throw new ValidationError(`invalid Track operation: ${describe(validation.errors)}`);
  const op = validation.value;
  const id = op.id ?? derivedOperationId(at);
  const body = Buffer.from(JSON.stringify(toV2Operation(op, id)));
  const bytes = body.length;
  if (bytes > limits.maxOperationBytes) {
    throw new ValidationError(
      `the operation is ${bytes} bytes as a v2 operation, more than Customer.io's limit of ${limits.maxOperationBytes}`,
    );
  }
  return {
    person: orderingKey(at.key, personKey(op)),
    body,
    bytes,
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
