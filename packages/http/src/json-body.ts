import express, { type RequestHandler } from 'express';
import { HttpError } from './errors';

declare global {
  namespace Express {
    interface Request {
      /** the body exactly as received, for signatures */
      rawBody?: Buffer;
    }
  }
}

/**
 * Accepts only `application/json` (415 otherwise), up to `limit` (413 above it),
 * keeps the raw bytes in `req.rawBody` and parses them (400 for malformed JSON).
 */
export function jsonBody(limit: string | number = '1mb'): RequestHandler[] {
  return [
    (req, _res, next) => {
      next(
        req.is('application/json') ? undefined : new HttpError(415, 'Content-Type must be application/json'),
      );
    },
    express.raw({ type: () => true, limit }),
    (req, _res, next) => {
      const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      req.rawBody = raw;
      try {
        req.body = JSON.parse(raw.toString('utf8'));
        next();
      } catch (error) {
        next(new HttpError(400, `malformed JSON: ${(error as Error).message}`));
      }
    },
  ];
}
