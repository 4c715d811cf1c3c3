// The shared start-up in the services themselves: each built service starts through
// runService against the real broker (and Postgres), and a SIGTERM stops it cleanly.
import {
  buildServices,
  createTestSchema,
  spawnService,
  type TestSchema,
  testKafkaBrokers,
  testTopicNames,
} from '@cio-bridge/testkit';

jest.setTimeout(120_000);

const SERVICES = ['producer', 'webhook-handler', 'insights-processor'];

describe('services started by runService', () => {
  let schema: TestSchema;
  let envs: Record<string, Record<string, string>>;

  beforeAll(async () => {
    buildServices(...SERVICES);
    schema = await createTestSchema('service-main');
    const topics = testTopicNames('service-main');
    const kafka = {
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_TRACK: topics.track,
      KAFKA_TOPIC_TRANSACTIONAL: topics.transactional,
      KAFKA_TOPIC_PREDICTIONS: topics.predictions,
      KAFKA_TOPIC_REPORTING: topics.reporting,
      KAFKA_TOPIC_QUARANTINE: topics.quarantine,
      KAFKA_TOPIC_PREDICTIONS_DLQ: topics.predictionsDlq,
    };
    envs = {
      producer: { ...kafka, INGEST_API_TOKENS: 'service-main-test-token' },
      'webhook-handler': { ...kafka, CIO_WEBHOOK_SIGNING_KEYS: 'service-main-test-signing-key' },
      'insights-processor': {
        ...kafka,
        DATABASE_URL: schema.databaseUrl,
        INSIGHTS_API_TOKENS: 'service-main-test-token',
        KAFKA_GROUP_ID: `${topics.predictions}.group`,
      },
    };
  });

  afterAll(async () => {
    await schema?.drop();
  });

  it.each(SERVICES)('%s gets ready, and on SIGTERM stops what it started and exits 0', async (name) => {
    const service = await spawnService(name, envs[name]!);
    try {
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      const messages = service
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(messages).toEqual(expect.arrayContaining(['stopping', 'stopped']));
      expect(messages.indexOf('stopped')).toBeGreaterThan(messages.indexOf('stopping'));
    } finally {
      await service.stop();
    }
  });
});
