import type { TrackClient } from 'customerio-node';
import { classifyError } from '../errors';

/** A customerio-node client's request layer (the Track, App and Pipelines clients share it). */
export type RequestLayer = TrackClient['request'];

/** Told how a request ended: its status label (`200`, `207`, `404`, `timeout`, ...) and how long it took. */
export type ObserveRequest = (status: string, seconds: number) => void;

const BATCH_OPEN = Buffer.from('{"batch":[');
const COMMA = Buffer.from(',');
const BATCH_CLOSE = Buffer.from(']}');

/** A `{"batch":[...]}` body from the items' JSON bytes, concatenated as they are. */
export function batchBody(bodies: Buffer[]): Buffer {
  const parts: Buffer[] = [BATCH_OPEN];
  bodies.forEach((body, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(body);
  });
  parts.push(BATCH_CLOSE);
  return Buffer.concat(parts);
}

/**
 * POSTs a JSON body assembled by the worker through a customerio-node client's own
 * request layer (its authentication, User-Agent, timeout, error type and fetch). The
 * clients' batch methods take objects and serialise the whole array again on every
 * attempt; here operations are serialised once, when taken from Kafka (which is also
 * how their size is known exactly against the limits), kept as bytes outside the
 * JavaScript heap, and a batch body is only their concatenation. Rejects with a
 * classified DeliveryError; a 200 whose answer lists errors is observed as a 207.
 */
export async function postJson(
  request: RequestLayer,
  uri: string,
  body: Buffer,
  observe: ObserveRequest,
): Promise<Record<string, unknown>> {
  const options = request.options(uri, 'POST');
  // The request layer hands `body` to fetch as it is; fetch sends a Buffer as bytes.
  options.body = body as unknown as string;
  options.headers['Content-Length'] = body.length;
  const started = performance.now();
  try {
    const json = (await request.handler(options)) as Record<string, unknown>;
    observe(Array.isArray(json?.errors) ? '207' : '200', (performance.now() - started) / 1000);
    return json;
  } catch (error) {
    const classified = classifyError(error);
    observe(
      classified.status !== undefined ? String(classified.status) : classified.errorClass,
      (performance.now() - started) / 1000,
    );
    throw classified;
  }
}
