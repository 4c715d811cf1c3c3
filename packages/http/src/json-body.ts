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

/** Keeps the bytes read by `readRawBody` in `req.rawBody` and parses them (400 for malformed JSON). */
export const parseJsonBody: RequestHandler = (req, _res, next) => {
  const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  req.rawBody = raw;
  try {
    req.body = JSON.parse(raw.toString('utf8'));
    next();
  } catch (error) {
    next(new HttpError(400, `malformed JSON: ${(error as Error).message}`));
  }
};

/**
 * Accepts only `application/json` (415 otherwise), up to `limit` (413 above it),
 * keeps the raw bytes in `req.rawBody` and parses them (400 for malformed JSON).
 */
export function jsonBody(limit: string | number = '1mb'): RequestHandler[] {
  return [requireJson, readRawBody(limit), parseJsonBody];
}
