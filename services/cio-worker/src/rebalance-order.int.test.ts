import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { derivedOperationId } from './intake/operation';
import { createHarness, type Harness, waitForOperations } from './testing/integration-harness';

jest.setTimeout(180_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 6,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

/** In front of the sandbox: holds each request for a random 200 ms to 3 s, then passes it on. */
async function jitteringProxy(target: string) {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    await sleep(200 + Math.random() * 2_800);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(
        ([name]) => !['host', 'content-length', 'connection'].includes(name),
      ),
    ) as Record<string, string>;
    try {
      const answer = await fetch(`${target}${req.url}`, {
        method: req.method,
        headers,
        body: req.method === 'GET' ? undefined : Buffer.concat(chunks),
      });
      res.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
      res.end(Buffer.from(await answer.arrayBuffer()));
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const PEOPLE = 60;
const ROUNDS = 12;

describe('per-person order across rebalances', () => {
  let harness: Harness | undefined;
  let proxy: Awaited<ReturnType<typeof jitteringProxy>> | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    await proxy?.close();
    proxy = undefined;
  });

  it.each([
    ['leaves', 'a second worker joins mid-run and leaves right after the last round'],
    ['joins', 'a second worker joins right after the last round'],
  ])('leaves every person on their newest identify when %s (%s), answers slow and jittered', async (when) => {
    harness = await createHarness('worker-rebalance-order');
    proxy = await jitteringProxy(harness.sandbox.url);
    const tuning = { sessionTimeoutMs: 10_000, maxBatchOperations: 10 };
    const ids: string[] = [];
    const produceRound = async (seq: number) => {
      const round = Array.from({ length: PEOPLE }, (_, p) => ({
        action: 'identify',
        id: newId(),
        identifiers: { id: `person-${p}` },
        attributes: { seq },
      }));
      ids.push(...round.map((op) => op.id));
      await harness!.produce(
        harness!.topics.track,
        round.map((op) => ({ key: op.identifiers.id, value: JSON.stringify(op) })),
      );
    };
    await harness.startWorker({ trackUrl: proxy.url, tuning });
    let seq = 0;
    const rounds = async (until: number) => {
      for (; seq < until; seq++) {
        await produceRound(seq);
        await sleep(400);
      }
    };
    if (when === 'leaves') {
      await rounds(4);
      // A second worker joins: partitions move away from the first while its requests are in flight.
      const second = await harness.startWorker({ trackUrl: proxy.url, tuning });
      await rounds(ROUNDS);
      // It leaves right after the last round: its partitions move back while its requests
      // for them are in flight, and no later identify comes to repair anything.
      await second.stop();
    } else {
      await rounds(ROUNDS);
      // The first worker's requests for the newest rounds are in flight when half of its
      // partitions move to the newcomer, which fetches them again from the committed offset.
      await harness.startWorker({ trackUrl: proxy.url, tuning });
    }
    await waitForOperations(harness, ids, 120_000);
    // Let every request still held by the proxy land.
    await sleep(3_500);

    const stale: string[] = [];
    for (let p = 0; p < PEOPLE; p++) {
      const person = await harness.admin<{ attributes: { seq?: number } }>(`/people/person-${p}`);
      if (person.attributes.seq !== ROUNDS - 1) stale.push(`person-${p}: ${person.attributes.seq}`);
    }
    expect(stale).toEqual([]);
  });
});
