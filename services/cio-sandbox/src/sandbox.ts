/**
 * `createSandbox(options)`: the express app that plays Customer.io (Track API
 * under `/api`, App API and Pipelines API under `/v1`), with its admin API under `/_sandbox`
 * and `/healthz`, `/readyz`, `/metrics`.
 *
 * Every Track and App API request passes, in order: counting and the request
 * log, added latency and injected failures, the requests-per-second limit
 * (429 with Retry-After), authentication (401), then the route.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createHttpApp, createRegistry, finishHttpApp } from '@cio-bridge/http';
import { createLogger, type Logger } from '@cio-bridge/logger';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { adminRouter, type WebhookDefaults } from './admin';
import { appRouter } from './app-api';
import { type ActiveFaults, type Credentials, noFaults, SlidingWindowLimiter, shouldFail } from './control';
import { PIPELINES_CALLS, pipelinesRouter } from './pipelines-api';
import { SandboxState } from './state';
import { trackRouter } from './track-api';

export const DEFAULT_CREDENTIALS: Credentials = {
  siteId: 'sandbox-site-id',
  apiKey: 'sandbox-api-key',
  appApiKey: 'sandbox-app-api-key',
  pipelinesApiKey: 'sandbox-pipelines-api-key',
};

export interface SandboxOptions {
  siteId?: string;
  apiKey?: string;
  appApiKey?: string;
  pipelinesApiKey?: string;
  /** requests per second over Track and App API requests; null or absent: no limit */
  rateLimitRps?: number | null;
  logger?: Logger;
  registry?: Parameters<typeof createHttpApp>[0]['registry'];
  /** how many operations, events and sends each stay listed (default 100,000; older ones are dropped) */
  maxRecords?: number;
  /** retry timing of the admin webhook sender (tests shorten it) */
  webhooks?: WebhookDefaults;
}

export interface SandboxControl {
  readonly credentials: Credentials;
  readonly faults: ActiveFaults;
  readonly rps: number | null;
  setCredentials(credentials: Credentials): void;
  setFaults(faults: ActiveFaults): void;
  clearFaults(): void;
  setRateLimit(rps: number | null): void;
  /** back to the start: empty state, no faults, zero counters, the initial credentials and rate limit */
  reset(): void;
}

export interface SandboxApp {
  app: Express;
  state: SandboxState;
  control: SandboxControl;
}

const STATIC_ROUTES = new Set([
  '/api/v1/events',
  '/api/v1/merge_customers',
  '/api/v1/accounts/region',
  '/api/v2/entity',
  '/api/v2/batch',
  '/v1/send/email',
  ...[...PIPELINES_CALLS, 'batch'].map((call) => `/v1/${call}`),
]);
const CUSTOMER_SUBROUTES = new Set(['events', 'suppress', 'unsuppress', 'devices']);

/** The route pattern of a Track or App API path, for counters ("unmatched" when none). */
export function routePattern(path: string): string {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (STATIC_ROUTES.has(trimmed)) return trimmed;
  if (trimmed.startsWith('/api/v1/customers/')) {
    const parts = trimmed.split('/'); // ['', 'api', 'v1', 'customers', id, ...]
    if (parts.length === 5) return '/api/v1/customers/:identifier';
    if (parts.length === 6 && CUSTOMER_SUBROUTES.has(parts[5]!))
      return `/api/v1/customers/:identifier/${parts[5]}`;
    if (parts.length === 7 && parts[5] === 'devices')
      return '/api/v1/customers/:identifier/devices/:device_id';
  }
  return 'unmatched';
}

function basicAuthorized(header: string | undefined, expected: string, credentials: Credentials): boolean {
  if (header === undefined) return false;
  if (header === expected) return true;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'basic') return false;
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
  return decoded === `${credentials.siteId}:${credentials.apiKey}`;
}

function bearerAuthorized(header: string | undefined, credentials: Credentials): boolean {
  if (header === undefined) return false;
  const space = header.indexOf(' ');
  return (
    space > 0 &&
    header.slice(0, space).toLowerCase() === 'bearer' &&
    header.slice(space + 1).trim() === credentials.appApiKey
  );
}

