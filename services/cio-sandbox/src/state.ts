/**
 * The sandbox's in-memory workspace: people, events, accepted operations,
 * transactional sends, a short request log and counters. Everything lives in
 * plain maps and arrays so the per-request work stays small.
 */

export type Via = 'v1' | 'v2-entity' | 'v2-batch' | 'pipelines';

/** A person identifier as Customer.io accepts it: exactly one of these keys. */
export interface Identifiers {
  id?: string;
  email?: string;
  cio_id?: string;
  phone?: string;
  anonymous_id?: string;
  object_type_id?: string;
  object_id?: string;
  cio_object_id?: string;
}

export interface Device {
  id: string;
  platform: string;
  last_used: number | null;
  attributes: Record<string, unknown>;
}

export interface Person {
  id: string | null;
  email: string | null;
  cio_id: string;
  attributes: Record<string, unknown>;
  suppressed: boolean;
  deleted: boolean;
  devices: Device[];
  created_at: string;
  updated_at: string;
}

export interface StoredEvent {
  id: string | null;
  /** the identifier the event was sent for (`cio_<cio_id>` for cio ids); null for anonymous events */
  person: string | null;
  anonymous_id?: string;
  name: string;
  type: string;
  data: Record<string, unknown>;
  /** unix seconds, as sent or the arrival time */
  timestamp: number;
  received_at: string;
  via: Via;
}

export interface Operation {
  id: string | null;
  type: 'person' | 'object' | 'delivery';
  action: string;
  identifiers: Identifiers;
  name?: string;
  /** merge: the person merged into `identifiers` */
  secondary?: Identifiers;
  /** set when Customer.io would accept the call but drop its effect */
  ignored?: 'suppressed' | 'not_found';
  received_at: string;
  via: Via;
  /** the operation as received (v1: the request body) */
  payload: unknown;
}

/** A custom object (a company, account, household...). */
export interface SandboxObject {
  object_type_id: string;
  object_id: string;
  cio_object_id: string;
  attributes: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** A person-object relationship; the person as the operation named them. */
export interface Relationship {
  object_type_id: string;
  object_id: string;
  /** `id`, `email`, `cio_id` or, for anonymous relationships, `anonymous_id` */
  person: Identifiers;
  attributes: Record<string, unknown>;
  updated_at: string;
}

export interface Send {
  delivery_id: string;
  queued_at: number;
  transactional_message_id: string | number;
  to: string;
  identifiers: Identifiers;
  message_data: Record<string, unknown> | null;
  received_at: string;
  request: Record<string, unknown>;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  /** 0 when the connection was reset by fault injection */
  status: number;
  at: string;
}

export interface Counters {
  /** Track and App API requests received (admin requests excluded) */
  requests: number;
  /** operations and transactional sends accepted and stored (duplicates excluded) */
  accepted: number;
  /** operations acknowledged but not stored again because their id was seen before */
  duplicates: number;
  /** operations or requests refused as invalid (400, and each failing item of a 207) */
  rejected: number;
  /** requests answered 401 */
  unauthorized: number;
  /** requests answered 429 by the rate limit */
  rate_limited: number;
  /** requests failed, delayed-only excluded, by fault injection */
  faults_injected: number;
  /** Track and App API responses by status ("0" = connection reset) */
  by_status: Record<string, number>;
  /** Track and App API requests by route pattern, e.g. "/api/v2/batch" */
  by_path: Record<string, number>;
  /** Track and App API requests by method and route pattern, e.g. "PUT /api/v1/customers/:identifier" */
  by_route: Record<string, number>;
  /** oldest operations, events and sends no longer listed because more than `maxRecords` were kept */
  records_dropped: number;
}

const REQUEST_LOG_SIZE = 1000;

export const newCounters = (): Counters => ({
  requests: 0,
  accepted: 0,
  duplicates: 0,
  rejected: 0,
  unauthorized: 0,
  rate_limited: 0,
  faults_injected: 0,
  by_status: {},
  by_path: {},
  by_route: {},
  records_dropped: 0,
});

/** Default for how many operations, events and sends each are listed (older ones are dropped). */
export const DEFAULT_MAX_RECORDS = 100_000;

/** Event ids are remembered for de-duplication for at least this many operations (at most twice as many). */
export const DEDUPE_WINDOW = 1_000_000;

/** Where a person is found: the kind of identifier and its value. */
export type IdentifierKind = 'id' | 'email' | 'cio_id';

/**
 * Reads a v1 path identifier the way Customer.io does, from its shape:
 * `cio_<value>` is a cio_id, a value with `@` an email, anything else an id.
 */
export function parsePathIdentifier(value: string): Identifiers {
  if (value.startsWith('cio_')) return { cio_id: value.slice(4) };
  if (value.includes('@')) return { email: value };
  return { id: value };
}

/** The string an event records as its person: the id, the email or `cio_<cio_id>`. */
export function identifierLabel(identifiers: Identifiers): string | null {
  if (identifiers.id !== undefined) return identifiers.id;
  if (identifiers.email !== undefined) return identifiers.email;
  if (identifiers.cio_id !== undefined) return `cio_${identifiers.cio_id}`;
  if (identifiers.phone !== undefined) return identifiers.phone;
  return null;
}

export class SandboxState {
  /** how many operations, events and sends each are kept for listing; the oldest go first */
  constructor(
    readonly maxRecords: number = DEFAULT_MAX_RECORDS,
    /** ids are remembered for at least this many id-carrying operations */
    readonly dedupeWindow: number = DEDUPE_WINDOW,
  ) {}

