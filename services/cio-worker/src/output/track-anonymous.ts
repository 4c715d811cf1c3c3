import { V1_ANONYMOUS_EVENT_PREFIX } from '@cio-bridge/schemas';
import { TrackClient } from 'customerio-node';
import type { Channel } from '../delivery/engine';
import { DeliveryError } from '../errors';
import type { WorkerMetrics } from '../metrics';
import { type CustomerioOptions, trackCredentials } from './customerio';
import { postJson } from './http-post';

const PREFIX = Buffer.from(V1_ANONYMOUS_EVENT_PREFIX);

const isAnonymousEvent = (body: Buffer): boolean =>
  body.length > PREFIX.length && body.subarray(0, PREFIX.length).equals(PREFIX);

/**
 * Track v2 has no anonymous person events, so they go to v1 `POST /api/v1/events`, one
 * per request. Inside a batch they come back as "send alone" (no attempt counted): the
 * engine then sends each alone through its own budget slot, keeping the request rate.
 */
export function withAnonymousEvents(
  track: Channel,
  options: CustomerioOptions,
  timeoutMs: number,
  metrics: WorkerMetrics,
): Channel {
  const { siteId, apiKey } = trackCredentials(options);
  const client = new TrackClient(siteId, apiKey, {
    url: `${options.trackUrl}/api/v1`,
    timeout: timeoutMs,
    retry: { maxRetries: 0 },
  });
  const uri = `${options.trackUrl}/api/v1/events`;
  const observe = (status: string, seconds: number) =>
    metrics.requestDuration.observe({ api: 'track', endpoint: 'events', status }, seconds);
  const sendBatch = track.sendBatch;
  return {
    api: track.api,
    ...(sendBatch
      ? {
          async sendBatch(bodies: Buffer[]) {
            const alone = new Map<number, DeliveryError>();
            const batched: number[] = [];
            bodies.forEach((body, index) => {
              if (isAnonymousEvent(body))
                alone.set(
                  index,
                  new DeliveryError('validation', 'an anonymous event goes alone to /api/v1/events', false),
                );
              else batched.push(index);
            });
            if (alone.size === 0) return sendBatch(bodies);
            if (batched.length === 0) {
              // Only anonymous events: the first goes now, so the request slot gets a real
              // verdict (an answer without 401 must not end a credential pause for nothing).
              try {
                await postJson(client.request, uri, bodies[0]!, observe);
                alone.delete(0);
              } catch (error) {
                if ((error as DeliveryError).authentication) throw error;
                alone.set(0, error as DeliveryError);
              }
              return alone;
            }
            const failures = await sendBatch(batched.map((index) => bodies[index]!));
            for (const [i, error] of failures) alone.set(batched[i]!, error);
            return alone;
          },
        }
      : {}),
    async sendOne(body) {
      if (!isAnonymousEvent(body)) return track.sendOne(body);
      await postJson(client.request, uri, body, observe);
    },
  };
}
