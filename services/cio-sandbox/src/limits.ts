/**
 * Customer.io's documented Track API limits (track-api.openapi.json, "Rate Limits"
 * and the v2 endpoint descriptions) and the checks that enforce them.
 */
export const LIMITS = {
  /** "ID | 150 bytes | Max length of a person's ID value" */
  identifierBytes: 150,
  /** "Attribute Name | 150 bytes" */
  attributeNameBytes: 150,
  /** "Attribute Value | 1000 bytes" */
  attributeValueBytes: 1000,
  /** "Unique attributes | 300 | Max number of attributes allowed per person or Identify call" */
  attributesPerCall: 300,
  /** "Event Name | 100 bytes" */
  eventNameBytes: 100,
  /** "Event Data | 100000 bytes" */
  eventDataBytes: 100_000,
  /** "/entity is limited to requests 32kb or smaller", and each operation of a batch */
  v2OperationBytes: 32 * 1024,
  /** "/batch is limited to requests 500kb or smaller" */
  v2BatchBytes: 500 * 1024,
} as const;

/** One problem with a request, in the shape of Customer.io's v2 `errors` items. */
export interface Problem {
  reason: string;
  field: string;
  message: string;
}

export const problem = (field: string, message: string, reason = 'invalid'): Problem => ({
  reason,
  field,
  message,
});

const byteLength = (value: string): number => Buffer.byteLength(value);

/** The UTF-8 size of a JSON value as Customer.io would measure it. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '');

/** The JSON size of `value` when it is above `limit` bytes, otherwise undefined (cheap for small values). */
export function jsonBytesOver(value: unknown, limit: number): number | undefined {
  const text = JSON.stringify(value) ?? '';
  // a UTF-16 code unit takes at most 3 UTF-8 bytes
  if (text.length * 3 <= limit) return undefined;
  const bytes = Buffer.byteLength(text);
  return bytes > limit ? bytes : undefined;
}

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An identifier value: a non-empty string (numbers are accepted as Customer.io does) of at most 150 bytes. */
export function checkIdentifierValue(field: string, value: unknown): Problem | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string' || value.length === 0)
    return problem(field, `${field} must be a non-empty string`);
  if (byteLength(value) > LIMITS.identifierBytes)
    return problem(field, `${field} exceeds the limit of ${LIMITS.identifierBytes} bytes`, 'too_long');
  return undefined;
}

/** Attributes of an identify call: at most 300, names up to 150 bytes, values up to 1000 bytes. */
export function checkAttributes(field: string, attributes: Record<string, unknown>): Problem | undefined {
  const keys = Object.keys(attributes);
  if (keys.length > LIMITS.attributesPerCall)
    return problem(
      field,
      `${field} has ${keys.length} attributes, more than the limit of ${LIMITS.attributesPerCall}`,
      'too_many',
    );
  for (const key of keys) {
    if (byteLength(key) > LIMITS.attributeNameBytes)
      return problem(
        `${field}.${key.slice(0, 40)}`,
        `attribute name exceeds the limit of ${LIMITS.attributeNameBytes} bytes`,
        'too_long',
      );
    const value = attributes[key];
    const size =
      typeof value === 'string'
        ? byteLength(value)
        : typeof value === 'object' && value !== null
          ? jsonBytes(value)
          : 0;
    if (size > LIMITS.attributeValueBytes)
      return problem(
        `${field}.${key}`,
        `value of attribute ${key} is ${size} bytes, more than the limit of ${LIMITS.attributeValueBytes} bytes`,
        'too_long',
      );
  }
  return undefined;
}

/** An event name (required, up to 100 bytes) and its data (an object of up to 100,000 bytes). */
export function checkEvent(
  nameField: string,
  name: unknown,
  dataField: string,
  data: unknown,
): Problem | undefined {
  if (typeof name !== 'string' || name.trim().length === 0)
    return problem(nameField, `${nameField} is required and must be a non-empty string`);
  if (byteLength(name) > LIMITS.eventNameBytes)
    return problem(nameField, `${nameField} exceeds the limit of ${LIMITS.eventNameBytes} bytes`, 'too_long');
  if (data !== undefined && data !== null) {
    if (!isPlainObject(data)) return problem(dataField, `${dataField} must be an object`);
    const size = jsonBytesOver(data, LIMITS.eventDataBytes);
    if (size !== undefined)
      return problem(
        dataField,
        `${dataField} is ${size} bytes, more than the limit of ${LIMITS.eventDataBytes} bytes`,
        'too_long',
      );
  }
  return undefined;
}

/** A unix timestamp in whole seconds, when present. */
export function checkTimestamp(field: string, value: unknown): Problem | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    return problem(field, `${field} must be a unix timestamp in whole seconds`);
  return undefined;
}

/** A dedupe id, when present: a non-empty string. */
export function checkDedupeId(field: string, value: unknown): Problem | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    return problem(field, `${field} must be a non-empty string`);
  return undefined;
}

export const PLATFORMS = ['ios', 'android'] as const;
