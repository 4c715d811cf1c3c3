// A workspace with the Pipelines API only (CIO_API=pipelines and CIO_PIPELINES_API_KEY,
// no Track API site id or key): a real worker process, the real broker and the sandbox.
import { DEFAULT_CREDENTIALS } from '@cio-bridge/cio-sandbox';
import { transactionalExamples } from '@cio-bridge/schemas';
import { waitFor } from '@cio-bridge/testkit';
import { derivedOperationId } from './intake/operation';
import {
  buildWorker,
  createHarness,
  credentials,
  type Harness,
  type SandboxCounters,
  spawnWorker,
  type WorkerProcess,
  waitForOperations,
} from './testing/integration-harness';

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 0,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

jest.setTimeout(120_000);

/** Only what a Pipelines-only workspace has; the harness's Track API variables are unset (empty). */
const pipelinesOnly = (harness: Harness, extra: Record<string, string> = {}) => ({
  CIO_API: 'pipelines',
  CIO_PIPELINES_API_KEY: DEFAULT_CREDENTIALS.pipelinesApiKey,
  CIO_PIPELINES_URL: harness.sandbox.url,
  CIO_SITE_ID: '',
  CIO_API_KEY: '',
  CIO_TRACK_URL: '',
  CIO_APP_API_KEY: '',
  ...extra,
});

const events = (count: number, people: number) =>
  Array.from({ length: count }, (_, i) => ({
    name: 'pipelines_only_event',
    id: newId(),
    identifiers: { id: `pipelines-person-${i % people}` },
    data: { n: i },
  }));

const messages = (ops: ReturnType<typeof events>) =>
  ops.map((op) => ({ key: op.identifiers.id, value: JSON.stringify(op) }));

type Counters = SandboxCounters & { by_path: Record<string, number> };

/** Requests the sandbox received on Track API paths (/api/...). */
const trackApiRequests = (counters: Counters) =>
  Object.entries(counters.by_path)
    .filter(([path]) => path.startsWith('/api/'))
    .reduce((sum, [, count]) => sum + count, 0);

async function readyz(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, text: await response.text() };
}

async function metric(port: number, line: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const found = text.split('\n').find((row) => row.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

async function stop(worker: WorkerProcess | undefined) {
  if (!worker) return;
  if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  await worker.exited;
}

describe('cio-worker with a Pipelines-only workspace', () => {
  let harness: Harness | undefined;
  let worker: WorkerProcess | undefined;
  beforeAll(() => buildWorker());
  afterEach(async () => {
    await stop(worker);
    worker = undefined;
    await harness?.close();
    harness = undefined;
  });

  it('starts with CIO_PIPELINES_API_KEY alone and delivers, sending nothing to the Track API', async () => {
    harness = await createHarness('pipelines-only');
    const ops = events(60, 12);
    await harness.produce(harness.topics.track, messages(ops));
    worker = await spawnWorker(harness, pipelinesOnly(harness));

    const operations = await waitForOperations(
      harness,
      ops.map((op) => op.id),
    );
    expect(operations.every((op) => op.via === 'pipelines')).toBe(true);
    const counters = await harness.admin<Counters>('/counters');
    expect(counters.by_path['/v1/batch']).toBeGreaterThan(0);
    expect(trackApiRequests(counters)).toBe(0);
    expect(counters.unauthorized).toBe(0);
    expect(await harness.deadLetters({ timeoutMs: 1_000 })).toHaveLength(0);
    // No CIO_RATE_LIMIT_RPS: the Pipelines API's documented 3000 requests per 3 seconds.
    expect(await metric(worker.port, 'cio_bridge_worker_rate_limit_requests_per_second{api="track"}')).toBe(
      1000,
    );
  });

  it('sends transactional email with CIO_APP_API_KEY alone next to the Pipelines API key', async () => {
    harness = await createHarness('pipelines-only-app');
    const [example] = Object.values(transactionalExamples());
    const send = { ...example!, id: newId() };
    await harness.produce(harness.topics.transactional, [{ key: send.to, value: JSON.stringify(send) }]);
    const ops = events(5, 5);
    await harness.produce(harness.topics.track, messages(ops));
    worker = await spawnWorker(
      harness,
      pipelinesOnly(harness, { CIO_APP_API_KEY: credentials.appApiKey, CIO_APP_URL: harness.sandbox.url }),
    );

    await waitForOperations(
      harness,
      ops.map((op) => op.id),
    );
    await waitFor(async () => (await harness!.admin<unknown[]>('/sends')).length === 1, {
      what: 'the transactional send at the sandbox',
    });
    const counters = await harness.admin<Counters>('/counters');
    expect(counters.by_path['/v1/send/email']).toBe(1);
    expect(trackApiRequests(counters)).toBe(0);
  });

  it('takes the first request’s 401 as the credential check: pauses, not ready, metric, nothing dead-lettered, resumes once the key works', async () => {
    harness = await createHarness('pipelines-only-401');
    // The workspace's key was rotated: the worker's key is refused until it is valid again.
    await harness.admin('/credentials', { method: 'PUT', body: { pipelinesApiKey: 'rotated-key' } });
    worker = await spawnWorker(harness, pipelinesOnly(harness));
    const port = worker.port;
    const ops = events(40, 8);
    await harness.produce(harness.topics.track, messages(ops));

    const notReady = await waitFor(
      async () => {
        const answer = await readyz(port);
        return answer.status === 503 ? answer : undefined;
      },
      { what: 'the worker to report the refused Pipelines API key' },
    );
    expect(JSON.parse(notReady.text).checks.customerio).toBe('failing');
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as {
      credentialsRejected: { track: boolean; app: boolean };
    };
    expect(status.credentialsRejected).toEqual({ track: true, app: false });
    expect(await metric(port, 'cio_bridge_worker_credentials_rejected{api="track"}')).toBe(1);
    const counters = await harness.admin<Counters>('/counters');
    expect(counters.unauthorized).toBeGreaterThan(0);
    expect(trackApiRequests(counters)).toBe(0);

    await harness.admin('/credentials', {
      method: 'PUT',
      body: { pipelinesApiKey: DEFAULT_CREDENTIALS.pipelinesApiKey },
    });
    await waitForOperations(
      harness,
      ops.map((op) => op.id),
    );
    await waitFor(async () => (await readyz(port)).status === 200, { what: 'the worker ready again' });
    expect(await metric(port, 'cio_bridge_worker_credentials_rejected{api="track"}')).toBe(0);
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
    expect(trackApiRequests(await harness.admin<Counters>('/counters'))).toBe(0);
  });
});