  people: Person[] = [];
  private byId = new Map<string, Person>();
  private byEmail = new Map<string, Person>();
  private byCioId = new Map<string, Person>();
  /** suppressed identifiers, as "id:<v>" / "email:<v>" */
  private suppressedKeys = new Set<string>();
  // two generations of seen ids: when the current one is full it becomes the previous one
  private seenIds = new Set<string>();
  private seenIdsBefore = new Set<string>();
  private cioCounter = 0;
  private deliveryCounter = 0;

  events: StoredEvent[] = [];
  /** objects by `<object_type_id>:<object_id>` */
  objects = new Map<string, SandboxObject>();
  /** relationships by object key and person label */
  relationships = new Map<string, Relationship>();
  /** anonymous ids merged into a person: later anonymous events with them are attributed too */
  private anonymousOwners = new Map<string, string>();
  private objectCounter = 0;
  operations: Operation[] = [];
  sends: Send[] = [];
  private requestLog: RequestLogEntry[] = [];
  private requestLogNext = 0;
  counters: Counters = newCounters();

  reset(): void {
    this.people = [];
    this.byId.clear();
    this.byEmail.clear();
    this.byCioId.clear();
    this.suppressedKeys.clear();
    this.seenIds.clear();
    this.seenIdsBefore.clear();
    this.cioCounter = 0;
    this.deliveryCounter = 0;
    this.events = [];
    this.objects.clear();
    this.relationships.clear();
    this.anonymousOwners.clear();
    this.objectCounter = 0;
    this.operations = [];
    this.sends = [];
    this.requestLog = [];
    this.requestLogNext = 0;
    this.counters = newCounters();
  }

  // ---- request log and counters -------------------------------------------------

  logRequest(method: string, path: string, status: number, route: string | undefined): void {
    const c = this.counters;
    const statusKey = String(status);
    c.by_status[statusKey] = (c.by_status[statusKey] ?? 0) + 1;
    const pattern = route ?? 'unmatched';
    c.by_path[pattern] = (c.by_path[pattern] ?? 0) + 1;
    const routeKey = `${method} ${pattern}`;
    c.by_route[routeKey] = (c.by_route[routeKey] ?? 0) + 1;
    const entry: RequestLogEntry = { method, path, status, at: new Date().toISOString() };
    if (this.requestLog.length < REQUEST_LOG_SIZE) {
      this.requestLog.push(entry);
    } else {
      this.requestLog[this.requestLogNext] = entry;
    }
    this.requestLogNext = (this.requestLogNext + 1) % REQUEST_LOG_SIZE;
  }

