/**
 * Customer.io's documented Track API limits (track-api.openapi.json, "payload
 * size limits"). The schemas mark them with `x-cio-max-bytes`/`maxProperties`;
 * these constants are for code that wants the numbers.
 */
export const LIMITS = {
  /** Max bytes of a person's id (and, here, of any identifier value). */
  identifierBytes: 150,
  /** Max bytes of an attribute name. */
  attributeNameBytes: 150,
  /** Max bytes of one attribute value (strings: UTF-8 bytes; other values: their JSON text). */
  attributeValueBytes: 1000,
  /** Max attributes per identify call. */
  attributes: 300,
  /** Max bytes of an event name. */
  eventNameBytes: 100,
  /** Max bytes of an event's data (its JSON text). */
  eventDataBytes: 100_000,
  /** Max bytes of one v2 operation (its JSON text): "32kb". */
  operationBytes: 32 * 1024,
  /**
   * Deepest nesting of objects and arrays accepted in any JSON we parse (ours, not
   * Customer.io's): deeper values would overflow the stack of JSON.stringify.
   */
  jsonDepth: 64,
} as const;
