/**
 * Track operations, from either API version, in one shape; the v2 operation
 * parser (track-api.openapi.json: person_operations, object_operations,
 * delivery_operations) and how an accepted operation changes the workspace.
 */
import {
  checkAttributes,
  checkDedupeId,
  checkEvent,
  checkIdentifierValue,
  checkTimestamp,
  isPlainObject,
  PLATFORMS,
  type Problem,
  problem,
} from './limits';
import {
  type Device,
  type Identifiers,
  identifierLabel,
  type Operation,
  type SandboxState,
  type Via,
} from './state';

export interface TrackOperation {
  type: 'person' | 'object' | 'delivery';
  action: string;
  identifiers: Identifiers;
  /** the dedupe id (the event id; any operation that carries one is de-duplicated by it) */
  id?: string;
  name?: string;
  /** identify: attributes to set; event: its data */
  attributes?: Record<string, unknown>;
  /** v1 identify: `id`/`email` in the body that find or re-key the person */
  alternate?: Identifiers;
  updateOnly?: boolean;
  eventType?: string;
  timestamp?: number;
  anonymousId?: string;
  device?: Device;
  deviceId?: string;
  secondary?: Identifiers;
  /** relationships: a person's objects, or an object's people (identify_anonymous: anonymous ids) */
  relationships?: ParsedRelationship[];
  payload: unknown;
}

export interface ParsedRelationship {
  identifiers: Identifiers;
  attributes?: Record<string, unknown>;
}

/** `cio_relationships` items: identifiers of the other side (`keys`) and optional relationship attributes. */
export function parseRelationships(
  value: unknown,
  side: 'object' | 'person' | 'anonymous',
): ParsedRelationship[] | Problem {
  if (!Array.isArray(value)) return problem('cio_relationships', 'cio_relationships must be an array');
  const out: ParsedRelationship[] = [];
  for (let i = 0; i < value.length; i++) {
    const field = `cio_relationships[${i}]`;
    const item = value[i];
    if (!isPlainObject(item)) return problem(field, `${field} must be an object with identifiers`);
    let identifiers: Identifiers | Problem;
    if (side === 'object') identifiers = parseObjectIdentifiers(`${field}.identifiers`, item.identifiers);
    else
      identifiers = parseIdentifiers(
        `${field}.identifiers`,
        item.identifiers,
        side === 'anonymous' ? ['anonymous_id'] : MERGE_IDENTIFIER_KEYS,
      );
    if (isProblem(identifiers)) return identifiers;
    const attributes = item.relationship_attributes;
    if (attributes !== undefined && attributes !== null) {
      if (!isPlainObject(attributes))
        return problem(`${field}.relationship_attributes`, 'relationship_attributes must be an object');
      const bad = checkAttributes(`${field}.relationship_attributes`, attributes);
      if (bad) return bad;
    }
    out.push({
      identifiers,
      ...(isPlainObject(attributes) ? { attributes: attributes as Record<string, unknown> } : {}),
    });
  }
  return out;
}

/** `{object_type_id, object_id}`: a stringified integer type from "1" and an id of at most 150 bytes. */
export function parseObjectIdentifiers(field: string, value: unknown): Identifiers | Problem {
  if (!isPlainObject(value))
    return problem(field, `${field} must be an object with object_type_id and object_id`);
  const bad =
    checkObjectTypeId(`${field}.object_type_id`, value.object_type_id) ??
    checkIdentifierValue(`${field}.object_id`, value.object_id);
  if (bad) return bad;
  return { object_type_id: String(value.object_type_id), object_id: String(value.object_id) };
}

/** Object type ids are stringified integers starting at "1" (numbers are accepted too). */
export function checkObjectTypeId(field: string, value: unknown): Problem | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[1-9][0-9]*$/.test(text))
    return problem(field, `${field} must be a stringified integer from "1"`);
  return undefined;
}

const PERSON_ACTIONS = [
  'identify',
  'delete',
  'event',
  'screen',
  'page',
  'add_relationships',
  'delete_relationships',
  'add_device',
  'delete_device',
  'merge',
  'suppress',
  'unsuppress',
] as const;
const OBJECT_ACTIONS = [
  'identify',
  'identify_anonymous',
  'delete',
  'add_relationships',
  'delete_relationships',
] as const;
const DELIVERY_ACTIONS = ['event'] as const;

const PERSON_IDENTIFIER_KEYS = ['id', 'email', 'cio_id', 'phone'] as const;
/** merge's primary and secondary accept these (person_merge). */
const MERGE_IDENTIFIER_KEYS = ['id', 'email', 'cio_id'] as const;

