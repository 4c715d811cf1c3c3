/**
 * Track operations as Customer.io Pipelines API calls (batch items of `/v1/batch`):
 * identify -> identify, event -> track, page / screen, objects and relationships ->
 * group, merge -> alias, and the semantic `track` events for deletes, suppressions,
 * devices and relationship or object deletion. Field names are camelCase, timestamps
 * ISO 8601, and the operation's ULID is the `messageId`.
 */
import { createHash } from 'node:crypto';
import { TIME_LEN, ulid } from 'ulid';
import { identifierOf, operationAction } from '../operation-fields';
import type {
  ObjectIdentifiers,
  ObjectRelationship,
  PersonIdentifiers,
  PersonRelationship,
  TrackOperation,
} from '../types';
import { convertDateAttributes, EncodeError, type EncodeOptions } from './options';

/** The semantic event names Customer.io's Pipelines API gives Track API actions. */
export const SEMANTIC_EVENTS = {
  delete: 'User Deleted',
  suppress: 'User Suppressed',
  unsuppress: 'User Unsuppressed',
  addDevice: 'Device Created or Updated',
  deleteDevice: 'Device Deleted',
  deleteRelationship: 'Relationship Deleted',
  deleteObject: 'Object Deleted',
} as const;

export type PipelinesCall = Record<string, unknown> & { type: string; messageId: string };

/**
 * The messageId of the n-th call of one operation: the operation's ULID for the first,
 * and for the others a ULID with the same time and 80 bits of a hash of (id, n), so a
 * retry or replay sends the same ids again.
 */
export function callMessageId(id: string, n: number): string {
  if (n === 0) return id;
  const hash = createHash('sha256').update(`${id}\0${n}`).digest();
  let bits = 0n;
  for (let i = 0; i < 10; i++) bits = (bits << 8n) | BigInt(hash[i]!);
  // ulid draws its 16 random characters from this source, last character first:
  // five bits of the hash each.
  const fromHash = () => {
    const value = Number(bits & 31n);
    bits >>= 5n;
    return value / 32;
  };
  return id.slice(0, TIME_LEN) + ulid(undefined, fromHash).slice(TIME_LEN);
}

/**
 * The person as Pipelines names them: `userId` is the id or the email (the Pipelines API
 * looks a person up by an email-shaped userId). A `cio_id` has no Pipelines form
 * (whether a `cio_`-prefixed userId is read as one is unconfirmed), so it is refused
 * rather than sent to a profile it might not mean.
 */
function userIdOf(identifiers: PersonIdentifiers | ObjectIdentifiers | undefined, field: string): string {
  const who = identifierOf(identifiers);
  if (!who) throw new EncodeError(`${field} has no person identifier for the Pipelines API`);
  if (who.kind === 'cio_id')
    throw new EncodeError(
      `${field}.cio_id has no Pipelines API form: use id or email with CIO_API=pipelines`,
    );
  return who.value;
}

/**
 * Pipelines needs a userId or anonymousId even where no person is meant (Object Deleted:
 * "required, any value, not used"; an object identified without people): this stand-in,
 * one per object, is never identified.
 */
export const objectStandIn = (object: ObjectIdentifiers): string =>
  `cio-bridge-object:${object.object_type_id}:${object.object_id}`;

function isoTimestamp(op: TrackOperation, options: EncodeOptions): string | undefined {
  const ms =
    typeof op.timestamp === 'string'
      ? Date.parse(op.timestamp)
      : typeof op.timestamp === 'number'
        ? op.timestamp * 1000
        : options.fallbackTimestamp === undefined
          ? undefined
          : options.fallbackTimestamp * 1000;
  if (ms === undefined) return undefined;
  const date = new Date(ms);
  // A time JavaScript cannot represent (a huge number of seconds) has no ISO form.
  if (Number.isNaN(date.getTime())) throw new EncodeError('timestamp is out of the range of ISO 8601 dates');
  return date.toISOString();
}

/** The Pipelines calls of one operation, in the order they are to be applied. */
export function toPipelinesCalls(
  op: TrackOperation,
  id: string,
  options: EncodeOptions = {},
): PipelinesCall[] {
  const action = operationAction(op);
  const timestamp = isoTimestamp(op, options);
  const convert = options.convertDates === true;
  const values = (given: Record<string, unknown> | undefined) =>
    convert && given ? convertDateAttributes(given) : (given ?? {});
  const calls: PipelinesCall[] = [];
  const push = (call: Record<string, unknown> & { type: string }) => {
    calls.push({
      ...call,
      messageId: callMessageId(id, calls.length),
      ...(timestamp === undefined ? {} : { timestamp }),
    });
  };
  const group = (
    who: Record<string, string>,
    object: ObjectIdentifiers,
    relationshipAttributes: Record<string, unknown> | undefined,
    objectAttributes: Record<string, unknown> = {},
  ) =>
    push({
      type: 'group',
      ...who,
      groupId: object.object_id,
      traits: {
        ...objectAttributes,
        objectTypeId: object.object_type_id,
        ...(relationshipAttributes === undefined
          ? {}
          : { relationshipAttributes: values(relationshipAttributes) }),
      },
    });
  const relationshipDeleted = (userId: string, object: ObjectIdentifiers) =>
    push({
      type: 'track',
      event: SEMANTIC_EVENTS.deleteRelationship,
      userId,
      properties: { objectId: object.object_id, objectTypeId: object.object_type_id },
    });

  if (op.type === 'object') {
    const object = op.identifiers as ObjectIdentifiers;
    const people = (op.cio_relationships ?? []) as ObjectRelationship[];
    const personOf = (r: ObjectRelationship, i: number) =>
      userIdOf(r.identifiers, `cio_relationships[${i}].identifiers`);
    switch (action) {
      case 'identify':
        // One group call per person-object pair, each carrying the object's attributes.
        if (people.length === 0) {
          group({ anonymousId: objectStandIn(object) }, object, undefined, values(op.attributes));
        }
        people.forEach((r, i) => {
          group({ userId: personOf(r, i) }, object, r.relationship_attributes, values(op.attributes));
        });
        return calls;
      case 'add_relationships':
        people.forEach((r, i) => {
          group({ userId: personOf(r, i) }, object, r.relationship_attributes);
        });
        return calls;
      case 'delete_relationships':
        people.forEach((r, i) => {
          relationshipDeleted(personOf(r, i), object);
        });
        return calls;
      default:
        push({
          type: 'track',
          event: SEMANTIC_EVENTS.deleteObject,
          anonymousId: objectStandIn(object),
          properties: { objectId: object.object_id, objectTypeId: object.object_type_id },
        });
        return calls;
    }
  }

  if (action === 'merge') {
    push({
      type: 'alias',
      userId: userIdOf(op.primary, 'primary'),
      previousId: userIdOf(op.secondary, 'secondary'),
    });
    return calls;
  }
  // Events, page and screen views may be anonymous; everything else names a person.
  const who: Record<string, string> =
    op.identifiers === undefined && op.anonymous_id !== undefined
      ? { anonymousId: op.anonymous_id }
      : { userId: userIdOf(op.identifiers, 'identifiers') };
  const objects = (op.cio_relationships ?? []) as PersonRelationship[];
  switch (action) {
    case 'identify':
      push({
        type: 'identify',
        ...who,
        // Identifying with both ids attaches the anonymous activity to the person.
        ...(op.anonymous_id === undefined ? {} : { anonymousId: op.anonymous_id }),
        traits: values(op.attributes),
      });
      for (const r of objects) group(who, r.identifiers, r.relationship_attributes);
      return calls;
    case 'event':
      push({ type: 'track', ...who, event: op.name, properties: op.data ?? {} });
      return calls;
    case 'page':
    case 'screen':
      push({ type: action, ...who, name: op.name, properties: op.data ?? {} });
      return calls;
    case 'add_relationships':
      for (const r of objects) group(who, r.identifiers, r.relationship_attributes);
      return calls;
    case 'delete_relationships':
      for (const r of objects) relationshipDeleted(who.userId as string, r.identifiers);
      return calls;
    case 'add_device':
      push({
        type: 'track',
        event: SEMANTIC_EVENTS.addDevice,
        ...who,
        context: { device: { token: op.device?.token, type: op.device?.platform } },
        properties: {
          ...(op.device?.attributes ?? {}),
          ...(op.device?.last_used === undefined ? {} : { last_used: op.device.last_used }),
        },
      });
      return calls;
    case 'delete_device':
      push({
        type: 'track',
        event: SEMANTIC_EVENTS.deleteDevice,
        ...who,
        context: { device: { token: op.device?.token } },
      });
      return calls;
    case 'delete':
      push({ type: 'track', event: SEMANTIC_EVENTS.delete, ...who });
      return calls;
    case 'suppress':
      push({ type: 'track', event: SEMANTIC_EVENTS.suppress, ...who });
      return calls;
    default:
      push({ type: 'track', event: SEMANTIC_EVENTS.unsuppress, ...who });
      return calls;
  }
}
