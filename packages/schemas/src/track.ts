import type { ValidateFunction } from 'ajv';
import { utf8Bytes, validatorFor, withKnownSize } from './ajv';
import { toFieldErrors } from './errors';
import { LIMITS } from './limits';
import { identifierOf, operationAction } from './operation-fields';
import { sentOperationBytes } from './sent-size';
import {
  type EntityType,
  type FieldError,
  OBJECT_ACTIONS,
  type ObjectIdentifiers,
  TRACK_ACTIONS,
  type TrackAction,
  type TrackOperation,
  type Validation,
} from './types';

export { identifierOf, operationAction } from './operation-fields';

/** The events of the CannaRewards spec (seed section 2.1); each has its own schema under `events/`. */
export const SEED_EVENT_NAMES = [
  'product_scanned',
  'referral_initiated',
  'referral_converted',
  'wishlist_added',
  'wishlist_removed',
  'achievement_unlocked',
  'reward_redeemed',
  'user_session_started',
  'user_session_ended',
] as const;
export type SeedEventName = (typeof SEED_EVENT_NAMES)[number];

const ACTIONS: ReadonlySet<string> = new Set(TRACK_ACTIONS);
const OBJECT_ACTION_SET: ReadonlySet<string> = new Set(OBJECT_ACTIONS);
const SEED_NAMES: ReadonlySet<string> = new Set(SEED_EVENT_NAMES);

export function isTrackAction(value: unknown): value is TrackAction {
  return typeof value === 'string' && ACTIONS.has(value);
}

export function isSeedEventName(value: unknown): value is SeedEventName {
  return typeof value === 'string' && SEED_NAMES.has(value);
}

/** The schema file an operation is checked against: its action's (person or object), or its seed event's. */
export function trackSchemaFile(action: TrackAction, name?: unknown, type: EntityType = 'person'): string {
  if (type === 'object') return `object/${action}.schema.json`;
  if (action === 'event' && isSeedEventName(name)) return `events/${name}.schema.json`;
  return `track/${action}.schema.json`;
}

const validators = new Map<string, ValidateFunction>();

function validatorOf(file: string): ValidateFunction {
  let validate = validators.get(file);
  if (!validate) {
    validate = validatorFor(file);
    validators.set(file, validate);
  }
  return validate;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A valid operation with its JSON text, or the errors. */
export type TrackValidation =
  | { ok: true; value: TrackOperation; json: string }
  | { ok: false; errors: FieldError[] };

/**
 * Validates one Track operation: the envelope, its action's schema, the named
 * seed event's schema (the generic event schema for other names) and
 * Customer.io's size limits. Errors carry JSON pointers into `value`.
 */
export function validateTrackOperation(value: unknown): Validation<TrackOperation> {
  const result = validateTrackOperationJson(value);
  return result.ok ? { ok: true, value: result.value } : result;
}

/**
 * `validateTrackOperation` that also gives the operation's JSON text, which it
 * needs for the size limits anyway: publish it as the message value (with
 * `jsonWithId` when the operation has no id yet) instead of serialising again.
 */
export function validateTrackOperationJson(value: unknown): TrackValidation {
  const result = validateTrackOperationSchema(value);
  if (!result.ok) return result;
  // The limit applies to what is sent, which is larger than what was received.
  const sent = sentOperationBytes(result.value);
  if (sent > LIMITS.operationBytes) {
    const message = `is ${sent} bytes as sent to Customer.io (the largest request item the worker sends for it, on the Track or the Pipelines API), more than the limit of ${LIMITS.operationBytes} bytes`;
    return { ok: false, errors: [{ pointer: '', message }] };
  }
  return result;
}

/**
 * `validateTrackOperationJson` without the size of what is sent: the envelope, the
 * action's and the seed event's schemas and the limits on what was received. For the
 * worker, which checks Customer.io's limit on the exact bytes it sends for its output
 * instead of encoding the operation for every output first.
 */
export function validateTrackOperationSchema(value: unknown): TrackValidation {
  if (!isRecord(value)) {
    return { ok: false, errors: [{ pointer: '', message: 'must be an object (a Track operation)' }] };
  }
  let action: TrackAction;
  if (value.type === 'object') {
    if (typeof value.action !== 'string' || !OBJECT_ACTION_SET.has(value.action)) {
      return {
        ok: false,
        errors: [
          {
            pointer: '/action',
            message:
              value.action === undefined
                ? `is required for an object operation (one of: ${OBJECT_ACTIONS.join(', ')})`
                : `must be one of: ${OBJECT_ACTIONS.join(', ')} (for an object operation)`,
          },
        ],
      };
    }
    action = value.action as TrackAction;
  } else if (value.action === undefined) {
    if (value.name === undefined) {
      return {
        ok: false,
        errors: [
          {
            pointer: '/name',
            message: `is required when action is absent (or set action to one of: ${TRACK_ACTIONS.join(', ')})`,
          },
        ],
      };
    }
    action = 'event';
  } else if (isTrackAction(value.action)) {
    action = value.action;
  } else {
    return {
      ok: false,
      errors: [{ pointer: '/action', message: `must be one of: ${TRACK_ACTIONS.join(', ')}` }],
    };
  }
  const validate = validatorOf(
    trackSchemaFile(action, value.name, value.type === 'object' ? 'object' : 'person'),
  );
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    return { ok: false, errors: [{ pointer: '', message: `must be JSON: ${(error as Error).message}` }] };
  }
  const bytes = utf8Bytes(json);
  if (!withKnownSize(bytes, () => validate(value)))
    return { ok: false, errors: toFieldErrors(validate.errors) };
  return { ok: true, value: value as TrackOperation, json };
}

