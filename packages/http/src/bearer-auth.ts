import { hash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors';

const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

/**
 * `Authorization: Bearer <token>` checked against every configured token in
 * constant time: the tokens are compared as SHA-256 digests (equal length), and
 * all of them are compared whatever the outcome, so timing tells nothing about
 * how much of a token matched or which one did. A 401 carries
 * `WWW-Authenticate: Bearer`; put it before anything that costs work.
 */
export function bearerAuth(tokens: readonly string[]): RequestHandler {
  if (tokens.length === 0) throw new Error('bearerAuth needs at least one token');
  const expected = tokens.map(digest);
  const challenge = { 'WWW-Authenticate': 'Bearer realm="cio-bridge"' };
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
    if (!match) {
      next(new HttpError(401, 'missing bearer token (Authorization: Bearer <token>)', undefined, challenge));
      return;
    }
    const given = digest(match[1] ?? '');
    let ok = false;
    for (const token of expected) ok = timingSafeEqual(given, token) || ok;
    next(ok ? undefined : new HttpError(401, 'invalid bearer token', undefined, challenge));
  };
}