  /** The most recent requests, oldest first. */
  recentRequests(limit: number): RequestLogEntry[] {
    const log = this.requestLog;
    const ordered =
      log.length < REQUEST_LOG_SIZE
        ? log
        : [...log.slice(this.requestLogNext), ...log.slice(0, this.requestLogNext)];
    return ordered.slice(Math.max(0, ordered.length - limit));
  }

  // ---- de-duplication -----------------------------------------------------------

  /** True when `id` was seen before (counted as a duplicate); remembers it otherwise. */
  isDuplicate(id: string | null | undefined): boolean {
    if (id === undefined || id === null || id === '') return false;
    if (this.seenIds.has(id) || this.seenIdsBefore.has(id)) {
      this.counters.duplicates++;
      return true;
    }
    if (this.seenIds.size >= this.dedupeWindow) {
      this.seenIdsBefore = this.seenIds;
      this.seenIds = new Set<string>();
    }
    this.seenIds.add(id);
    return false;
  }

  // ---- people -------------------------------------------------------------------

  find(identifiers: Identifiers): Person | undefined {
    if (identifiers.cio_id !== undefined) return this.byCioId.get(identifiers.cio_id);
    if (identifiers.id !== undefined) return this.byId.get(identifiers.id);
    if (identifiers.email !== undefined) return this.byEmail.get(identifiers.email.toLowerCase());
    return undefined;
  }

  /** Finds a person by any identifier string (admin lookups): cio_ prefix, id, then email. */
  lookup(value: string): Person | undefined {
    if (value.startsWith('cio_')) {
      const byCio = this.byCioId.get(value.slice(4));
      if (byCio) return byCio;
    }
    return this.byId.get(value) ?? this.byEmail.get(value.toLowerCase()) ?? this.byCioId.get(value);
  }

  isSuppressed(identifiers: Identifiers): boolean {
    if (this.suppressedKeys.size === 0) return false;
    if (identifiers.id !== undefined && this.suppressedKeys.has(`id:${identifiers.id}`)) return true;
    if (
      identifiers.email !== undefined &&
      this.suppressedKeys.has(`email:${identifiers.email.toLowerCase()}`)
    )
      return true;
    if (identifiers.cio_id !== undefined) {
      const person = this.byCioId.get(identifiers.cio_id);
      if (person?.suppressed) return true;
    }
    return false;
  }

  private create(identifiers: Identifiers, now: string): Person {
    this.cioCounter++;
    const person: Person = {
      id: identifiers.id ?? null,
      email: identifiers.email ?? null,
      cio_id: (0xa3000000 + this.cioCounter).toString(16),
      attributes: {},
      suppressed: false,
      deleted: false,
      devices: [],
      created_at: now,
      updated_at: now,
    };
    this.people.push(person);
    this.index(person);
    return person;
  }

  private index(person: Person): void {
    this.byCioId.set(person.cio_id, person);
    if (person.id !== null) this.byId.set(person.id, person);
    if (person.email !== null) this.byEmail.set(person.email.toLowerCase(), person);
  }

  private setId(person: Person, id: string): void {
    if (person.id === id) return;
    const owner = this.byId.get(id);
    if (owner && owner !== person && !owner.deleted) return; // belongs to someone else: Customer.io ignores it
    if (person.id !== null && this.byId.get(person.id) === person) this.byId.delete(person.id);
    person.id = id;
    this.byId.set(id, person);
  }

  private setEmail(person: Person, email: string): void {
    if (person.email !== null && person.email.toLowerCase() === email.toLowerCase()) {
      person.email = email;
      return;
    }
    const owner = this.byEmail.get(email.toLowerCase());
    if (owner && owner !== person && !owner.deleted) return;
    if (person.email !== null && this.byEmail.get(person.email.toLowerCase()) === person)
      this.byEmail.delete(person.email.toLowerCase());
    person.email = email;
    this.byEmail.set(email.toLowerCase(), person);
  }