/** Exactly one identifier out of `keys`, a non-empty string of at most 150 bytes. */
export function parseIdentifiers(
  field: string,
  value: unknown,
  keys: readonly string[],
): Identifiers | Problem {
  if (!isPlainObject(value))
    return problem(field, `${field} must be an object with one of ${keys.join(', ')}`);
  const present = Object.keys(value);
  if (present.length !== 1 || !keys.includes(present[0]!))
    return problem(
      field,
      present.length > 1
        ? `${field} must hold exactly one identifier (${keys.join(', ')}); it has ${present.join(', ')}`
        : `${field} must hold exactly one of ${keys.join(', ')}`,
    );
  const key = present[0]!;
  const raw = value[key];
  const bad = checkIdentifierValue(`${field}.${key}`, raw);
  if (bad) return bad;
  return { [key]: String(raw) } as Identifiers;
}

export const isProblem = (value: unknown): value is Problem =>
  typeof value === 'object' && value !== null && 'reason' in value && 'message' in value;

/** Parses one v2 operation (`/entity` body or one `/batch` item). */
export function parseV2Operation(item: unknown): TrackOperation | Problem {
  if (!isPlainObject(item)) return problem('', 'each operation must be a JSON object');
  const type = item.type;
  const action = item.action;
  if (type !== 'person' && type !== 'object' && type !== 'delivery')
    return problem('type', 'type must be one of person, object, delivery');
  const allowed: readonly string[] =
    type === 'person' ? PERSON_ACTIONS : type === 'object' ? OBJECT_ACTIONS : DELIVERY_ACTIONS;
  if (typeof action !== 'string' || !allowed.includes(action))
    return problem('action', `action must be one of ${allowed.join(', ')} for type ${type}`);

  if (type === 'object') return parseObjectOperation(item, action);
  if (type === 'delivery') return parseDeliveryOperation(item);

  if (action === 'merge') {
    const primary = parseIdentifiers('primary', item.primary, MERGE_IDENTIFIER_KEYS);
    if (isProblem(primary)) return primary;
    const secondary = parseIdentifiers('secondary', item.secondary, MERGE_IDENTIFIER_KEYS);
    if (isProblem(secondary)) return secondary;
    const badId = checkDedupeId('id', item.id);
    if (badId) return badId;
    return {
      type,
      action,
      identifiers: primary,
      secondary,
      id: item.id as string | undefined,
      payload: item,
    };
  }

  const identifiers = parseIdentifiers('identifiers', item.identifiers, PERSON_IDENTIFIER_KEYS);
  if (isProblem(identifiers)) return identifiers;
  const badId = checkDedupeId('id', item.id);
  if (badId) return badId;
  const op: TrackOperation = { type, action, identifiers, id: item.id as string | undefined, payload: item };

  switch (action) {
    case 'identify': {
      const attributes = item.attributes ?? {};
      if (!isPlainObject(attributes)) return problem('attributes', 'attributes must be an object');
      const bad = checkAttributes('attributes', attributes) ?? checkTimestamp('timestamp', item.timestamp);
      if (bad) return bad;
      const { _update, ...rest } = attributes;
      op.attributes = rest;
      op.updateOnly = _update === true;
      // an `email` (or, for a person referenced by cio_id, an `id`) attribute sets that identifier too
      const alternate: Identifiers = {};
      if (typeof rest.email === 'string' && rest.email.includes('@')) alternate.email = rest.email;
      if ((typeof rest.id === 'string' || typeof rest.id === 'number') && identifiers.cio_id !== undefined)
        alternate.id = String(rest.id);
      if (alternate.email !== undefined || alternate.id !== undefined) op.alternate = alternate;
      if (item.cio_relationships !== undefined) {
        const relationships = parseRelationships(item.cio_relationships, 'object');
        if (isProblem(relationships)) return relationships;
        op.relationships = relationships;
      }
      return op;
    }
    case 'event':
    case 'page':
    case 'screen': {
      const bad =
        checkEvent('name', item.name, 'attributes', item.attributes) ??
        checkTimestamp('timestamp', item.timestamp);
      if (bad) return bad;
      op.name = (item.name as string).trim();
      op.eventType = action;
      op.attributes = (item.attributes as Record<string, unknown> | undefined) ?? {};
      op.timestamp = item.timestamp as number | undefined;
      return op;
    }
    case 'add_device': {
      const device = parseDevice('device', item.device, 'token');
      if (isProblem(device)) return device;
      op.device = device;
      return op;
    }
    case 'delete_device': {
      if (!isPlainObject(item.device)) return problem('device', 'device must be an object with a token');
      const bad = checkIdentifierValue('device.token', item.device.token);
      if (bad) return bad;
      op.deviceId = String(item.device.token);
      return op;
    }
    case 'add_relationships':
    case 'delete_relationships': {
      const relationships = parseRelationships(item.cio_relationships, 'object');
      if (isProblem(relationships)) return relationships;
      op.relationships = relationships;
      return op;
    }
    default:
      return op; // delete, suppress, unsuppress: identifiers only
  }
}

