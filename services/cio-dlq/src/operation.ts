import { TRACK_ACTIONS } from '@cio-bridge/contracts';
import { toMillis } from './time';

/** The Track actions are the worker's contract (@cio-bridge/contracts). */
export { TRACK_ACTIONS };

/**
 * What `list` and the filters show of a dead-lettered value. `send_email` is a
 * transactional send (App API); `unknown` a value that is not a recognisable
 * operation (for example a message dead-lettered for failing validation).
 */
export const ACTIONS = [...TRACK_ACTIONS, 'send_email', 'unknown'] as const;
export type Action = (typeof ACTIONS)[number];

export interface OperationSummary {
  action: Action;
  /** the event name of an `event` operation */
  eventName?: string;
  /** the person's identifier (`id`, `email` or `cio_id` value; the primary for merge; `to` for a send) */
  person?: string;
  /** every identifier value in the operation, for `--customer` */
  identifiers: string[];
  /** the operation id (a ULID), sent to Customer.io as the event id */
  id?: string;
  /** the operation's own `timestamp`, in ms */
  readonly time?: number;
  /** the parsed value, when it is JSON */
  json?: unknown;
  /** why the value could not be read as an operation */
  problem?: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function identifierValues(value: unknown): string[] {
  if (!isRecord(value)) return [];
  return ['id', 'email', 'cio_id'].flatMap((kind) => {
    const v = value[kind];
    return typeof v === 'string' || typeof v === 'number' ? [String(v)] : [];
  });
}

function objectKeys(value: unknown): string[] {
  if (!isRecord(value)) return [];
  const { object_type_id: type, object_id: id } = value;
  return typeof type === 'string' && typeof id === 'string' ? [`object:${type}:${id}`] : [];
}

const known: ReadonlySet<string> = new Set(TRACK_ACTIONS);

/** Holds the raw `timestamp` and parses it when asked. */
class Summary {
  constructor(private readonly rawTimestamp: unknown) {}
  get time(): number | undefined {
    return toMillis(this.rawTimestamp);
  }
}

/** Reads a dead-lettered value leniently: it may be anything the worker could not deliver. */
export function describeOperation(value: Buffer | null): OperationSummary {
  if (value === null) return { action: 'unknown', identifiers: [], problem: 'no value (tombstone)' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return { action: 'unknown', identifiers: [], problem: 'value is not JSON' };
  }
  if (!isRecord(json))
    return { action: 'unknown', identifiers: [], json, problem: 'value is not a JSON object' };
  const id = typeof json.id === 'string' ? json.id : undefined;
  // Only the stale-identify guard needs the time; parsing it for every listed message costs.
  const timestamp = json.timestamp;
  const lazyTime = <T extends object>(summary: T): T & { readonly time?: number } =>
    Object.assign(new Summary(timestamp), summary);

  if ('transactional_message_id' in json || ('to' in json && !('action' in json) && !('name' in json))) {
    const ids = identifierValues(json.identifiers);
    const to = typeof json.to === 'string' ? json.to : undefined;
    return lazyTime({
      action: 'send_email' as const,
      person: ids[0] ?? to,
      identifiers: to ? [...ids, to] : ids,
      id,
      json,
    });
  }

  const rawAction = json.action ?? (json.name !== undefined ? 'event' : undefined);
  if (typeof rawAction !== 'string' || !known.has(rawAction)) {
    const ids = identifierValues(json.identifiers);
    return lazyTime({
      action: 'unknown' as const,
      person: ids[0],
      identifiers: ids,
      id,
      json,
      problem:
        rawAction === undefined ? 'no action and no event name' : `unknown action "${String(rawAction)}"`,
    });
  }
  const action = rawAction as Action;
  if (action === 'merge') {
    const primary = identifierValues(json.primary);
    return lazyTime({
      action,
      person: primary[0],
      identifiers: [...primary, ...identifierValues(json.secondary)],
      id,
      json,
    });
  }
  // Objects show as their Kafka key (`object:<type>:<id>`), anonymous visitors as `anonymous:<id>`.
  const ids = json.type === 'object' ? objectKeys(json.identifiers) : identifierValues(json.identifiers);
  if (ids.length === 0 && typeof json.anonymous_id === 'string')
    ids.push(`anonymous:${json.anonymous_id}`, json.anonymous_id);
  return lazyTime({
    action,
    eventName: action === 'event' && typeof json.name === 'string' ? json.name : undefined,
    person: ids[0],
    identifiers: ids,
    id,
    json,
  });
}
