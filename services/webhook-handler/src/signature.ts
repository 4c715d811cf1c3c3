import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Customer.io signs `v0:<X-CIO-Timestamp>:<raw body>`; the version prefix is always `v0`. */
const VERSION = 'v0';

/** Hex HMAC-SHA256 of `v0:<timestamp>:<body>` with one signing key. */
export function computeSignature(signingKey: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', signingKey).update(`${VERSION}:${timestamp}:`).update(body).digest('hex');
}

/**
 * True when `signature` is the signature of `timestamp` and `body` under any of `keys`
 * (several during a key rotation). Every key is tried, each compared in constant time.
 */
export function signatureMatches(
  keys: readonly string[],
  timestamp: string,
  body: Buffer,
  signature: string,
): boolean {
  const provided = Buffer.from(signature, 'utf8');
  let matched = false;
  for (const key of keys) {
    const expected = Buffer.from(computeSignature(key, timestamp, body), 'utf8');
    // The length of a hex digest is no secret; timingSafeEqual needs equal lengths.
    if (expected.length === provided.length && timingSafeEqual(expected, provided)) matched = true;
  }
  return matched;
}

/** The id of a webhook: sha256 of its raw body, hex. Also the replay-protection key. */
export const webhookId = (body: Buffer): string => createHash('sha256').update(body).digest('hex');

export type Verification =
  | { ok: true; timestamp: number }
  | { ok: false; outcome: 'bad_signature' | 'stale'; reason: string };

export interface VerifyOptions {
  keys: readonly string[];
  toleranceSeconds: number;
  /** the X-CIO-Timestamp and X-CIO-Signature header values as received */
  timestampHeader: string | string[] | undefined;
  signatureHeader: string | string[] | undefined;
  body: Buffer;
  nowMs: number;
}

const unixSeconds = /^\d{1,12}$/;

/**
 * Checks a request as Customer.io signs it: both headers present, the signature valid
 * for one of the keys, and the signed timestamp within the tolerance of now (past or
 * future). The signature is checked first, so an unsigned request never reads as "stale".
 */
export function verifyWebhook(options: VerifyOptions): Verification {
  const { timestampHeader, signatureHeader } = options;
  if (typeof signatureHeader !== 'string' || signatureHeader === '')
    return { ok: false, outcome: 'bad_signature', reason: 'missing X-CIO-Signature header' };
  if (typeof timestampHeader !== 'string' || timestampHeader === '')
    return { ok: false, outcome: 'bad_signature', reason: 'missing X-CIO-Timestamp header' };
  if (!unixSeconds.test(timestampHeader))
    return { ok: false, outcome: 'bad_signature', reason: 'X-CIO-Timestamp must be a unix time in seconds' };
  if (!signatureMatches(options.keys, timestampHeader, options.body, signatureHeader))
    return { ok: false, outcome: 'bad_signature', reason: 'X-CIO-Signature does not match the request' };
  const timestamp = Number(timestampHeader);
  // Whole seconds, as Customer.io signs them: a request signed this second is 0 s old.
  const skew = Math.abs(Math.floor(options.nowMs / 1000) - timestamp);
  if (skew > options.toleranceSeconds)
    return {
      ok: false,
      outcome: 'stale',
      reason: `X-CIO-Timestamp is more than ${options.toleranceSeconds} s away from the current time`,
    };
  return { ok: true, timestamp };
}