function parseObjectOperation(item: Record<string, unknown>, action: string): TrackOperation | Problem {
  const ids = item.identifiers;
  if (!isPlainObject(ids)) return problem('identifiers', 'identifiers must be an object');
  let identifiers: Identifiers;
  if (ids.cio_object_id !== undefined) {
    const bad = checkIdentifierValue('identifiers.cio_object_id', ids.cio_object_id);
    if (bad) return bad;
    identifiers = { cio_object_id: String(ids.cio_object_id) };
  } else {
    const bad =
      checkIdentifierValue('identifiers.object_type_id', ids.object_type_id) ??
      (action === 'identify_anonymous'
        ? undefined
        : checkIdentifierValue('identifiers.object_id', ids.object_id));
    if (bad) return bad;
    identifiers = { object_type_id: String(ids.object_type_id) };
    if (ids.object_id !== undefined) identifiers.object_id = String(ids.object_id);
  }
  if (identifiers.object_type_id !== undefined) {
    const badType = checkObjectTypeId('identifiers.object_type_id', ids.object_type_id);
    if (badType) return badType;
  }
  if (item.attributes !== undefined) {
    if (!isPlainObject(item.attributes)) return problem('attributes', 'attributes must be an object');
    const bad = checkAttributes('attributes', item.attributes);
    if (bad) return bad;
  }
  const op: TrackOperation = {
    type: 'object',
    action,
    identifiers,
    id: item.id as string | undefined,
    payload: item,
  };
  if (isPlainObject(item.attributes)) op.attributes = item.attributes;
  const needsRelationships = action === 'add_relationships' || action === 'delete_relationships';
  if (item.cio_relationships !== undefined || needsRelationships) {
    const relationships = parseRelationships(
      item.cio_relationships,
      action === 'identify_anonymous' ? 'anonymous' : 'person',
    );
    if (isProblem(relationships)) return relationships;
    op.relationships = relationships;
  }
  if (action === 'identify_anonymous' && typeof item.anonymous_id === 'string')
    op.relationships = [...(op.relationships ?? []), { identifiers: { anonymous_id: item.anonymous_id } }];
  return op;
}

function parseDeliveryOperation(item: Record<string, unknown>): TrackOperation | Problem {
  const ids = item.identifiers;
  if (!isPlainObject(ids))
    return problem('identifiers', 'identifiers must be an object with the delivery id');
  const bad =
    checkIdentifierValue('identifiers.id', ids.id) ??
    checkEvent('name', item.name, 'attributes', item.attributes) ??
    checkTimestamp('timestamp', item.timestamp);
  if (bad) return bad;
  return {
    type: 'delivery',
    action: 'event',
    identifiers: { id: String(ids.id) },
    name: (item.name as string).trim(),
    id: item.id as string | undefined,
    payload: item,
  };
}

/** A device: `idKey` (`id` in v1, `token` in v2) and `platform` (ios or android) are required. */
export function parseDevice(field: string, value: unknown, idKey: 'id' | 'token'): Device | Problem {
  if (!isPlainObject(value)) return problem(field, `${field} must be an object with ${idKey} and platform`);
  const bad =
    checkIdentifierValue(`${field}.${idKey}`, value[idKey]) ??
    checkTimestamp(`${field}.last_used`, value.last_used);
  if (bad) return bad;
  if (typeof value.platform !== 'string' || !(PLATFORMS as readonly string[]).includes(value.platform))
    return problem(`${field}.platform`, `${field}.platform must be one of ${PLATFORMS.join(', ')}`);
  if (value.attributes !== undefined && !isPlainObject(value.attributes))
    return problem(`${field}.attributes`, `${field}.attributes must be an object`);
  return {
    id: String(value[idKey]),
    platform: value.platform,
    last_used: typeof value.last_used === 'number' ? value.last_used : null,
    attributes: (value.attributes as Record<string, unknown> | undefined) ?? {},
  };
}

/**
 * Applies an accepted operation. Returns false for a duplicate (its id was seen
 * before): acknowledged like Customer.io does, but not stored or applied twice.
 */
