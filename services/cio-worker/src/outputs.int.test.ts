// The whole data model (an object related to a person, an anonymous session merged on
// identify, page views) from the producer's HTTP API and from the SDK, through the real
// broker and a real worker process, into the sandbox: once per output (CIO_API).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_CREDENTIALS } from '@cio-bridge/cio-sandbox';
import { CioPublisher } from '@cio-bridge/sdk';
import { testKafkaBrokers, uniqueName, waitFor } from '@cio-bridge/testkit';
import {
  createHarness,
  freePort,
  type Harness,
  spawnWorker,
  type WorkerProcess,
} from './testing/integration-harness';

const repoRoot = join(__dirname, '..', '..', '..');
const TOKEN = 'it-ingest-token-0123456789';

interface Relationship {
  object_type_id: string;
  object_id: string;
  person: Record<string, string>;
  person_cio_id: string | null;
  attributes: Record<string, unknown>;
}
interface StoredEvent {
  person: string | null;
  anonymous_id?: string;
  name: string;
  type: string;
  data: Record<string, unknown>;
}
interface StoredOperation {
  type: string;
  action: string;
  via: string;
  payload: Record<string, unknown>;
}

async function spawnProducer(
  harness: Harness,
): Promise<{ child: ChildProcess; url: string; exited: Promise<unknown> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'services/producer/dist/main.js')], {
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_TRACK: harness.topics.track,
      KAFKA_TOPIC_TRANSACTIONAL: harness.topics.transactional,
      KAFKA_TOPIC_DLQ: harness.topics.dlq,
      INGEST_API_TOKENS: TOKEN,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`producer exited with ${child.exitCode}`);
      return (await fetch(`${url}/readyz`).catch(() => undefined))?.ok;
    },
    { timeoutMs: 60_000, what: 'the producer process to be ready' },
  );
  return { child, url, exited };
}

const outputEnv = (api: 'track' | 'pipelines', harness: Harness): Record<string, string> =>
  api === 'track'
    ? { CIO_API: 'track' }
    : {
        CIO_API: 'pipelines',
        CIO_PIPELINES_API_KEY: DEFAULT_CREDENTIALS.pipelinesApiKey,
        // the documented /v1 suffix is accepted and normalised
        CIO_PIPELINES_URL: `${harness.sandbox.url}/v1`,
      };