/**
 * The JSON text of an operation plus an `id` (last), from the operation's own
 * JSON text (which must not have an id): the same text as
 * `JSON.stringify({ ...op, id })`, without serialising the operation again.
 */
export function jsonWithId(json: string, id: string): string {
  if (!json.endsWith('}')) throw new TypeError('jsonWithId needs the JSON text of an object');
  return `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}"id":${JSON.stringify(id)}}`;
}

/** The event name of an event operation; undefined for other actions. */
export function eventName(op: TrackOperation): string | undefined {
  return operationAction(op) === 'event' ? op.name : undefined;
}

/** The operation's entity type: `object`, or `person` when absent. */
export function entityType(op: TrackOperation): EntityType {
  return op.type === 'object' ? 'object' : 'person';
}

/** The object an object operation is about (undefined for person operations). */
export function objectOf(op: TrackOperation): ObjectIdentifiers | undefined {
  const ids = op.identifiers;
  if (entityType(op) !== 'object' || !ids || typeof ids.object_id !== 'string') return undefined;
  return ids as ObjectIdentifiers;
}

/** The Kafka key of an object: `object:<object_type_id>:<object_id>`. */
export const objectKey = (object: ObjectIdentifiers): string =>
  `object:${object.object_type_id}:${object.object_id}`;

/** The Kafka key of an anonymous person's activity: `anonymous:<anonymous_id>`. */
export const anonymousKey = (anonymousId: string): string => `anonymous:${anonymousId}`;

/**
 * The Kafka key, so that everything about one person or object stays in order:
 * the person's identifier (for merge, the primary's); `object:<type>:<id>` for an
 * object; `anonymous:<anonymous_id>` for an anonymous event. Throws on an
 * operation without one (validated operations always have one).
 */
export function personKey(op: TrackOperation): string {
  const object = objectOf(op);
  if (object) return objectKey(object);
  const who = identifierOf(operationAction(op) === 'merge' ? op.primary : op.identifiers);
  if (who) return who.value;
  if (typeof op.anonymous_id === 'string' && op.anonymous_id !== '') return anonymousKey(op.anonymous_id);
  throw new TypeError(
    'Track operation has no person identifier (identifiers, anonymous_id or, for merge, primary)',
  );
}
