import type {
  ObjectIdentifiers,
  ObjectRelationship,
  PersonRelationship,
  TrackOperation,
} from '@cio-bridge/schemas';
import { identifiersOf, type OperationOptions, type Person } from './seed-events';

/** An object: `{ object_type_id: "1", object_id: "acme" }` (Customer.io object types are stringified integers). */
export type ObjectRef = ObjectIdentifiers;

/** Who an event, page or screen view is for: a person, or `{ anonymous_id }` for someone not yet known. */
export type Visitor = Person | { anonymous_id: string };

const nowIso = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const withOptions = (op: TrackOperation, options: OperationOptions = {}): TrackOperation => {
  if (options.id !== undefined) op.id = options.id;
  if (options.timestamp !== undefined) op.timestamp = options.timestamp;
  return op;
};

const visitor = (who: Visitor): Pick<TrackOperation, 'identifiers' | 'anonymous_id'> =>
  typeof who === 'object' && 'anonymous_id' in who && typeof who.anonymous_id === 'string'
    ? { anonymous_id: who.anonymous_id }
    : { identifiers: identifiersOf(who as Person) };

const viewOf =
  (action: 'page' | 'screen') =>
  (who: Visitor, name: string, data: Record<string, unknown> = {}, options?: OperationOptions) =>
    withOptions({ action, ...visitor(who), name, data, timestamp: nowIso() }, options);

/**
 * Builders of Customer.io's wider data model: objects and relationships, anonymous
 * activity and page/screen views (not yet validated or sent).
 */
export const dataModelOperations = {
  /** Creates or updates an object, optionally relating people to it. Keyed `object:<type>:<id>`. */
  identifyObject: (
    object: ObjectRef,
    attributes: Record<string, unknown> = {},
    people: ObjectRelationship[] = [],
    options?: OperationOptions,
  ) =>
    withOptions(
      {
        type: 'object',
        action: 'identify',
        identifiers: object,
        attributes,
        ...(people.length > 0 ? { cio_relationships: people } : {}),
      },
      options,
    ),
  deleteObject: (object: ObjectRef, options?: OperationOptions) =>
    withOptions({ type: 'object', action: 'delete', identifiers: object }, options),
  relateObject: (object: ObjectRef, people: ObjectRelationship[], options?: OperationOptions) =>
    withOptions(
      { type: 'object', action: 'add_relationships', identifiers: object, cio_relationships: people },
      options,
    ),
  unrelateObject: (object: ObjectRef, people: ObjectRelationship[], options?: OperationOptions) =>
    withOptions(
      { type: 'object', action: 'delete_relationships', identifiers: object, cio_relationships: people },
      options,
    ),
  /** Relates a person to objects (`relationship_attributes` per object). */
  addRelationships: (person: Person, objects: PersonRelationship[], options?: OperationOptions) =>
    withOptions(
      { action: 'add_relationships', identifiers: identifiersOf(person), cio_relationships: objects },
      options,
    ),
  deleteRelationships: (person: Person, objects: PersonRelationship[], options?: OperationOptions) =>
    withOptions(
      { action: 'delete_relationships', identifiers: identifiersOf(person), cio_relationships: objects },
      options,
    ),
  /** An event of someone not yet known; an identify with the same anonymous id merges it. */
  anonymousEvent: (
    anonymousId: string,
    name: string,
    data: Record<string, unknown> = {},
    options?: OperationOptions,
  ) => withOptions({ name, anonymous_id: anonymousId, data, timestamp: nowIso() }, options),
  /** Identifies a person and merges the activity of their anonymous id into them (sign-up, log-in). */
  identifyMerging: (
    person: Person,
    anonymousId: string,
    attributes: Record<string, unknown> = {},
    options?: OperationOptions,
  ) =>
    withOptions(
      {
        action: 'identify',
        identifiers: identifiersOf(person),
        anonymous_id: anonymousId,
        attributes,
        timestamp: nowIso(),
      },
      options,
    ),
  /** A page view: `name` the page (URL or path), `data` its url, path, title, referrer, search. */
  page: viewOf('page'),
  /** A mobile screen view. */
  screen: viewOf('screen'),
} satisfies Record<string, (...args: never[]) => TrackOperation>;
