import { ConfigError, integer, kafkaEnv, logLevel } from '@cio-bridge/config';
import { createHttpApp, createRegistry, finishHttpApp } from '@cio-bridge/http';
import { TOPICS, topicEnvVariable } from '@cio-bridge/kafka';
import { testKafka, testKafkaBrokers, testLogger, uniqueName } from '@cio-bridge/testkit';
import { z } from 'zod';
import { prepareService } from './run-service';

const serviceEnv = z.object({
  ...kafkaEnv,
  LOG_LEVEL: logLevel,
  PORT: integer(0, 65535).prefault('0'),
  EXTRA_TOPIC: z.string(),
});

async function listTopics(): Promise<string[]> {
  const admin = (await testKafka()).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

describe('prepareService (the shared start-up, against the real broker)', () => {
  let processEnv: NodeJS.ProcessEnv;
  let names: { track: string; dlq: string; extra: string };

  beforeEach(async () => {
    const run = uniqueName('service-main');
    names = { track: `${run}.track`, dlq: `${run}.dlq`, extra: `${run}.extra` };
    processEnv = {
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      LOG_LEVEL: 'silent',
      EXTRA_TOPIC: names.extra,
      [topicEnvVariable('track')]: names.track,
      [topicEnvVariable('dlq')]: names.dlq,
    };
  });

  it("creates the service's topics under the environment's names, and the extra ones", async () => {
    const { context, stop } = await prepareService(
      {
        name: 'test-service',
        env: serviceEnv,
        topics: ['track', 'dlq'],
        moreTopics: (env) => [{ name: env.EXTRA_TOPIC, partitions: 1, retentionMs: 60_000 }],
      },
      processEnv,
    );
    await stop();
    expect(context.topics.track).toBe(names.track);
    expect(await listTopics()).toEqual(expect.arrayContaining([names.track, names.dlq, names.extra]));
    const admin = context.kafka.admin();
    await admin.connect();
    const [track] = (await admin.fetchTopicMetadata({ topics: [names.track] })).topics;
    await admin.disconnect();
    expect(track?.partitions).toHaveLength(TOPICS.track.partitions);
  });

  it('stops what started last first: the server, then the steps in reverse order', async () => {
    const { context, stop } = await prepareService(
      { name: 'test-service', env: serviceEnv, topics: ['track'] },
      processEnv,
    );
    const stopped: string[] = [];
    context.onStop(async () => void stopped.push('producer'));
    context.onStop(async () => void stopped.push('consumer'));
    const app = finishHttpApp(createHttpApp({ logger: testLogger(), registry: createRegistry() }));
    const server = await context.listen(app);
    context.onStop(async () => void stopped.push(server.listening ? 'server open' : 'server closed'));
    expect(server.listening).toBe(true);

    await stop();
    expect(stopped).toEqual(['server open', 'consumer', 'producer']);
    expect(server.listening).toBe(false);
  });

  it('reports a bad variable and a bad setting before connecting to anything', async () => {
    // Nothing listens on port 1: reaching Kafka would fail differently, and slowly.
    const unreachable = { ...processEnv, KAFKA_BROKERS: '127.0.0.1:1' };
    const spec = { name: 'test-service', env: serviceEnv, topics: ['track' as const] };

    const badPort = prepareService(spec, { ...unreachable, PORT: 'eighty' });
    await expect(badPort).rejects.toBeInstanceOf(ConfigError);
    await expect(badPort).rejects.toMatchObject({ variable: 'PORT' });
    const settings = (env: z.infer<typeof serviceEnv>) => {
      if (!env.EXTRA_TOPIC.includes('.')) throw new ConfigError('EXTRA_TOPIC', 'must hold a dot');
      return env.EXTRA_TOPIC;
    };
    await expect(
      prepareService({ ...spec, settings }, { ...unreachable, EXTRA_TOPIC: 'plain' }),
    ).rejects.toThrow('configuration error: EXTRA_TOPIC must hold a dot');
  });

  it('hands the settings derived from the environment to the service', async () => {
    const { context, stop } = await prepareService(
      { name: 'test-service', env: serviceEnv, topics: ['track'], settings: (env) => env.EXTRA_TOPIC.length },
      processEnv,
    );
    await stop();
    expect(context.settings).toBe(names.extra.length);
  });
});