  /** A deleted profile comes back as a new one: fresh attributes, devices and cio_id. */
  private revive(person: Person, now: string): void {
    this.byCioId.delete(person.cio_id);
    this.cioCounter++;
    person.cio_id = (0xa3000000 + this.cioCounter).toString(16);
    person.attributes = {};
    person.devices = [];
    person.deleted = false;
    person.created_at = now;
    this.byCioId.set(person.cio_id, person);
  }

  /**
   * Adds or updates a person. `alternate` are identifiers from the body (v1 `id`/`email`)
   * that find the person when the primary identifier does not. Returns false when
   * Customer.io would drop the call (suppressed identifier, unknown cio_id, `_update` for nobody).
   */
  identify(
    identifiers: Identifiers,
    attributes: Record<string, unknown>,
    now: string,
    options: { alternate?: Identifiers; updateOnly?: boolean } = {},
  ): boolean {
    const alternate = options.alternate ?? {};
    if (this.isSuppressed(identifiers) || this.isSuppressed(alternate)) return false;
    let person = this.find(identifiers);
    if (!person || person.deleted) {
      const other =
        (alternate.id !== undefined ? this.find({ id: alternate.id }) : undefined) ??
        (alternate.email !== undefined ? this.find({ email: alternate.email }) : undefined);
      if (other && !other.deleted) person = other;
    }
    if (!person) {
      if (identifiers.cio_id !== undefined || options.updateOnly) return false;
      person = this.create(identifiers, now);
    } else if (person.deleted) {
      if (identifiers.cio_id !== undefined || options.updateOnly) return false;
      this.revive(person, now);
    }
    if (identifiers.id !== undefined) this.setId(person, identifiers.id);
    if (identifiers.email !== undefined) this.setEmail(person, identifiers.email);
    if (alternate.id !== undefined) this.setId(person, alternate.id);
    if (alternate.email !== undefined) this.setEmail(person, alternate.email);
    for (const key of Object.keys(attributes)) {
      const value = attributes[key];
      if (value === null) delete person.attributes[key];
      else person.attributes[key] = value;
    }
    person.updated_at = now;
    return true;
  }

  /** Deletes a profile (kept as a tombstone with `deleted: true`). */
  remove(identifiers: Identifiers, now: string): boolean {
    const person = this.find(identifiers);
    if (!person || person.deleted) return false;
    if (this.relationships.size > 0) this.unrelatePerson(person);
    person.deleted = true;
    person.updated_at = now;
    return true;
  }

  /** Deletes the profile and blocks its identifiers until unsuppressed. */
  suppress(identifiers: Identifiers, now: string): void {
    let person = this.find(identifiers);
    if (!person) {
      if (identifiers.cio_id !== undefined) return;
      person = this.create(identifiers, now);
    }
    person.suppressed = true;
    person.deleted = true;
    person.updated_at = now;
    if (person.id !== null) this.suppressedKeys.add(`id:${person.id}`);
    if (person.email !== null) this.suppressedKeys.add(`email:${person.email.toLowerCase()}`);
  }

  /** Lifts a suppression; the deleted profile stays deleted until identified again. */
  unsuppress(identifiers: Identifiers, now: string): void {
    const person = this.find(identifiers);
    if (identifiers.id !== undefined) this.suppressedKeys.delete(`id:${identifiers.id}`);
    if (identifiers.email !== undefined)
      this.suppressedKeys.delete(`email:${identifiers.email.toLowerCase()}`);
    if (!person) return;
    if (person.id !== null) this.suppressedKeys.delete(`id:${person.id}`);
    if (person.email !== null) this.suppressedKeys.delete(`email:${person.email.toLowerCase()}`);
    person.suppressed = false;
    person.updated_at = now;
  }

  /** Adds or updates a device; creates the person when unknown (as a device registration does). */
  addDevice(identifiers: Identifiers, device: Device, now: string): boolean {
    if (this.isSuppressed(identifiers)) return false;
    let person = this.find(identifiers);
    if (!person) {
      if (identifiers.cio_id !== undefined) return false;
      person = this.create(identifiers, now);
    } else if (person.deleted) {
      this.revive(person, now);
    }
    const existing = person.devices.findIndex((d) => d.id === device.id);
    if (existing >= 0) person.devices[existing] = device;
    else person.devices.push(device);
    person.updated_at = now;
    return true;
  }

