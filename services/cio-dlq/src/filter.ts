import { type EntrySummary, ERROR_CLASSES } from './dlq-entry';
import { UsageError } from './errors';
import { ACTIONS } from './operation';
import { parseTime } from './time';

/** The filter options shared by stats, list, replay and purge, as typed on the command line. */
export interface FilterOptions {
  action?: string;
  entity?: string;
  event?: string;
  errorClass?: string;
  status?: string;
  customer?: string;
  since?: string;
  until?: string;
  limit?: string;
}

/** What an operation is about: a person, an object (`type: object`), or an anonymous visitor. */
export const ENTITIES = ['person', 'object', 'anonymous'] as const;
export type Entity = (typeof ENTITIES)[number];

export interface Filter {
  actions?: string[];
  entities?: string[];
  events?: string[];
  errorClasses?: string[];
  /** exact statuses (`429`) or classes (`4xx`); `none` for failures without an HTTP status */
  statuses?: string[];
  customer?: string;
  /** dead-lettered at or after, ms */
  since?: number;
  /** dead-lettered before, ms */
  until?: number;
  limit?: number;
}

const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

function oneOf(option: string, value: string, allowed: readonly string[]): string[] {
  const items = list(value);
  if (items.length === 0) throw new UsageError(`${option} needs a value`);
  for (const item of items) {
    if (!allowed.includes(item)) {
      throw new UsageError(`${option} must be one of ${allowed.join(', ')}; got "${item}"`);
    }
  }
  return items;
}

export function positiveInteger(option: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${option} must be a whole number from 1 to ${max}; got "${value}"`);
  }
  return Number(value);
}

/** Validates the filter options; a bad one is a UsageError naming the option. */
export function parseFilter(options: FilterOptions, now: number): Filter {
  const filter: Filter = {};
  if (options.action !== undefined) filter.actions = oneOf('--action', options.action, ACTIONS);
  if (options.entity !== undefined) filter.entities = oneOf('--entity', options.entity, ENTITIES);
  if (options.event !== undefined) {
    filter.events = list(options.event);
    if (filter.events.length === 0) throw new UsageError('--event needs an event name');
  }
  if (options.errorClass !== undefined)
    filter.errorClasses = oneOf('--error-class', options.errorClass, ERROR_CLASSES);
  if (options.status !== undefined) {
    filter.statuses = list(options.status).map((s) => s.toLowerCase());
    if (filter.statuses.length === 0) throw new UsageError('--status needs a value');
    for (const status of filter.statuses) {
      if (!/^([1-5]\d\d|[1-5]xx|none)$/.test(status)) {
        throw new UsageError(`--status must be an HTTP status (429), a class (5xx) or none; got "${status}"`);
      }
    }
  }
  if (options.customer !== undefined) {
    if (options.customer.trim() === '') throw new UsageError('--customer needs an identifier or email');
    filter.customer = options.customer.trim();
  }
  if (options.since !== undefined) filter.since = parseTime('--since', options.since, now);
  if (options.until !== undefined) filter.until = parseTime('--until', options.until, now);
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
    throw new UsageError('--since must be before --until');
  }
  if (options.limit !== undefined) filter.limit = positiveInteger('--limit', options.limit);
  return filter;
}

function statusMatches(patterns: string[], status: number | undefined): boolean {
  return patterns.some((pattern) => {
    if (pattern === 'none') return status === undefined;
    if (status === undefined) return false;
    if (pattern.endsWith('xx')) return Math.floor(status / 100) === Number(pattern[0]);
    return status === Number(pattern);
  });
}

/** The entity of a dead-lettered operation: objects and anonymous visitors are named `object:…`, `anonymous:…`. */
export function entityOf(entry: Pick<EntrySummary, 'key' | 'operation'>): Entity {
  const who = entry.operation.person ?? entry.key ?? '';
  if (who.startsWith('object:')) return 'object';
  if (who.startsWith('anonymous:')) return 'anonymous';
  return 'person';
}

/** Whether an entry passes the filter (`limit` is applied by the caller). */
export function matches(filter: Filter, entry: EntrySummary): boolean {
  const { operation, failure } = entry;
  if (filter.actions && !filter.actions.includes(operation.action)) return false;
  if (filter.entities && !filter.entities.includes(entityOf(entry))) return false;
  if (filter.events && (operation.eventName === undefined || !filter.events.includes(operation.eventName)))
    return false;
  if (filter.errorClasses && !filter.errorClasses.includes(failure.errorClass)) return false;
  if (filter.statuses && !statusMatches(filter.statuses, failure.httpStatus)) return false;
  if (filter.since !== undefined && entry.time < filter.since) return false;
  if (filter.until !== undefined && entry.time >= filter.until) return false;
  if (filter.customer !== undefined) {
    const wanted = filter.customer.toLowerCase();
    const candidates = entry.key === null ? operation.identifiers : [entry.key, ...operation.identifiers];
    if (!candidates.some((c) => c.toLowerCase() === wanted)) return false;
  }
  return true;
}

/** The filter as recorded in audit records: only what was given, times as ISO strings. */
export function describeFilter(filter: Filter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (filter.actions) out.action = filter.actions;
  if (filter.entities) out.entity = filter.entities;
  if (filter.events) out.event = filter.events;
  if (filter.errorClasses) out.errorClass = filter.errorClasses;
  if (filter.statuses) out.status = filter.statuses;
  if (filter.customer !== undefined) out.customer = filter.customer;
  if (filter.since !== undefined) out.since = new Date(filter.since).toISOString();
  if (filter.until !== undefined) out.until = new Date(filter.until).toISOString();
  if (filter.limit !== undefined) out.limit = filter.limit;
  return out;
}
