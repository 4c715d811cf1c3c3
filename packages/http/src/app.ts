import type { Logger } from '@cio-bridge/logger';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import { HttpError } from './errors';
import { createHttpMetrics } from './metrics';
import type { HttpNetworkOptions } from './network';

/**
 * Readiness checks by name: each throws when its dependency fails, or answers
 * `'degraded'` when it works in a fallback mode that keeps the service ready.
 */
export type ReadinessChecks = Record<string, () => Promise<ReadinessState> | ReadinessState>;
// biome-ignore lint/suspicious/noConfusingVoidType: checks are plain `async () => {}` functions, which return void.
type ReadinessState = void | 'degraded';

export interface HttpAppOptions extends HttpNetworkOptions {
  logger: Logger;
  registry: Registry;
  readiness?: ReadinessChecks;
}

/** app.locals of an app made by createHttpApp. */
interface HttpLocals {
  logger: Logger;
  /** the app serving the management endpoints: the app itself, or one of its own */
  management: Express;
  managementPort?: number;
}

const localsOf = (app: Express): HttpLocals => app.locals as HttpLocals;

/**
 * An express 5 app with `/healthz` (the process runs), `/readyz` (every dependency
 * answers), `/metrics` and request logging. Add routes, then call `finishHttpApp`.
 * With a `managementPort`, the management endpoints live on an app of their own,
 * which `listen` serves on that port; add more with `managementRoutes(app)`.
 */
export function createHttpApp({
  logger,
  registry,
  readiness = {},
  managementPort,
  trustProxy = false,
}: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', Array.isArray(trustProxy) ? [...trustProxy] : trustProxy);
  const separate = managementPort !== undefined;
  const management = separate ? express() : app;
  management.disable('x-powered-by');
  Object.assign(app.locals, {
    logger,
    management,
    ...(separate ? { managementPort } : {}),
  } satisfies HttpLocals);
  const metrics = requestMetrics(logger, registry);
  app.use(metrics);
  if (separate) {
    management.locals.logger = logger;
    management.use(metrics);
  }

  management.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const failing = new Set<string>();
  management.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(readiness).map(async ([name, check]) => {
        try {
          const state = await check();
          if (failing.delete(name)) logger.info({ check: name }, 'readiness check passes again');
          return [name, state === 'degraded' ? 'degraded' : 'ok'] as const;
        } catch (error) {
          // The reason (addresses, hosts, database errors) goes to the log, once per failure.
          if (!failing.has(name)) {
            failing.add(name);
            logger.warn(
              { check: name, reason: (error as Error)?.message ?? String(error) },
              'readiness check fails',
            );
          }
          return [name, 'failing'] as const;
        }
      }),
    );
    const ready = results.every(([, result]) => result !== 'failing');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
  });

  management.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return app;
}

/** Where to add management endpoints (such as /status): the management app, which may be the app itself. */
export function managementRoutes(app: Express): Express {
  return localsOf(app).management ?? app;
}

/** The management app when it listens on a port of its own, and that port. */
export function separateManagement(app: Express): { app: Express; port: number } | undefined {
  const { management, managementPort } = localsOf(app);
  return management && management !== app && managementPort !== undefined
    ? { app: management, port: managementPort }
    : undefined;
}

function requestMetrics(logger: Logger, registry: Registry): RequestHandler {
  const { requests, duration } = createHttpMetrics(registry);
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      requests.inc({ route, method: req.method, status: res.statusCode });
      duration.observe({ route, method: req.method }, seconds);
      const level = res.statusCode >= 500 ? 'warn' : res.statusCode >= 400 ? 'info' : 'debug';
      // The route pattern, never the path: paths carry user ids and emails.
      logger[level](
        { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) },
        'request',
      );
    });
    next();
  };
}

/** Adds the JSON 404 and error answers (to the management app too); call after the routes. */
export function finishHttpApp(app: Express): Express {
  const management = separateManagement(app)?.app;
  for (const each of management ? [app, management] : [app]) {
    each.use((req, _res, next) => next(new HttpError(404, `no route for ${req.method} ${req.path}`)));
    each.use(errorHandler(localsOf(app).logger));
  }
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
  const e = error as {
    type?: string;
    status?: number;
    limit?: number;
    message?: string;
    errno?: unknown;
    code?: unknown;
  };
  if (e.type === 'entity.too.large')
    return new HttpError(413, `request body exceeds the limit of ${e.limit} bytes`);
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
    return new HttpError(415, e.message ?? 'unsupported encoding');
  // zlib's errors (a body that is not what its Content-Encoding says): name the header.
  if (typeof e.errno === 'number' && typeof e.code === 'string')
    return new HttpError(400, 'request body does not match its Content-Encoding');
  // express could not decode a path parameter; its message would quote the path.
  if (error instanceof URIError) return new HttpError(400, 'malformed path: invalid percent-encoding');
  if (e.type === 'request.size.invalid')
    return new HttpError(400, 'request body size does not match Content-Length');
  if (e.status && e.status >= 400 && e.status < 500)
    return new HttpError(e.status, e.message ?? 'bad request');
  return new HttpError(500, 'internal error');
}