  deleteDevice(identifiers: Identifiers, deviceId: string, now: string): void {
    const person = this.find(identifiers);
    if (!person) return;
    const before = person.devices.length;
    person.devices = person.devices.filter((d) => d.id !== deviceId);
    if (person.devices.length !== before) person.updated_at = now;
  }

  /** Merges `secondary` into `primary` (primary's attributes win) and deletes `secondary`. */
  merge(primaryIds: Identifiers, secondaryIds: Identifiers, now: string): boolean {
    const primary = this.find(primaryIds);
    const secondary = this.find(secondaryIds);
    if (!primary || primary.deleted || !secondary || secondary.deleted || primary === secondary) return false;
    primary.attributes = { ...secondary.attributes, ...primary.attributes };
    for (const device of secondary.devices) {
      if (!primary.devices.some((d) => d.id === device.id)) primary.devices.push(device);
    }
    secondary.deleted = true;
    secondary.updated_at = now;
    primary.updated_at = now;
    if (primary.email === null && secondary.email !== null) {
      const email = secondary.email;
      this.byEmail.delete(email.toLowerCase());
      this.setEmail(primary, email);
    }
    return true;
  }

  // ---- events, operations, sends ------------------------------------------------

  /** Drops the oldest records once a list holds a tenth more than `maxRecords` (amortised). */
  private trim<T>(list: T[]): void {
    if (list.length <= this.maxRecords + Math.ceil(this.maxRecords / 10)) return;
    const excess = list.length - this.maxRecords;
    list.splice(0, excess);
    this.counters.records_dropped += excess;
  }

  // ---- objects, relationships, anonymous activity ---------------------------------

  /** Creates or updates an object; null attribute values remove the attribute. */
  identifyObject(
    typeId: string,
    objectId: string,
    attributes: Record<string, unknown>,
    now: string,
  ): SandboxObject {
    const key = `${typeId}:${objectId}`;
    let object = this.objects.get(key);
    if (!object) {
      this.objectCounter++;
      object = {
        object_type_id: typeId,
        object_id: objectId,
        cio_object_id: `obj_${(0xb1000000 + this.objectCounter).toString(16)}`,
        attributes: {},
        created_at: now,
        updated_at: now,
      };
      this.objects.set(key, object);
    }
    for (const name of Object.keys(attributes)) {
      const value = attributes[name];
      if (value === null) delete object.attributes[name];
      else object.attributes[name] = value;
    }
    object.updated_at = now;
    return object;
  }

  /** Deletes an object and every relationship to it. */
  deleteObject(typeId: string, objectId: string): void {
    this.objects.delete(`${typeId}:${objectId}`);
    for (const [key, relationship] of this.relationships) {
      if (relationship.object_type_id === typeId && relationship.object_id === objectId)
        this.relationships.delete(key);
    }
  }

  private relationshipKey(typeId: string, objectId: string, person: Identifiers): string {
    const label = identifierLabel(person) ?? `anonymous:${person.anonymous_id}`;
    return `${typeId}:${objectId}\u0000${label}`;
  }

  /** Relates a person to an object (creating the object when unknown); null attributes remove one. */
  relate(
    typeId: string,
    objectId: string,
    person: Identifiers,
    attributes: Record<string, unknown> | undefined,
    now: string,
  ): void {
    if (!this.objects.has(`${typeId}:${objectId}`)) this.identifyObject(typeId, objectId, {}, now);
    const key = this.relationshipKey(typeId, objectId, person);
    const relationship = this.relationships.get(key) ?? {
      object_type_id: typeId,
      object_id: objectId,
      person,
      attributes: {},
      updated_at: now,
    };
    for (const name of Object.keys(attributes ?? {})) {
      const value = attributes?.[name];
      if (value === null || value === '') delete relationship.attributes[name];
      else relationship.attributes[name] = value;
    }
    relationship.updated_at = now;
    this.relationships.set(key, relationship);
  }

