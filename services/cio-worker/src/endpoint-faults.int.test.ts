import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '@cio-bridge/testkit';
import { derivedOperationId } from './intake/operation';
import {
  buildWorker,
  createHarness,
  type Harness,
  type SandboxCounters,
  type SandboxOperation,
  spawnWorker,
  waitForOperations,
} from './testing/integration-harness';

jest.setTimeout(120_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 0,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

const events = (count: number, people: number, name = 'endpoint_event') =>
  Array.from({ length: count }, (_, i) => ({
    name,
    id: newId(),
    identifiers: { id: `person-${i % people}` },
    data: { n: i },
  }));

const messages = (ops: ReturnType<typeof events>) =>
  ops.map((op) => ({ key: op.identifiers.id, value: JSON.stringify(op) }));

async function readyz(port: number | undefined) {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
}

describe('cio-worker and a wrong or failing endpoint', () => {
  let harness: Harness | undefined;
  beforeAll(() => buildWorker());
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('delivers with CIO_TRACK_URL given in the documented form ending in /api/v1, dead-lettering nothing', async () => {
    harness = await createHarness('worker-url-suffix');
    const ops = events(100, 20);
    await harness.produce(harness.topics.track, messages(ops));
    const worker = await spawnWorker(harness, { CIO_TRACK_URL: `${harness.sandbox.url}/api/v1` });
    try {
      await waitForOperations(
        harness,
        ops.map((op) => op.id),
      );
      expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });

  it('refuses a CIO_TRACK_URL with another path at start, in one line naming it', async () => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'dist', 'main.js')], {
      env: {
        PATH: process.env.PATH,
        CIO_SITE_ID: 'site',
        CIO_API_KEY: 'key',
        CIO_TRACK_URL: 'http://127.0.0.1:9/track',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^configuration error: CIO_TRACK_URL must be a base URL without a path/),
    ]);
  });

  it('treats 404 for everything as an endpoint fault: pauses, not ready, metric, nothing dead-lettered, resumes by itself', async () => {
    harness = await createHarness('worker-404');
    const worker = await harness.startWorker({ tuning: { endpointVerdictMs: 60_000 } });
    // The endpoint breaks after the start-up check: every request answers 404.
    await harness.admin('/faults', { method: 'PUT', body: { status: 404 } });
    const ops = events(100, 20);
    await harness.produce(harness.topics.track, messages(ops));

    await waitFor(async () => (await readyz(worker.port)).status === 503, { what: 'not ready' });
    expect((await readyz(worker.port)).body.checks.customerio).toBe('failing');
    expect(worker.status().endpointFault.track).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/cio_bridge_worker_endpoint_fault\{[^}]*api="track"[^}]*\} 1/);
    await waitFor(async () => (await harness!.admin<SandboxCounters>('/counters')).faults_injected >= 5, {
      what: 'probes',
    });
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);

    await harness.admin('/faults', { method: 'DELETE' });
    await waitForOperations(
      harness,
      ops.map((op) => op.id),
    );
    await waitFor(async () => (await readyz(worker.port)).status === 200, { what: 'ready again' });
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  });

  it('checks the account before consuming: rejected credentials pause and show in readiness until they work', async () => {
    harness = await createHarness('worker-preflight');
    await harness.admin('/credentials', { method: 'PUT', body: { apiKey: 'rotated-key' } });
    const ops = events(30, 10);
    await harness.produce(harness.topics.track, messages(ops));
    const worker = await harness.startWorker();
    expect((await readyz(worker.port)).body.checks.customerio).toBe('failing');
    await waitFor(async () => (await harness!.admin<SandboxCounters>('/counters')).unauthorized >= 3, {
      what: 'repeated checks',
    });
    // Nothing was sent but the account check.
    const requests = await harness.admin<{ path: string }[]>('/requests?limit=1000');
    expect(new Set(requests.map((request) => request.path))).toEqual(new Set(['/api/v1/accounts/region']));
    expect(await harness.admin<SandboxOperation[]>('/operations')).toHaveLength(0);

    await harness.admin('/credentials', { method: 'PUT', body: { apiKey: 'it-track-key' } });
    await waitForOperations(
      harness,
      ops.map((op) => op.id),
    );
    // Ready again (readiness also asks the broker, which may take a moment on a busy machine).
    await waitFor(async () => (await readyz(worker.port)).status === 200, { what: 'ready again' });
    expect((await readyz(worker.port)).body.checks.customerio).toBe('ok');
  });

  it('reports an account region that differs from CIO_REGION', async () => {
    harness = await createHarness('worker-region');
    const worker = await harness.startWorker({ region: 'eu' });
    expect(worker.status().region).toEqual({ configured: 'eu', account: 'us' });
  });
});
