import { parseJsonText } from '@cio-bridge/schemas';
import { parseUserId, type UserKey } from './user-key';

/** The value of `customerio.predictions`, as the webhook-handler publishes it. */
export interface PredictionMessage {
  user_id: string | number;
  predictions: Record<string, unknown>;
  /** when Customer.io made the prediction (the signed webhook timestamp), ISO time */
  as_of: string;
  received_at?: string;
  webhook_id?: string;
}

export interface Prediction {
  /** canonical user id (see user-key.ts) */
  userId: string;
  predictions: Record<string, unknown>;
  /** as_of in epoch milliseconds */
  asOf: number;
}

export type ParsedPrediction =
  | { ok: true; prediction: Prediction }
  | { ok: false; field: string; reason: string };

const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Parses and checks one message value; the reason names the offending field. */
export function parsePrediction(value: Buffer | string | null, key: UserKey): ParsedPrediction {
  if (value === null || value.length === 0) return { ok: false, field: 'value', reason: 'is empty' };
  // The reason names a position, never the content (it is logged).
  const parsed = parseJsonText(value);
  if (!parsed.ok) return { ok: false, field: 'value', reason: `is ${parsed.message}` };
  const message: unknown = parsed.value;
  if (!isPlainObject(message)) return { ok: false, field: 'value', reason: 'must be a JSON object' };
  const id = parseUserId(key, message.user_id);
  if (!id.ok) return { ok: false, field: 'user_id', reason: id.reason };
  if (!isPlainObject(message.predictions)) {
    return { ok: false, field: 'predictions', reason: 'must be an object' };
  }
  const asOf =
    typeof message.as_of === 'string' && isoTime.test(message.as_of) ? Date.parse(message.as_of) : NaN;
  if (!Number.isFinite(asOf)) return { ok: false, field: 'as_of', reason: 'must be an ISO 8601 time' };
  return { ok: true, prediction: { userId: id.id, predictions: message.predictions, asOf } };
}

/** One user's merged input for the batch statement: values and their as_of per field. */
export interface MergeRow {
  k: string;
  f: Record<string, unknown>;
  a: Record<string, string>;
}

/**
 * Folds a batch into one row per user, field by field: the value with the latest as_of
 * wins; on equal as_of the earlier message (lower offset) stays, as it would in the
 * table. The database then applies each field only where it is newer than what it holds.
 */
export function collapse(predictions: Iterable<Prediction>): MergeRow[] {
  // Objects without a prototype: a field named `__proto__` is a field like any other.
  const byUser = new Map<string, { f: Record<string, unknown>; t: Record<string, number> }>();
  for (const { userId, predictions: fields, asOf } of predictions) {
    let row = byUser.get(userId);
    for (const field in fields) {
      if (!row) {
        row = { f: Object.create(null), t: Object.create(null) };
        byUser.set(userId, row);
      }
      const held = row.t[field];
      if (held === undefined || asOf > held) {
        row.f[field] = fields[field];
        row.t[field] = asOf;
      }
    }
  }
  const rows: MergeRow[] = [];
  const iso = new Map<number, string>();
  for (const [k, { f, t }] of byUser) {
    const a: Record<string, string> = Object.create(null);
    for (const field in t) {
      const ms = t[field]!;
      let text = iso.get(ms);
      if (text === undefined) {
        text = new Date(ms).toISOString();
        iso.set(ms, text);
      }
      a[field] = text;
    }
    rows.push({ k, f, a });
  }
  return rows;
}
