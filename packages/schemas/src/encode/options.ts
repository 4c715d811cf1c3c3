/** What every Customer.io output (Track v2, v1 anonymous events, Pipelines) shares when encoding an operation. */

/** An ISO 8601 date-time with a zone (Z or an offset): the only strings WORKER_CONVERT_DATES touches. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * Attribute values that are ISO 8601 date-times become Unix seconds (WORKER_CONVERT_DATES,
 * as Segment's Customer.io destination offers): Customer.io segments and liquid compare
 * dates as timestamps. Other values, and dates without a zone, stay as they are.
 *
 * Never makes the JSON text longer: a matching string is at least 19 bytes as JSON
 * (`"YYYY-MM-DDTHH:MMZ"`), and a 4-digit year gives at most 12 characters of seconds.
 */
export function convertDateAttributes(attributes: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) continue;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) continue;
    out ??= { ...attributes };
    out[key] = Math.floor(ms / 1000);
  }
  return out ?? attributes;
}

/** Unix seconds from an RFC 3339 string or a number of seconds. */
export function unixSeconds(value: string | number): number {
  return typeof value === 'number' ? value : Math.floor(Date.parse(value) / 1000);
}

/** How operations are encoded for Customer.io. */
export interface EncodeOptions {
  /** Unix seconds sent when the operation has no timestamp of its own (its Kafka message's time) */
  fallbackTimestamp?: number;
  /** WORKER_CONVERT_DATES: ISO 8601 attribute values go as Unix seconds */
  convertDates?: boolean;
}

/** The operation has no form in the output asked for (the worker dead-letters it as a validation error). */
export class EncodeError extends Error {
  override name = 'EncodeError';
}