  /** Removes every relationship of a person (a deleted person keeps none). */
  unrelatePerson(person: Person): void {
    for (const [key, relationship] of this.relationships) {
      if (relationship.person.anonymous_id === undefined && this.find(relationship.person) === person)
        this.relationships.delete(key);
    }
  }

  unrelate(typeId: string, objectId: string, person: Identifiers): void {
    this.relationships.delete(this.relationshipKey(typeId, objectId, person));
  }

  /** Relationships as the state API shows them: the person resolved to their cio_id when known. */
  relationshipList(): Array<Relationship & { person_cio_id: string | null }> {
    return [...this.relationships.values()].map((relationship) => {
      const found =
        relationship.person.anonymous_id === undefined ? this.find(relationship.person) : undefined;
      return { ...relationship, person_cio_id: found && !found.deleted ? found.cio_id : null };
    });
  }

  /**
   * Attributes the anonymous events (and anonymous relationships) of `anonymousId` to the
   * person, and the ones that arrive later too (Customer.io merges those arriving shortly
   * after the identify; the sandbox does not expire that).
   */
  mergeAnonymous(anonymousId: string, identifiers: Identifiers): number {
    const label = identifierLabel(identifiers);
    if (label === null) return 0;
    this.anonymousOwners.set(anonymousId, label);
    let merged = 0;
    for (const event of this.events) {
      if (event.person === null && event.anonymous_id === anonymousId) {
        event.person = label;
        merged++;
      }
    }
    for (const [key, relationship] of this.relationships) {
      if (relationship.person.anonymous_id !== anonymousId) continue;
      this.relationships.delete(key);
      this.relate(
        relationship.object_type_id,
        relationship.object_id,
        identifiers,
        relationship.attributes,
        relationship.updated_at,
      );
    }
    return merged;
  }

  /** The person an anonymous id was merged into (their identifier label), if any. */
  anonymousOwner(anonymousId: string): string | undefined {
    return this.anonymousOwners.get(anonymousId);
  }

  addEvent(event: StoredEvent): void {
    if (event.person === null && event.anonymous_id !== undefined) {
      event.person = this.anonymousOwners.get(event.anonymous_id) ?? null;
    }
    this.events.push(event);
    this.trim(this.events);
  }

  addOperation(operation: Operation): void {
    this.operations.push(operation);
    this.counters.accepted++;
    this.trim(this.operations);
  }

  /** The identifier strings that name the same person as `identifier` (itself included). */
  private labelsOf(identifier: string): Set<string> {
    const person = this.lookup(identifier);
    const labels = new Set<string>([identifier]);
    if (person) {
      if (person.id !== null) labels.add(person.id);
      if (person.email !== null) labels.add(person.email);
      labels.add(`cio_${person.cio_id}`);
    }
    return labels;
  }

  /** Events for a person, by any of their identifiers, in arrival order. */
  eventsFor(identifier: string): StoredEvent[] {
    const labels = this.labelsOf(identifier);
    return this.events.filter((event) => event.person !== null && labels.has(event.person));
  }

  /** Operations naming a person (as the subject or a merge's secondary), in arrival order. */
  operationsFor(identifier: string): Operation[] {
    const labels = this.labelsOf(identifier);
    return this.operations.filter((op) => {
      const subject = identifierLabel(op.identifiers);
      if (subject !== null && labels.has(subject)) return true;
      const secondary = op.secondary ? identifierLabel(op.secondary) : null;
      return secondary !== null && labels.has(secondary);
    });
  }

  addSend(request: Record<string, unknown>, now: string): Send {
    this.deliveryCounter++;
    const send: Send = {
      delivery_id: `sbx_${Date.now().toString(36)}_${this.deliveryCounter.toString(36)}`,
      queued_at: Math.floor(Date.now() / 1000),
      transactional_message_id: request.transactional_message_id as string | number,
      to: request.to as string,
      identifiers: request.identifiers as Identifiers,
      message_data: (request.message_data as Record<string, unknown> | undefined) ?? null,
      received_at: now,
      request,
    };
    this.sends.push(send);
    this.counters.accepted++;
    this.trim(this.sends);
    return send;
  }
}
