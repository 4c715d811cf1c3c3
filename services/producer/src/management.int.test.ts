import {
  buildServices,
  freePort,
  type ServiceProcess,
  spawnService,
  testKafkaBrokers,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';

jest.setTimeout(90_000);

describe('producer management endpoints, as a process', () => {
  let env: Record<string, string>;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    buildServices('producer');
    const topics = testTopicNames('management');
    env = {
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_TRACK: topics.track,
      KAFKA_TOPIC_TRANSACTIONAL: topics.transactional,
      INGEST_API_TOKENS: 'management-test-token',
    };
  });

  afterAll(async () => {
    await Promise.all(started.map((service) => service.stop()));
  });

  it('serves /metrics, /healthz and /readyz only on MANAGEMENT_PORT when it is set', async () => {
    const managementPort = await freePort();
    const service = await spawnService(
      'producer',
      { ...env, MANAGEMENT_PORT: String(managementPort) },
      { ready: false },
    );
    started.push(service);
    const management = `http://127.0.0.1:${managementPort}`;
    await waitFor(async () => (await fetch(`${management}/readyz`).catch(() => undefined))?.ok, {
      timeoutMs: 60_000,
      what: 'the producer to be ready on its management port',
    });
    expect(await (await fetch(`${management}/readyz`)).json()).toEqual({
      status: 'ready',
      checks: { kafka: 'ok' },
    });
    expect((await fetch(`${management}/metrics`)).status).toBe(200);
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      expect((await fetch(`${service.url}${path}`)).status).toBe(404);
    }
    // The API is on the service port.
    const unauthorized = await fetch(`${service.url}/v1/track`, { method: 'POST' });
    expect(unauthorized.status).toBe(401);
  });

  it('refuses to start with TRUST_PROXY=true, which would let any client forge its address', async () => {
    const service = await spawnService('producer', { ...env, TRUST_PROXY: 'true' }, { ready: false });
    started.push(service);
    expect(await service.exited).toBe(1);
    expect(service.output()).toMatch(/^configuration error: TRUST_PROXY must be a number of proxy hops/);
  });
});