export function applyOperation(
  state: SandboxState,
  op: TrackOperation,
  via: Via,
  receivedAt: string,
  nowSeconds: number,
): boolean {
  if (state.isDuplicate(op.id)) return false;
  const record: Operation = {
    id: op.id ?? null,
    type: op.type,
    action: op.action,
    identifiers: op.identifiers,
    received_at: receivedAt,
    via,
    payload: op.payload,
  };
  if (op.name !== undefined) record.name = op.name;
  if (op.secondary !== undefined) record.secondary = op.secondary;

  if (op.type === 'object') {
    applyObjectOperation(state, op, record, receivedAt);
    state.addOperation(record);
    return true;
  }

  if (op.type === 'person') {
    const ids = op.identifiers;
    switch (op.action) {
      case 'identify':
        if (state.isSuppressed(ids) || (op.alternate && state.isSuppressed(op.alternate))) {
          record.ignored = 'suppressed';
        } else if (
          !state.identify(ids, op.attributes ?? {}, receivedAt, {
            alternate: op.alternate,
            updateOnly: op.updateOnly,
          })
        ) {
          record.ignored = 'not_found';
        } else {
          // An `anonymous_id` attribute attributes that anonymous activity to the person.
          const anonymousId = op.anonymousId ?? op.attributes?.anonymous_id;
          if (typeof anonymousId === 'string' && anonymousId !== '') state.mergeAnonymous(anonymousId, ids);
          for (const r of op.relationships ?? [])
            state.relate(
              r.identifiers.object_type_id!,
              r.identifiers.object_id!,
              ids,
              r.attributes,
              receivedAt,
            );
        }
        break;
      case 'add_relationships':
        for (const r of op.relationships ?? [])
          state.relate(
            r.identifiers.object_type_id!,
            r.identifiers.object_id!,
            ids,
            r.attributes,
            receivedAt,
          );
        break;
      case 'delete_relationships':
        for (const r of op.relationships ?? [])
          state.unrelate(r.identifiers.object_type_id!, r.identifiers.object_id!, ids);
        break;
      case 'event':
      case 'page':
      case 'screen':
        if (op.anonymousId === undefined && state.isSuppressed(ids)) {
          record.ignored = 'suppressed';
          break;
        }
        state.addEvent({
          id: op.id ?? null,
          person: identifierLabel(ids),
          ...(op.anonymousId ? { anonymous_id: op.anonymousId } : {}),
          name: op.name ?? '',
          type: op.eventType ?? op.action,
          data: op.attributes ?? {},
          timestamp: op.timestamp ?? nowSeconds,
          received_at: receivedAt,
          via,
        });
        break;
      case 'delete':
        state.remove(ids, receivedAt);
        break;
      case 'suppress':
        state.suppress(ids, receivedAt);
        break;
      case 'unsuppress':
        state.unsuppress(ids, receivedAt);
        break;
      case 'add_device':
        if (!op.device || !state.addDevice(ids, op.device, receivedAt)) record.ignored = 'suppressed';
        break;
      case 'delete_device':
        state.deleteDevice(ids, op.deviceId ?? '', receivedAt);
        break;
      case 'merge':
        if (op.secondary && !state.merge(ids, op.secondary, receivedAt)) record.ignored = 'not_found';
        break;
    }
  }
  state.addOperation(record);
  return true;
}

/** An object operation: the object itself and its relationships to people. */
function applyObjectOperation(
  state: SandboxState,
  op: TrackOperation,
  record: Operation,
  receivedAt: string,
): void {
  const typeId = op.identifiers.object_type_id;
  const objectId = op.identifiers.object_id;
  if (typeId === undefined || objectId === undefined) {
    record.ignored = 'not_found'; // cio_object_id or an anonymous object: the sandbox keys objects by type and id
    return;
  }
  switch (op.action) {
    case 'identify':
    case 'identify_anonymous':
      state.identifyObject(typeId, objectId, op.attributes ?? {}, receivedAt);
      for (const r of op.relationships ?? [])
        state.relate(typeId, objectId, r.identifiers, r.attributes, receivedAt);
      break;
    case 'add_relationships':
      for (const r of op.relationships ?? [])
        state.relate(typeId, objectId, r.identifiers, r.attributes, receivedAt);
      break;
    case 'delete_relationships':
      for (const r of op.relationships ?? []) state.unrelate(typeId, objectId, r.identifiers);
      break;
    case 'delete':
      state.deleteObject(typeId, objectId);
      break;
  }
}
