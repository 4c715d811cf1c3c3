import {
  buildServices,
  freePort,
  type ServiceProcess,
  spawnService,
  testKafkaBrokers,
  waitFor,
} from '@cio-bridge/testkit';
import { createHarness, credentials, type Harness } from './testing/integration-harness';

jest.setTimeout(90_000);

describe('cio-worker management port, as a process', () => {
  let harness: Harness;
  let worker: ServiceProcess | undefined;

  beforeAll(() => {
    buildServices('cio-worker');
  });

  afterAll(async () => {
    await worker?.stop();
    await harness?.close();
  });

  it('serves /status, /metrics, /healthz and /readyz only on MANAGEMENT_PORT', async () => {
    harness = await createHarness('worker-management');
    const managementPort = await freePort();
    worker = await spawnService(
      'cio-worker',
      {
        KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
        KAFKA_TOPIC_TRACK: harness.topics.track,
        KAFKA_TOPIC_TRANSACTIONAL: harness.topics.transactional,
        KAFKA_TOPIC_DLQ: harness.topics.dlq,
        KAFKA_GROUP_ID: harness.groupId,
        CIO_SITE_ID: harness.siteId,
        CIO_API_KEY: credentials.apiKey,
        CIO_APP_API_KEY: credentials.appApiKey,
        CIO_TRACK_URL: harness.sandbox.url,
        CIO_APP_URL: harness.sandbox.url,
        MANAGEMENT_PORT: String(managementPort),
        LOG_LEVEL: 'warn',
      },
      { ready: false },
    );
    const management = `http://127.0.0.1:${managementPort}`;
    await waitFor(async () => (await fetch(`${management}/readyz`).catch(() => undefined))?.ok, {
      timeoutMs: 60_000,
      what: 'the worker to be ready on its management port',
    });
    const status = (await (await fetch(`${management}/status`)).json()) as { stopping: boolean };
    expect(status.stopping).toBe(false);
    for (const path of ['/status', '/metrics', '/healthz', '/readyz']) {
      expect((await fetch(`${management}${path}`)).status).toBe(200);
      expect((await fetch(`${worker.url}${path}`)).status).toBe(404);
    }
  });
});
