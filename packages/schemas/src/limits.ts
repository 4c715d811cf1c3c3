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

/** Length of the ULID the producer (or, without one, the worker) gives an operation. */
const OPERATION_ID_CHARS = 26;

/**
 * The UTF-8 size of a Track operation as the worker sends it to Customer.io (a v2
 * person operation): `"type":"person"` added, `"action":"event"` added when absent, an
 * `id` added when absent, `data` renamed `attributes`, an identify without attributes
 * sent with `"attributes":{}`, RFC 3339 timestamps sent as Unix seconds. Exact for
 * events and identifies, never less than the real size: the edge checks
 * LIMITS.operationBytes on it, so nothing accepted there fails the worker's own check
 * of the bytes it sends. Keep in step with the worker's toV2Operation.
 *
 * @param op the operation as received
 * @param jsonBytes the UTF-8 size of its JSON text as received
 */
export function sentOperationBytes(
  op: {
    readonly action?: unknown;
    readonly id?: unknown;
    readonly data?: unknown;
    readonly attributes?: unknown;
    readonly timestamp?: unknown;
  },
  jsonBytes: number,
): number {
  let bytes = jsonBytes + '"type":"person",'.length;
  if (op.action === undefined) bytes += '"action":"event",'.length;
  if (op.id === undefined) bytes += ',"id":""'.length + OPERATION_ID_CHARS;
  if (op.data !== undefined) bytes += 'attributes'.length - 'data'.length;
  if (op.action === 'identify' && op.attributes === undefined) bytes += ',"attributes":{}'.length;
  if (typeof op.timestamp === 'string') {
    // Sent as Unix seconds: usually shorter than the RFC 3339 text.
    const seconds = Math.floor(Date.parse(op.timestamp) / 1000);
    const shorter = Buffer.byteLength(JSON.stringify(op.timestamp)) - String(seconds).length;
    if (Number.isFinite(seconds) && shorter > 0) bytes -= shorter;
  }
  return bytes;
}
