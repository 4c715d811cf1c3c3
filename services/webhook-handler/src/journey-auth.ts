import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The credentials a journey's "send and receive data" webhook action can send (it cannot
 * sign): HTTP Basic credentials in the URL, or a secret header. Several of each, so
 * they can be rotated.
 */
export interface JourneyCredentials {
  /** WEBHOOK_BASIC_AUTH: user and password pairs */
  basic: readonly { user: string; password: string }[];
  /** WEBHOOK_HEADER_SECRETS: header name (lower case) and value pairs */
  headers: readonly { name: string; value: string }[];
}

export const noJourneyCredentials: JourneyCredentials = { basic: [], headers: [] };

/** Shortest accepted password or header secret. */
export const MIN_SECRET_LENGTH = 16;

/** `valid`: a configured credential matched; `invalid`: one was sent and none matched; `absent`: none was sent. */
export type JourneyCheck = 'valid' | 'invalid' | 'absent';

export const hasJourneyCredentials = (credentials: JourneyCredentials): boolean =>
  credentials.basic.length > 0 || credentials.headers.length > 0;

// Digests have one length whatever was sent, so timingSafeEqual applies and the time
// taken tells nothing about the secret, not even its length.
const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

function sameSecret(provided: string, expected: string): boolean {
  return timingSafeEqual(digest(provided), digest(expected));
}

/** The user and password of an `Authorization: Basic` header, or undefined when there is none. */
function basicOf(
  authorization: string | undefined,
): { user: string; password: string } | 'malformed' | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]*)\s*$/i.exec(authorization);
  if (!match) return 'malformed';
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Checks the request's journey credential against every configured one, each compared
 * in constant time (every pair is tried, so the answer takes as long whichever matched).
 */
export function checkJourneyCredential(
  credentials: JourneyCredentials,
  headers: IncomingHttpHeaders,
): JourneyCheck {
  let sent = false;
  let matched = false;
  if (credentials.basic.length > 0) {
    const basic = basicOf(headers.authorization);
    if (basic !== undefined) sent = true;
    if (basic !== undefined && basic !== 'malformed') {
      for (const pair of credentials.basic) {
        const user = sameSecret(basic.user, pair.user);
        const password = sameSecret(basic.password, pair.password);
        if (user && password) matched = true;
      }
    }
  }
  for (const { name, value } of credentials.headers) {
    const provided = headers[name];
    if (provided === undefined) continue;
    sent = true;
    if (typeof provided === 'string' && sameSecret(provided, value)) matched = true;
  }
  if (matched) return 'valid';
  return sent ? 'invalid' : 'absent';
}

/** Parses WEBHOOK_BASIC_AUTH (`user:password,user2:password2`); throws naming the rule broken. */
export function parseBasicAuth(value: string): JourneyCredentials['basic'] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((pair) => {
      const colon = pair.indexOf(':');
      if (colon <= 0) throw new Error('must be user:password pairs, comma-separated');
      const password = pair.slice(colon + 1);
      if (password.length < MIN_SECRET_LENGTH)
        throw new Error(`must hold passwords of at least ${MIN_SECRET_LENGTH} characters each`);
      return { user: pair.slice(0, colon), password };
    });
}

const headerName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Headers a secret must not live in: they are Customer.io's, HTTP's or a proxy's own. */
const reserved = new Set([
  'authorization',
  'content-type',
  'content-length',
  'host',
  'x-cio-signature',
  'x-cio-timestamp',
  'x-forwarded-for',
]);

/** Parses WEBHOOK_HEADER_SECRETS (`Header-Name: value,Other-Name: value`); throws naming the rule broken. */
export function parseHeaderSecrets(value: string): JourneyCredentials['headers'] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((pair) => {
      const colon = pair.indexOf(':');
      const name = pair.slice(0, Math.max(0, colon)).trim().toLowerCase();
      if (colon <= 0 || !headerName.test(name))
        throw new Error('must be "Header-Name: value" pairs, comma-separated');
      if (reserved.has(name)) throw new Error(`cannot use the ${name} header`);
      const secret = pair.slice(colon + 1).trim();
      if (secret.length < MIN_SECRET_LENGTH)
        throw new Error(`must hold values of at least ${MIN_SECRET_LENGTH} characters each`);
      return { name, value: secret };
    });
}