export function createSandbox(options: SandboxOptions = {}): SandboxApp {
  const logger = options.logger ?? createLogger({ name: 'cio-sandbox', level: 'silent' });
  const initialCredentials: Credentials = {
    siteId: options.siteId ?? DEFAULT_CREDENTIALS.siteId,
    apiKey: options.apiKey ?? DEFAULT_CREDENTIALS.apiKey,
    appApiKey: options.appApiKey ?? DEFAULT_CREDENTIALS.appApiKey,
    pipelinesApiKey: options.pipelinesApiKey ?? DEFAULT_CREDENTIALS.pipelinesApiKey,
  };
  const initialRps = options.rateLimitRps ?? null;

  const state = new SandboxState(options.maxRecords);
  let credentials = initialCredentials;
  let expectedBasic = '';
  let faults = noFaults();
  let rps: number | null = null;
  let limiter: SlidingWindowLimiter | null = null;

  const setCredentials = (next: Credentials) => {
    credentials = next;
    expectedBasic = `Basic ${Buffer.from(`${next.siteId}:${next.apiKey}`, 'utf8').toString('base64')}`;
  };
  const setRateLimit = (next: number | null) => {
    rps = next;
    limiter = next === null ? null : new SlidingWindowLimiter(next);
  };
  setCredentials(initialCredentials);
  setRateLimit(initialRps);

  const control: SandboxControl = {
    get credentials() {
      return credentials;
    },
    get faults() {
      return faults;
    },
    get rps() {
      return rps;
    },
    setCredentials,
    setFaults: (next) => {
      faults = next;
    },
    clearFaults: () => {
      faults = noFaults();
    },
    setRateLimit,
    reset: () => {
      state.reset();
      faults = noFaults();
      setCredentials(initialCredentials);
      setRateLimit(initialRps);
    },
  };

  // Request logs only at debug: the request path carries identifiers and the sandbox serves load tests.
  const httpLogger = logger.isLevelEnabled('debug')
    ? logger
    : logger.isLevelEnabled('error')
      ? logger.child({}, { level: 'error' })
      : logger;
  const app = createHttpApp({
    logger: httpLogger,
    registry: options.registry ?? createRegistry(),
  });
  app.set('etag', false);

  const pathOf = (req: Request) => {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  };

  const observe: RequestHandler = (req, res, next) => {
    state.counters.requests++;
    res.once('finish', () => {
      const path = pathOf(req);
      state.logRequest(req.method, path, res.statusCode, routePattern(path));
    });
    next();
  };

  const injectFaults = async (req: Request, res: Response, next: NextFunction) => {
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    const active = faults;
    if (!active.failing || !shouldFail(active, Date.now())) return next();
    state.counters.faults_injected++;
    if (active.resetConnections) {
      const path = pathOf(req);
      state.logRequest(req.method, path, 0, routePattern(path));
      req.socket.destroy();
      return;
    }
    if (active.retryAfterSeconds !== null) res.set('Retry-After', String(active.retryAfterSeconds));
    res.status(active.status).json({ meta: { error: `sandbox fault injection: status ${active.status}` } });
  };

  // Counted on arrival, as Customer.io's edge does; the answer still takes the added latency.
  const rateLimit = async (_req: Request, res: Response, next: NextFunction) => {
    if (limiter === null) return next();
    const waitMs = limiter.take(Date.now());
    if (waitMs === 0) return next();
    state.counters.rate_limited++;
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    res
      .status(429)
      .set('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))))
      .json({ meta: { error: `rate limit of ${rps} requests per second exceeded` } });
  };

  const unauthorized = (res: Response) => {
    state.counters.unauthorized++;
    res.status(401).json({ meta: { error: 'Unauthorized request' } });
  };
  const trackAuth: RequestHandler = (req, res, next) => {
    if (basicAuthorized(req.headers.authorization, expectedBasic, credentials)) return next();
    unauthorized(res);
  };
  const appAuth: RequestHandler = (req, res, next) => {
    if (bearerAuthorized(req.headers.authorization, credentials)) return next();
    unauthorized(res);
  };

  app.use(['/api', '/v1'], observe, rateLimit, injectFaults);
  app.use('/api', trackAuth, trackRouter(state, 'https://track.customer.io'));
  // The Pipelines API shares /v1 with the App API and checks its own key.
  app.use(
    '/v1',
    pipelinesRouter(state, () => credentials.pipelinesApiKey),
  );
  app.use('/v1', appAuth, appRouter(state));
  app.use('/_sandbox', adminRouter(state, control, options.webhooks ?? {}));
  return { app: finishHttpApp(app), state, control };
}
