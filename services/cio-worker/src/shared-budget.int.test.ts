import { personKey, type TrackOperation } from '@cio-bridge/schemas';
import { testLogger, testRedisUrl, uniqueName } from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { RedisBudget } from './delivery/rate-limit';
import { derivedOperationId } from './intake/operation';
import { createHarness, type Harness, waitForOperations } from './testing/integration-harness';

jest.setTimeout(90_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 2,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

describe('the request budget shared through Redis', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('gives two instances one schedule of evenly spaced slots', async () => {
    const key = uniqueName('budget');
    const a = new RedisBudget(redis, key, { rps: 1, utilisation: 1, catchUpSlots: 0 }, testLogger());
    const b = new RedisBudget(redis, key, { rps: 1, utilisation: 1, catchUpSlots: 0 }, testLogger());
    const waits: number[] = [];
    const schedule: number[] = [];
    for (let i = 0; i < 6; i++) {
      waits.push(await (i % 2 ? b : a).reserve());
      schedule.push(Number(await redis.hget(key, 'tat')));
    }
    // One slot a second, whichever instance asks: each reservation moves the shared schedule by 1 s.
    for (let i = 1; i < 6; i++) {
      expect(schedule[i]! - schedule[i - 1]!).toBeCloseTo(1_000, 6);
      expect(waits[i]!).toBeGreaterThan(waits[i - 1]! + 500);
    }
    expect(waits[0]).toBe(0);
    expect(a.redisErrors + b.redisErrors).toBe(0);
    await redis.del(key);
  });

  it('pauses every instance after one of them got a 429, and halves the shared rate', async () => {
    const key = uniqueName('budget');
    const a = new RedisBudget(redis, key, { rps: 10, utilisation: 1 }, testLogger());
    const b = new RedisBudget(redis, key, { rps: 10, utilisation: 1 }, testLogger());
    await a.throttled(2_000);
    const pausedUntil = Number(await redis.hget(key, 'paused'));
    expect(await b.reserve()).toBeGreaterThan(1_000);
    expect(b.currentRps()).toBe(5);
    // b's slot is the first after the pause; the next one is 200 ms later (5/s).
    expect(Number(await redis.hget(key, 'tat')) - pausedUntil).toBeCloseTo(200, 6);
    await redis.del(key);
  });

  describe('two workers', () => {
    let harness: Harness | undefined;
    afterEach(async () => {
      await harness?.close();
    });

    it('stay together within one CIO_RATE_LIMIT_RPS', async () => {
      harness = await createHarness('worker-shared');
      const ops: TrackOperation[] = Array.from({ length: 240 }, (_, i) => ({
        name: 'shared_event',
        id: newId(),
        identifiers: { id: `person-${i % 120}` },
      }));
      await harness.produce(
        harness.topics.track,
        ops.map((op) => ({ key: personKey(op), value: JSON.stringify(op) })),
      );
      const registries = [new Registry(), new Registry()];
      // Two operations per request: 120 requests, about 12 s at 10 requests/s for both together.
      const options = { rps: 10, redis, tuning: { maxBatchOperations: 2 } };
      await Promise.all(registries.map((registry) => harness!.startWorker({ ...options, registry })));
      const started = Date.now();
      await waitForOperations(
        harness,
        ops.map((op) => op.id!),
        60_000,
      );
      const elapsedSeconds = (Date.now() - started) / 1000;

      const perWorker = await Promise.all(
        registries.map(async (registry) => {
          const metric = await registry.getSingleMetric('cio_bridge_worker_batch_operations')!.get();
          return (
            metric.values.find(
              (v) => (v as { metricName?: string }).metricName === 'cio_bridge_worker_batch_operations_count',
            )?.value ?? 0
          );
        }),
      );
      // Both sent requests (each owns half of the partitions) ...
      expect(perWorker.every((count) => count > 10)).toBe(true);
      // ... and together they stayed within the one budget of 10/s (alone, each would send 10/s:
      // about 20/s together).
      // Measured over the deliveries' own span: the first worker starts sending while the
      // second is still starting (its account check), before `started`.
      const log = await harness.admin<{ path: string; at: string }[]>('/requests?limit=1000');
      const sent = log.filter((r) => r.path.startsWith('/api/v2')).map((r) => Date.parse(r.at));
      expect(sent.length).toBeGreaterThanOrEqual(120);
      const spanSeconds = (sent.at(-1)! - sent[0]!) / 1000;
      expect((sent.length - 1) / spanSeconds).toBeLessThanOrEqual(10.5);
      expect(elapsedSeconds).toBeGreaterThan(0);
    });
  });
});
