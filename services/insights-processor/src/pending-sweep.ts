import type { Logger } from '@cio-bridge/logger';
import type { FeatureCache } from './cache';
import type { InsightsMetrics } from './metrics';
import type { PendingStore } from './pending-store';

export interface PendingSweepOptions {
  pending: PendingStore;
  cache: FeatureCache;
  metrics: InsightsMetrics;
  logger: Logger;
  /** INSIGHTS_PENDING_TTL: how long a prediction waits for its user */
  ttlMs: number;
  /** INSIGHTS_PENDING_SWEEP_SECONDS, in milliseconds */
  intervalMs: number;
  /** rows applied per statement */
  batchRows?: number;
}

export interface PendingSweeper {
  /** one sweep: expire, apply what can be applied, count what is left */
  runOnce(): Promise<void>;
  start(): void;
  /** stops the timer and waits for a sweep in progress */
  stop(): Promise<void>;
}

/**
 * The periodic sweep of `ai_features_pending`: applies the predictions whose user
 * appeared since (a user created without a later prediction would otherwise never get
 * them), deletes the expired ones and keeps the gauge of waiting rows current.
 */
export function createPendingSweeper(options: PendingSweepOptions): PendingSweeper {
  const { pending, cache, metrics, logger, ttlMs, intervalMs, batchRows = 1_000 } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function sweep(): Promise<void> {
    const expired = await pending.expire(ttlMs);
    if (expired > 0) {
      metrics.pendingExpired.inc(expired);
      logger.warn({ rows: expired, ttlMs }, 'pending predictions expired: their users never appeared');
    }
    for (let round = 0; round < 100 && !stopped; round++) {
      const applied = await pending.applyExisting(batchRows);
      if (applied.rows > 0) {
        await cache.offer(applied.records);
        metrics.pendingApplied.inc({ via: 'sweep' }, applied.rows);
        logger.info({ rows: applied.rows, users: applied.records.length }, 'pending predictions applied');
      }
      if (applied.rows < batchRows) break;
    }
    metrics.pendingRows.set(await pending.count());
  }

  const runOnce = () => {
    running ??= sweep()
      .catch((error: unknown) =>
        logger.warn({ err: error }, 'pending predictions sweep failed: retried later'),
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void runOnce().then(schedule), intervalMs);
    timer.unref();
  };

  return {
    runOnce,
    start() {
      stopped = false;
      void runOnce().then(schedule);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
