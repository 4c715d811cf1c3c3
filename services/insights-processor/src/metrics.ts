import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type InsightsMetrics = ReturnType<typeof createInsightsMetrics>;

/** The service's own metrics, on the registry the composition root passes in. */
export function createInsightsMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    predictionsPersisted: new Counter({
      name: 'cio_bridge_insights_predictions_persisted_total',
      help: 'Prediction messages whose batch the database committed (applied or already up to date)',
      registers,
    }),
    predictionsSkipped: new Counter({
      name: 'cio_bridge_insights_predictions_skipped_total',
      help: 'Prediction messages not written to the users table, by reason (invalid; pending: user not there yet; rejected by the database: dead-lettered)',
      labelNames: ['reason'],
      registers,
    }),
    usersUpdated: new Counter({
      name: 'cio_bridge_insights_users_updated_total',
      help: 'Users whose ai_features changed',
      registers,
    }),
    reportingStored: new Counter({
      name: 'cio_bridge_insights_reporting_events_total',
      help: 'Reporting events by outcome (stored, duplicate, invalid)',
      labelNames: ['outcome'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'cio_bridge_insights_batch_messages',
      help: 'Messages per batch written to Postgres, by topic',
      labelNames: ['topic'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'cio_bridge_insights_batch_duration_seconds',
      help: 'Time to write one batch (database and cache), by topic',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    writeFailures: new Counter({
      name: 'cio_bridge_insights_write_failures_total',
      help: 'Failed attempts to write a batch, by dependency (postgres, cache); each is retried',
      labelNames: ['dependency'],
      registers,
    }),
    postgresAvailable: new Gauge({
      name: 'cio_bridge_insights_postgres_available',
      help: '1 while batches are written, 0 while the consumer waits for Postgres',
      registers,
    }),
    predictionsDeadLettered: new Counter({
      name: 'cio_bridge_insights_predictions_dead_lettered_total',
      help: 'Prediction messages the database rejected, published to the predictions dead-letter topic',
      registers,
    }),
    pendingRows: new Gauge({
      name: 'cio_bridge_insights_pending_predictions',
      help: 'Rows in ai_features_pending: predictions waiting for their user to appear in the users table',
      registers,
    }),
    pendingAdded: new Counter({
      name: 'cio_bridge_insights_pending_added_total',
      help: 'Users whose predictions of one batch were kept in ai_features_pending (user not in the users table yet)',
      registers,
    }),
    pendingApplied: new Counter({
      name: 'cio_bridge_insights_pending_applied_total',
      help: 'Pending prediction rows applied once their user existed, by how (prediction: with the next prediction for the user; sweep)',
      labelNames: ['via'],
      registers,
    }),
    pendingExpired: new Counter({
      name: 'cio_bridge_insights_pending_expired_total',
      help: 'Pending prediction rows deleted after INSIGHTS_PENDING_TTL without their user appearing',
      registers,
    }),
    cacheHits: new Counter({
      name: 'cio_bridge_insights_cache_hits_total',
      help: 'Read API cache hits',
      registers,
    }),
    cacheMisses: new Counter({
      name: 'cio_bridge_insights_cache_misses_total',
      help: 'Read API cache misses',
      registers,
    }),
    cacheErrors: new Counter({
      name: 'cio_bridge_insights_cache_errors_total',
      help: 'Read API cache lookups that failed (answered from Postgres)',
      registers,
    }),
  };
  // Every labelled series exists from the start, so alerts and panels see 0, not nothing.
  for (const reason of ['invalid', 'unknown_user', 'rejected']) metrics.predictionsSkipped.inc({ reason }, 0);
  for (const outcome of ['stored', 'duplicate', 'invalid', 'rejected'])
    metrics.reportingStored.inc({ outcome }, 0);
  for (const dependency of ['postgres', 'cache']) metrics.writeFailures.inc({ dependency }, 0);
  return metrics;
}

/** The ai_features cache's Redis fallback (0 without REDIS_URL). */
export function createCacheMetrics(registry: Registry) {
  return {
    fallback: new Gauge({
      name: 'cio_bridge_insights_cache_fallback',
      help: '1 while Redis is unavailable and this instance caches ai_features in its in-process LRU',
      registers: [registry],
    }),
  };
}

export type CacheMetrics = ReturnType<typeof createCacheMetrics>;
