// Without CIO_RATE_LIMIT_RPS a real worker process budgets the Track API's documented
// 1000 requests per second (the Pipelines API's is checked in pipelines-only.int.test.ts).

import { derivedOperationId } from './intake/operation';
import {
  buildWorker,
  createHarness,
  type Harness,
  spawnWorker,
  waitForOperations,
} from './testing/integration-harness';

jest.setTimeout(120_000);

describe('cio-worker without CIO_RATE_LIMIT_RPS', () => {
  let harness: Harness | undefined;
  beforeAll(() => buildWorker());
  afterAll(async () => {
    await harness?.close();
  });

  it('paces the Track API at its documented 1000 requests per second', async () => {
    harness = await createHarness('documented-rate');
    const ops = Array.from({ length: 20 }, (_, i) => ({
      name: 'documented_rate_event',
      id: derivedOperationId({ topic: 'rate', partition: 0, offset: String(i), timestamp: '0', key: null }),
      identifiers: { id: `rate-person-${i % 5}` },
    }));
    await harness.produce(
      harness.topics.track,
      ops.map((op) => ({ key: op.identifiers.id, value: JSON.stringify(op) })),
    );
    const worker = await spawnWorker(harness);
    try {
      await waitForOperations(
        harness,
        ops.map((op) => op.id),
      );
      const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
      const line = metrics
        .split('\n')
        .find((row) => row.startsWith('cio_bridge_worker_rate_limit_requests_per_second{api="track"} '));
      expect(Number(line?.split(' ')[1])).toBe(1000);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
