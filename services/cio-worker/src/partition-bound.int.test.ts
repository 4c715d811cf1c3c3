import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@cio-bridge/testkit';
import { derivedOperationId } from './intake/operation';
import {
  createHarness,
  type Harness,
  type SandboxOperation,
  waitForOperations,
} from './testing/integration-harness';

jest.setTimeout(120_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 5,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

/**
 * In front of the sandbox: answers 503 to every request for one person while `failing`,
 * passes everything else through. The sandbox's own faults hit every request alike.
 */
async function failingFor(person: string, target: string) {
  const state = { failing: true };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (state.failing && body.includes(Buffer.from(`"${person}"`))) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"meta":{"error":"unavailable"}}');
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([name]) => !['host', 'content-length', 'connection'].includes(name),
      ),
    ) as Record<string, string>;
    const answer = await fetch(`${target}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === 'GET' ? undefined : body,
    });
    res.writeHead(answer.status, {
      'content-type': answer.headers.get('content-type') ?? 'application/json',
    });
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('cio-worker while one message waits in back-off', () => {
  let harness: Harness | undefined;
  let proxy: Awaited<ReturnType<typeof failingFor>> | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await proxy?.close();
    proxy = undefined;
  });

  it('takes only a bounded stretch of its partition past the held commit point, and all of it once it moves', async () => {
    harness = await createHarness('worker-partition-bound');
    proxy = await failingFor('person-stuck', harness.sandbox.url);
    const stuck = { name: 'stuck_event', id: newId(), identifiers: { id: 'person-stuck' } };
    const others = Array.from({ length: 1_000 }, (_, i) => ({
      name: 'flowing_event',
      id: newId(),
      identifiers: { id: `person-${i}` },
    }));
    await harness.producer.send({
      topic: harness.topics.track,
      acks: -1,
      messages: [stuck, ...others].map((op) => ({
        key: op.identifiers.id,
        value: JSON.stringify(op),
        partition: 0,
      })),
    });
    const worker = await harness.startWorker({
      trackUrl: proxy.url,
      tuning: { maxUncommittedPerPartition: 100, maxBatchOperations: 1, retryMaxMs: 200 },
    });
    await waitFor(async () => (await harness!.admin<SandboxOperation[]>('/operations')).length >= 50, {
      what: 'other people flowing',
    });
    // Give it time to take more, had it not stopped.
    await sleep(1_500);
    const whileStuck = (await harness.admin<SandboxOperation[]>('/operations')).length;
    expect(whileStuck).toBeLessThanOrEqual(150);
    expect(worker.status().heldPartitions).toEqual([{ topic: harness.topics.track, partition: 0 }]);

    proxy.state.failing = false;
    await waitForOperations(
      harness,
      [stuck, ...others].map((op) => op.id),
      60_000,
    );
    await waitFor(async () => worker.status().heldPartitions.length === 0, { what: 'the partition resumed' });
  });
});
