import {
  bearerAuth,
  createHttpApp,
  finishHttpApp,
  HttpError,
  type HttpNetworkOptions,
  type ReadinessChecks,
} from '@cio-bridge/http';
import type { Logger } from '@cio-bridge/logger';
import type { Express, RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { FeatureCache } from './cache';
import type { InsightsMetrics } from './metrics';
import { parseUserId } from './user-key';
import type { UsersStore } from './users-store';

/** The read API's bearer tokens, or `none` (INSIGHTS_API_AUTH=none) to serve without them. */
export type ReadApiAuth = { tokens: readonly string[] } | 'none';

export interface AppOptions {
  auth: ReadApiAuth;
  users: UsersStore;
  cache: FeatureCache;
  metrics: InsightsMetrics;
  logger: Logger;
  registry: Registry;
  readiness?: ReadinessChecks;
  /** management port and trusted proxies (MANAGEMENT_PORT, TRUST_PROXY) */
  network?: HttpNetworkOptions;
}

/**
 * The read API: `GET /v1/users/:id/ai-features` answers `{user_id, ai_features,
 * updated_at}` from the cache, else from Postgres (then caches it); plus /healthz,
 * /readyz and /metrics. A request without a valid token gets 401 before any cache or
 * database lookup, so probing ids costs nothing.
 */
export function createApp(options: AppOptions): Express {
  const { auth, users, cache, metrics, logger, registry, readiness } = options;
  const app = createHttpApp({ logger, registry, ...(readiness ? { readiness } : {}), ...options.network });
  const authenticate: RequestHandler =
    auth === 'none' ? (_req, _res, next) => next() : bearerAuth(auth.tokens);

  app.get('/v1/users/:id/ai-features', authenticate, async (req, res) => {
    const id = parseUserId(users.key, req.params.id);
    if (!id.ok)
      throw new HttpError(400, `malformed user id: id ${id.reason}`, [{ field: 'id', message: id.reason }]);
    let cached: string | undefined;
    try {
      cached = await cache.get(id.id);
    } catch (error) {
      // The cache is a shortcut, never the truth: without it, Postgres answers.
      metrics.cacheErrors.inc();
      logger.warn({ err: error }, 'cache lookup failed: reading Postgres');
    }
    if (cached !== undefined) {
      metrics.cacheHits.inc();
      res.type('application/json').set('X-Cache', 'hit').send(cached);
      return;
    }
    metrics.cacheMisses.inc();
    let record: Awaited<ReturnType<UsersStore['read']>>;
    try {
      record = await users.read(id.id);
    } catch (error) {
      logger.error({ err: error }, 'reading ai_features failed');
      throw new HttpError(503, 'the database is unavailable', undefined, { 'Retry-After': '5' });
    }
    if (!record) throw new HttpError(404, `no user with id ${id.id}`);
    await cache.offer([record]).catch((error: unknown) => {
      metrics.cacheErrors.inc();
      logger.warn({ err: error }, 'caching ai_features failed');
    });
    res.type('application/json').set('X-Cache', 'miss').send(record.body);
  });

  return finishHttpApp(app);
}
