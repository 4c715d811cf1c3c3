import { utf8Bytes } from './ajv';
import { EncodeError } from './encode/options';
import { toPipelinesCalls } from './encode/pipelines';
import { toTrackApiItem } from './encode/track-api';
import type { TrackOperation } from './types';

/** Stands in for the ULID the producer (or, without one, the worker) gives an operation: 26 characters, as every id. */
const PLACEHOLDER_ID = '0'.repeat(26);

/**
 * Stands in for the time of the Kafka message, which the worker sends when the operation
 * has none: the largest Unix seconds of 10 digits (until the year 2286), whose ISO 8601
 * form (Pipelines) is 24 characters like that of every other 10-digit time.
 */
const LARGEST_FALLBACK_TIMESTAMP = 9_999_999_999;

/**
 * The UTF-8 size of the largest request item the worker could send for a valid Track
 * operation, whichever output it uses: the Track API item (v2 operation or v1 anonymous
 * event) or each Pipelines call. Computed with the worker's own encoders, so it is exact
 * for an operation with an id and a timestamp, and never less than the real size without
 * them (a 26-character id and the longest fallback timestamp stand in). The edge checks
 * LIMITS.operationBytes on it, so nothing accepted there fails the worker's check of the
 * bytes it sends. Dates are not converted (WORKER_CONVERT_DATES): converting never makes
 * an item longer (see convertDateAttributes). A form the operation has none of (a cio_id
 * for Pipelines) is skipped: the worker refuses it there for that reason, not its size.
 */
export function sentOperationBytes(op: TrackOperation): number {
  const id = op.id ?? PLACEHOLDER_ID;
  const options = { fallbackTimestamp: LARGEST_FALLBACK_TIMESTAMP };
  let largest = utf8Bytes(JSON.stringify(toTrackApiItem(op, id, options)));
  let calls: Record<string, unknown>[] = [];
  try {
    calls = toPipelinesCalls(op, id, options);
  } catch (error) {
    if (!(error instanceof EncodeError)) throw error;
  }
  for (const call of calls) largest = Math.max(largest, utf8Bytes(JSON.stringify(call)));
  return largest;
}