describe.each(['track', 'pipelines'] as const)('the data model through CIO_API=%s', (api) => {
  let harness: Harness;
  let worker: WorkerProcess;
  let producer: Awaited<ReturnType<typeof spawnProducer>>;
  let sdk: CioPublisher;

  beforeAll(async () => {
    execFileSync(
      'bash',
      [
        'scripts/with-node.sh',
        'turbo',
        'run',
        'build',
        '--filter=@cio-bridge/cio-worker',
        '--filter=@cio-bridge/producer',
        '--output-logs=errors-only',
      ],
      { cwd: repoRoot, stdio: 'ignore' },
    );
    harness = await createHarness(`outputs-${api}`);
    worker = await spawnWorker(harness, outputEnv(api, harness));
    producer = await spawnProducer(harness);
    sdk = await CioPublisher.connect(harness.kafka, { topics: { track: harness.topics.track } });
  }, 120_000);

  afterAll(async () => {
    await sdk?.close();
    for (const child of [worker?.child, producer?.child]) {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }
    await Promise.all([worker?.exited, producer?.exited]);
    await harness?.close();
  });

  const postTrack = (body: unknown) =>
    fetch(`${producer.url}/v1/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  /** Waits until the sandbox shows what one sender's operations should have made. */
  async function expectDataModel(ids: { person: string; member: string; anonymous: string; object: string }) {
    let relationships: Relationship[] = [];
    await waitFor(
      async () => {
        relationships = await harness.admin<Relationship[]>('/relationships');
        return relationships.some((r) => r.object_id === ids.object && r.person_cio_id !== null);
      },
      { timeoutMs: 30_000, what: `the relationship of ${ids.object} to ${ids.person}` },
    );
    expect(relationships.find((r) => r.object_id === ids.object)).toMatchObject({
      object_type_id: '1',
      person: { id: ids.person },
      attributes: { role: 'admin' },
    });
    const objects =
      await harness.admin<Array<{ object_id: string; attributes: Record<string, unknown> }>>('/objects');
    expect(objects.find((o) => o.object_id === ids.object)?.attributes).toMatchObject({ name: 'Acme' });

    let merged: StoredEvent[] = [];
    await waitFor(
      async () => {
        merged = await harness.admin<StoredEvent[]>(`/events?person=${encodeURIComponent(ids.member)}`);
        return merged.length >= 2;
      },
      { timeoutMs: 30_000, what: `the anonymous session merged into ${ids.member}` },
    );
    expect(merged.map((e) => [e.type, e.name]).sort()).toEqual([
      ['event', 'plan_compared'],
      ['page', '/pricing'],
    ]);
    expect(merged.every((e) => e.anonymous_id === ids.anonymous)).toBe(true);

    let views: StoredEvent[] = [];
    await waitFor(
      async () => {
        views = await harness.admin<StoredEvent[]>(`/events?person=${encodeURIComponent(ids.person)}`);
        return views.length >= 1;
      },
      { timeoutMs: 30_000, what: `the page view of ${ids.person}` },
    );
    expect(views[0]).toMatchObject({ type: 'page', name: '/rewards', data: { title: 'Rewards' } });

    // The documented shapes: v2 object operations, or Pipelines group calls.
    const operations = await harness.admin<StoredOperation[]>('/operations');
    const objectOps = operations.filter((op) => op.type === 'object' && op.action === 'identify');
    if (api === 'track') {
      expect(objectOps.some((op) => op.via === 'v2-batch' || op.via === 'v2-entity')).toBe(true);
      expect(objectOps[0]?.payload).toMatchObject({ type: 'object', identifiers: { object_type_id: '1' } });
    } else {
      expect(operations.every((op) => op.via === 'pipelines')).toBe(true);
      expect(objectOps[0]?.payload).toMatchObject({ type: 'group', traits: { objectTypeId: '1' } });
    }
  }

  it('delivers an object related to a person, a merged anonymous session and a page view sent over HTTP', async () => {
    const ids = {
      person: uniqueName('http-person'),
      member: uniqueName('http-member'),
      anonymous: uniqueName('http-anon'),
      object: uniqueName('http-acme'),
    };
    const response = await postTrack({
      batch: [
        { action: 'identify', identifiers: { id: ids.person }, attributes: { plan: 'pro' } },
        {
          type: 'object',
          action: 'identify',
          identifiers: { object_type_id: '1', object_id: ids.object },
          attributes: { name: 'Acme' },
          cio_relationships: [
            { identifiers: { id: ids.person }, relationship_attributes: { role: 'admin' } },
          ],
        },
        { action: 'page', anonymous_id: ids.anonymous, name: '/pricing', data: { url: 'https://x/pricing' } },
        { name: 'plan_compared', anonymous_id: ids.anonymous, data: { plans: ['basic', 'pro'] } },
        { action: 'identify', identifiers: { id: ids.member }, anonymous_id: ids.anonymous, attributes: {} },
        { action: 'page', identifiers: { id: ids.person }, name: '/rewards', data: { title: 'Rewards' } },
      ],
    });
    expect(response.status).toBe(202);
    await expectDataModel(ids);
  }, 60_000);

  it('delivers the same sent with the SDK', async () => {
    const ids = {
      person: uniqueName('sdk-person'),
      member: uniqueName('sdk-member'),
      anonymous: uniqueName('sdk-anon'),
      object: uniqueName('sdk-acme'),
    };
    await sdk.identify(ids.person, { plan: 'pro' });
    await sdk.identifyObject({ object_type_id: '1', object_id: ids.object }, { name: 'Acme' }, [
      { identifiers: { id: ids.person }, relationship_attributes: { role: 'admin' } },
    ]);
    await sdk.page({ anonymous_id: ids.anonymous }, '/pricing', { url: 'https://x/pricing' });
    await sdk.trackAnonymous(ids.anonymous, 'plan_compared', { plans: ['basic', 'pro'] });
    await sdk.identifyMerging(ids.member, ids.anonymous);
    await sdk.page(ids.person, '/rewards', { title: 'Rewards' });
    await expectDataModel(ids);
  }, 60_000);

  it('refuses invalid forms over HTTP with 400 naming the field', async () => {
    const objectWithoutType = await postTrack({
      type: 'object',
      action: 'identify',
      identifiers: { object_id: 'x' },
    });
    expect(objectWithoutType.status).toBe(400);
    expect(JSON.stringify(await objectWithoutType.json())).toContain('/identifiers/object_type_id');
    const anonymousIdentify = await postTrack({ action: 'identify', anonymous_id: 'a-1' });
    expect(anonymousIdentify.status).toBe(400);
    expect(JSON.stringify(await anonymousIdentify.json())).toContain('"pointer":"/identifiers"');
  });
});
