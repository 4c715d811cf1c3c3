import { parseJsonText } from '@cio-bridge/schemas';
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

/** 415 unless the request says `application/json`. */
export const requireJson: RequestHandler = (req, _res, next) => {
  next(req.is('application/json') ? undefined : new HttpError(415, 'Content-Type must be application/json'));
};

/** Reads the body as bytes, up to `limit` (413 above it). */
export const readRawBody = (limit: string | number): RequestHandler =>
  express.raw({ type: () => true, limit });

/**
 * Keeps the bytes read by `readRawBody` in `req.rawBody` and parses them: 400 for
 * invalid UTF-8, malformed JSON or too deep nesting, with a message that names a
 * position and a reason but quotes nothing of the body.
 */
export const parseJsonBody: RequestHandler = (req, _res, next) => {
  const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  req.rawBody = raw;
  const parsed = parseJsonText(raw);
  if (parsed.ok) {
    req.body = parsed.value;
    next();
  } else {
    next(new HttpError(400, parsed.kind === 'syntax' ? parsed.message : `request body is ${parsed.message}`));
  }
};

/**
 * Accepts only `application/json` (415 otherwise), up to `limit` (413 above it),
 * keeps the raw bytes in `req.rawBody` and parses them (400 for malformed JSON,
 * invalid UTF-8 or too deep nesting).
 */
export function jsonBody(limit: string | number = '1mb'): RequestHandler[] {
  return [requireJson, readRawBody(limit), parseJsonBody];
}
