import { Counter, Gauge, type Registry } from 'prom-client';

/** Requests that waited for outcomes (`Prefer: wait=N`) and the replies that answered them. */
export function createWaitMetrics(registry: Registry) {
  return {
    waits: new Counter({
      name: 'cio_bridge_producer_waits_total',
      help: 'Requests with Prefer: wait by result: answered (200), timed_out (202 with pending), refused (202 at once: PRODUCER_MAX_WAITERS or no reply partition)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    waiting: new Gauge({
      name: 'cio_bridge_producer_waiting_operations',
      help: 'Operations whose outcome requests are waiting for (bounded by PRODUCER_MAX_WAITERS)',
      registers: [registry],
    }),
    replies: new Counter({
      name: 'cio_bridge_producer_replies_total',
      help: 'Worker replies read from the replies partition of this instance: matched a waiting request, or unmatched (late, dropped)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type WaitMetrics = ReturnType<typeof createWaitMetrics>;
