import {
  buildServices,
  createTestSchema,
  type ServiceProcess,
  spawnService,
  type TestSchema,
  testKafkaBrokers,
  testTopicNames,
} from '@cio-bridge/testkit';

jest.setTimeout(90_000);

const TOKEN = 'read-api-process-token-0123';

describe('insights-processor read API authentication, as a process', () => {
  let schema: TestSchema;
  let env: Record<string, string>;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    buildServices('insights-processor');
    schema = await createTestSchema('read-auth');
    const topics = testTopicNames('read-auth');
    env = {
      DATABASE_URL: schema.databaseUrl,
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_PREDICTIONS: topics.predictions,
      KAFKA_TOPIC_REPORTING: topics.reporting,
    };
  });

  afterAll(async () => {
    await Promise.all(started.map((service) => service.stop()));
    await schema?.drop();
  });

  it.each([
    [{}, 'configuration error: INSIGHTS_API_TOKENS is required (or set INSIGHTS_API_AUTH=none'],
    [
      { INSIGHTS_API_TOKENS: 'short-secret' },
      'configuration error: INSIGHTS_API_TOKENS must hold tokens of at least 16 characters each',
    ],
  ])('refuses to start with %j, in one line naming the variable', async (extra, line) => {
    const service = await spawnService('insights-processor', { ...env, ...extra }, { ready: false });
    started.push(service);
    expect(await service.exited).toBe(1);
    expect(service.output().trim()).toContain(line);
    expect(service.output().trim().split('\n')).toHaveLength(1);
    expect(service.output()).not.toContain('short-secret');
  });

  it('answers 401 without a valid token and the features with one', async () => {
    const service = await spawnService('insights-processor', { ...env, INSIGHTS_API_TOKENS: TOKEN });
    started.push(service);
    const url = `${service.url}/v1/users/1/ai-features`;
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    const wrong = await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } });
    expect(wrong.status).toBe(401);
    // The users table is empty: an authenticated request reaches the database and finds nobody.
    const authorized = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(authorized.status).toBe(404);
  });
});
