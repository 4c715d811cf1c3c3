import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@cio-bridge/logger';
import { Redis } from 'ioredis';

/**
 * A Redis client for an optional store (the composition root owns it). Commands fail at
 * once while the connection is down instead of queueing, so callers fall back without
 * waiting; it reconnects by itself. Connection errors go to the debug log: the store
 * logs one warning per change between Redis and its fallback instead.
 */
export async function connectOptionalRedis(
  url: string,
  { logger, waitMs = 3_000 }: { logger: Logger; waitMs?: number },
): Promise<Redis> {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
    // Reconnect every second at most: back in use soon after Redis returns.
    retryStrategy: (attempt) => Math.min(1_000, attempt * 100),
  });
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'Redis connection error'));
  // Start with Redis when it answers soon; otherwise start on the fallback.
  const ac = new AbortController();
  await Promise.race([
    once(redis, 'ready', { signal: ac.signal }),
    sleep(waitMs, undefined, { signal: ac.signal }),
  ])
    .catch(() => {})
    .finally(() => ac.abort());
  return redis;
}

/** Closes a client whether or not it is connected. */
export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}
