/**
 * Track operations as the Track API bodies the worker sends: v2 person and object
 * operations (track-api.openapi.json, person_operations and object_operations), and
 * the v1 anonymous event for events without a person.
 */
import { operationAction } from '../operation-fields';
import type { TrackOperation } from '../types';
import { convertDateAttributes, type EncodeOptions, unixSeconds } from './options';

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

/**
 * The Track API request item of one operation: the v1 anonymous event for an event,
 * page or screen view without identifiers, else the v2 operation. The anonymous event
 * always carries `fallbackTimestamp` (the time of its Kafka message).
 */
export function toTrackApiItem(
  op: TrackOperation,
  id: string,
  options: EncodeOptions = {},
): Record<string, unknown> {
  if (op.identifiers === undefined && op.anonymous_id !== undefined) {
    return toV1AnonymousEvent(op, id, options.fallbackTimestamp as number);
  }
  return toV2Operation(op, id, options);
}
