import type { TrackAction } from '@cio-bridge/contracts';

// The operations a Track message can carry (`action`; `event` when absent and `name` is
// present) are a contract of their own, shared with the CLI.
export { OBJECT_ACTIONS, type ObjectAction, TRACK_ACTIONS, type TrackAction } from '@cio-bridge/contracts';

/** The entity an operation is about: a person (the default) or an object. */
export type EntityType = 'person' | 'object';

/** Exactly one of `id`, `email` or `cio_id` is set (the schema enforces it). */
export interface PersonIdentifiers {
  id?: string;
  email?: string;
  cio_id?: string;
  object_type_id?: undefined;
  object_id?: undefined;
}

/** An object: its type (a stringified integer from "1") and its id within the type. */
export interface ObjectIdentifiers {
  object_type_id: string;
  object_id: string;
  id?: undefined;
  email?: undefined;
  cio_id?: undefined;
}

/** One relationship of a person to an object (person identify, add/delete_relationships). */
export interface PersonRelationship {
  identifiers: ObjectIdentifiers;
  relationship_attributes?: Record<string, unknown>;
}

/** One relationship of an object to a person (object identify, add/delete_relationships). */
export interface ObjectRelationship {
  identifiers: PersonIdentifiers;
  relationship_attributes?: Record<string, unknown>;
}

export type IdentifierKind = 'id' | 'email' | 'cio_id';

/** RFC 3339 date-time string (seed payloads) or Unix seconds (Customer.io v2). */
export type Timestamp = string | number;

export interface Device {
  token: string;
  platform?: 'ios' | 'android';
  last_used?: number;
  attributes?: Record<string, string>;
}

/**
 * One Track operation: the value of the `customerio.track` topic. The seed
 * events are accepted as they are (`name`, `identifiers`, `data`, `timestamp`);
 * `action` selects other operations. `merge` uses `primary`/`secondary`
 * instead of `identifiers`. `id` is a ULID assigned when first accepted.
 */
export interface TrackOperation {
  action?: TrackAction;
  /** Customer.io v2 entity type: `person` (default) or `object` (then `identifiers` are an object's). */
  type?: EntityType;
  id?: string;
  identifiers?: PersonIdentifiers | ObjectIdentifiers;
  /**
   * events, page, screen: the anonymous person instead of `identifiers`;
   * identify: merges that anonymous activity into the identified person
   */
  anonymous_id?: string;
  /** Event, page or screen name. */
  name?: string;
  /** Event, page or screen data. */
  data?: Record<string, unknown>;
  /** Person or object attributes (identify only). */
  attributes?: Record<string, unknown>;
  /** Relationships: a person's to objects, or an object's to people. */
  cio_relationships?: PersonRelationship[] | ObjectRelationship[];
  timestamp?: Timestamp;
  /** add_device / delete_device. */
  device?: Device;
  /** merge: the person who remains. */
  primary?: PersonIdentifiers;
  /** merge: the person merged into primary and deleted. */
  secondary?: PersonIdentifiers;
}

/** Customer.io App API `POST /v1/send/email` body, plus cio-bridge's ULID `id`. */
export interface TransactionalSend {
  id?: string;
  transactional_message_id: string | number;
  to: string;
  identifiers: PersonIdentifiers;
  from?: string;
  reply_to?: string;
  bcc?: string;
  subject?: string;
  body?: string;
  plaintext_body?: string;
  message_data?: Record<string, unknown>;
  disable_message_retention?: boolean;
  send_to_unsubscribed?: boolean;
  queue_draft?: boolean;
}

/** The prediction fields of the seed's three webhooks, in any combination; other fields pass through. */
export interface Predictions {
  churn_probability?: number;
  engagement_score?: number;
  recommended_segment?: string;
  predicted_ltv?: number;
  next_best_action?: string;
  product_affinity_scores?: Record<string, number>;
  purchase_probability?: number;
  predicted_purchase_value?: number;
  [field: string]: unknown;
}

/** A prediction webhook body (seed section 2.2). */
export interface PredictionWebhook {
  user_id: number | string;
  predictions: Predictions;
}

export type ReportingObjectType =
  | 'customer'
  | 'email'
  | 'push'
  | 'in_app'
  | 'sms'
  | 'slack'
  | 'webhook'
  | 'whatsapp';

/** A Customer.io reporting webhook event (reporting-webhooks.openapi.json). */
export interface ReportingWebhook {
  event_id: string;
  object_type: ReportingObjectType;
  metric: string;
  timestamp: number;
  data: {
    customer_id?: string | null;
    email_address?: string | null;
    identifiers?: { id?: string | null; email?: string | null; cio_id?: string };
    delivery_id?: string;
    recipient?: string;
    failure_message?: string;
    subject?: string;
    action_id?: number;
    campaign_id?: number | null;
    broadcast_id?: number | null;
    newsletter_id?: number | null;
    journey_id?: string;
    [field: string]: unknown;
  };
}

/** One problem with an input: where (a JSON pointer into it, "" for the whole) and why. */
export type FieldError = { pointer: string; message: string };

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };
