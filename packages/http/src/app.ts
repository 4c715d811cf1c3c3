import type { Logger } from '@cio-bridge/logger';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import { HttpError } from './errors';

/** Named checks; each resolves when its dependency works and throws (with a reason) when not. */
export type ReadinessChecks = Record<string, () => Promise<void> | void>;

export interface HttpAppOptions {
  logger: Logger;
  registry: Registry;
  readiness?: ReadinessChecks;
}

/**
 * An express 5 app with `/healthz` (the process runs), `/readyz` (every dependency
 * answers), `/metrics` and request logging. Add routes, then call `finishHttpApp`.
 */
export function createHttpApp({ logger, registry, readiness = {} }: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.locals.logger = logger;
  app.use(requestMetrics(logger, registry));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(readiness).map(async ([name, check]) => {
        try {
          await check();
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, (error as Error).message || 'not ready'] as const;
        }
      }),
    );
    const ready = results.every(([, result]) => result === 'ok');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return app;
}

function requestMetrics(logger: Logger, registry: Registry): RequestHandler {
  const requests = new Counter({
    name: 'cio_bridge_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'cio_bridge_http_request_duration_seconds',
    help: 'HTTP request processing time by route',
    labelNames: ['route', 'method'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      requests.inc({ route, method: req.method, status: res.statusCode });
      duration.observe({ route, method: req.method }, seconds);
      const level = res.statusCode >= 500 ? 'warn' : res.statusCode >= 400 ? 'info' : 'debug';
      logger[level](
        { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000) },
        'request',
      );
    });
    next();
  };
}

/** Adds the JSON 404 and error answers; call after the routes. */
export function finishHttpApp(app: Express): Express {
  app.use((req, _res, next) => next(new HttpError(404, `no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(app.locals.logger as Logger));
  return app;
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    const http = toHttpError(error);
    if (http.status >= 500) logger.error({ err: error }, 'request failed');
    res
      .status(http.status)
      .set(http.headers)
      .json({ error: http.message, ...(http.details ? { details: http.details } : {}) });
  };
}

/** body-parser's errors carry `type` and `status`; everything else unknown is a 500. */
function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const e = error as { type?: string; status?: number; limit?: number; message?: string };
  if (e.type === 'entity.too.large')
    return new HttpError(413, `request body exceeds the limit of ${e.limit} bytes`);
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
    return new HttpError(415, e.message ?? 'unsupported encoding');
  if (e.status && e.status >= 400 && e.status < 500)
    return new HttpError(e.status, e.message ?? 'bad request');
  return new HttpError(500, 'internal error');
}
