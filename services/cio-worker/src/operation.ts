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
import { convertDateAttributes, type EncodeOptions } from './encoding';
import type { Operation } from './engine';
import { ValidationError } from './errors';
import { toPipelinesCalls } from './pipelines-calls';

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
export function unixSeconds(value: string | number): number {
  return typeof value === 'number' ? value : Math.floor(Date.parse(value) / 1000);
}

type Relationships = NonNullable<TrackOperation['cio_relationships']>;

function relationshipsOut(relationships: Relationships, convertDates: boolean): Relationships {
  if (!convertDates) return relationships;
  return relationships.map((r) =>
    r.relationship_attributes === undefined
      ? r
      : { ...r, relationship_attributes: convertDateAttributes(r.relationship_attributes) },
  ) as Relationships;
}

/**
 * The body of Customer.io's v1 anonymous event (`POST /api/v1/events`,
 * anonymousEventsRequest): Track v2 has no anonymous person events. `anonymous_id`
 * comes first, which is how the Track channel tells it from a v2 operation.
 */
export function toV1AnonymousEvent(
  op: TrackOperation,
  id: string,
  timestamp: number,
): Record<string, unknown> {
  const action = operationAction(op);
  return {
    anonymous_id: op.anonymous_id,
    name: op.name,
    ...(action === 'page' || action === 'screen' ? { type: action } : {}),
    id,
    timestamp,
    ...(op.data === undefined ? {} : { data: op.data }),
  };
}

/** The first bytes of every v1 anonymous event body (see toV1AnonymousEvent). */
export const V1_ANONYMOUS_EVENT_PREFIX = '{"anonymous_id":';

/**
 * The Customer.io v2 operation (track-api.openapi.json, person_operations and
 * object_operations) for a Track operation. Event `data` becomes `attributes`, timestamps
 * become Unix seconds (identify, event, page and screen carry one: the operation's own or,
 * without one, `fallbackTimestamp`, so Customer.io orders updates itself), and the
 * operation's id goes along on every action (Customer.io uses an event's id to drop
 * duplicates; the other actions are idempotent anyway). An anonymous event has no v2
 * form: see toV1AnonymousEvent.
 */
export function toV2Operation(
  op: TrackOperation,
  id: string,
  options: EncodeOptions = {},
): Record<string, unknown> {
  const action = operationAction(op);
  const own = op.timestamp === undefined ? options.fallbackTimestamp : unixSeconds(op.timestamp);
  const timestamp = own === undefined ? {} : { timestamp: own };
  const convert = options.convertDates === true;
  const attributes = (values: Record<string, unknown> | undefined) => {
    const given = values ?? {};
    return convert ? convertDateAttributes(given) : given;
  };
  const relationships =
    op.cio_relationships === undefined
      ? {}
      : { cio_relationships: relationshipsOut(op.cio_relationships, convert) };
  if (op.type === 'object') {
    return {
      type: 'object',
      action,
      id,
      identifiers: op.identifiers,
      ...(action === 'identify' ? { attributes: attributes(op.attributes) } : {}),
      ...relationships,
    };
  }
  switch (action) {
    case 'merge':
      return { type: 'person', action, id, primary: op.primary, secondary: op.secondary };
    case 'event':
    case 'page':
    case 'screen':
      return {
        type: 'person',
        action,
        id,
        identifiers: op.identifiers,
        name: op.name,
        ...timestamp,
        ...(op.data === undefined ? {} : { attributes: op.data }),
      };
    case 'identify': {
      const given = attributes(op.attributes);
      return {
        type: 'person',
        action,
        id,
        identifiers: op.identifiers,
        ...timestamp,
        // Customer.io merges the anonymous activity of a person's `anonymous_id` attribute.
        attributes: op.anonymous_id === undefined ? given : { ...given, anonymous_id: op.anonymous_id },
        ...relationships,
      };
    }
    case 'add_relationships':
    case 'delete_relationships':
      return { type: 'person', action, id, identifiers: op.identifiers, ...relationships };
    case 'add_device':
      return { type: 'person', action, id, identifiers: op.identifiers, device: op.device };
    case 'delete_device':
      return { type: 'person', action, id, identifiers: op.identifiers, device: { token: op.device?.token } };
    default:
      return { type: 'person', action, id, identifiers: op.identifiers };
  }
}

/** Which API the Track operations go to (CIO_API). */
export type CioApi = 'track' | 'pipelines';

/** How decodeTrack encodes: the output API and the encoding options. */
export interface TrackOutput {
  api: CioApi;
  convertDates: boolean;
}

/** The JSON text of the request item(s) of one operation, for the output API. */
function encodeTrack(op: TrackOperation, id: string, at: MessageCoordinates, output: TrackOutput): string[] {
  const options: EncodeOptions = {
    fallbackTimestamp: Math.floor((Number(at.timestamp) || Date.now()) / 1000),
    convertDates: output.convertDates,
  };
  if (output.api === 'pipelines') {
    return toPipelinesCalls(op, id, options).map((call) => JSON.stringify(call));
  }
  if (op.identifiers === undefined && op.anonymous_id !== undefined) {
    return [JSON.stringify(toV1AnonymousEvent(op, id, options.fallbackTimestamp as number))];
  }
  return [JSON.stringify(toV2Operation(op, id, options))];
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
  const validation = validateTrackOperation(parseJson(value));
  if (!validation.ok) throw new ValidationError(`invalid Track operation: ${describe(validation.errors)}`);
  const op = validation.value;
  const id = op.id ?? derivedOperationId(at);
  const items = encodeTrack(op, id, at, output);
  for (const item of items) {
    const itemBytes = Buffer.byteLength(item);
    if (itemBytes > limits.maxOperationBytes) {
      const form = output.api === 'pipelines' ? 'a Pipelines call' : 'a Customer.io operation';
      throw new ValidationError(
        `the operation is ${itemBytes} bytes as ${form}, more than Customer.io's limit of ${limits.maxOperationBytes}`,
      );
    }
  }
  const body = Buffer.from(items.join(','));
  const bytes = body.length;
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
