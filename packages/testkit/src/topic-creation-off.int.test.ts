import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTopics, MissingTopicsError, TOPICS, type TopicKey, topicSpecs } from '@cio-bridge/kafka';
import type { Admin, Kafka } from 'kafkajs';
import { testKafkaBrokers } from './environment';
import { createTestTopics, testKafka, testTopicNames } from './topics';

const root = join(__dirname, '../../..');
const producerMain = join(root, 'services/producer/dist/main.js');

let kafka: Kafka;
let admin: Admin;
beforeAll(async () => {
  kafka = await testKafka();
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  await admin.disconnect();
});

describe('KAFKA_CREATE_TOPICS=false (real broker)', () => {
  it('names every missing topic and creates none', async () => {
    const names = testTopicNames('nocreate');
    const specs = topicSpecs(names, ['track', 'transactional']);
    const failure = await ensureTopics(admin, specs, { create: false }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MissingTopicsError);
    expect((failure as MissingTopicsError).topics).toEqual([names.track, names.transactional]);
    const existing = await admin.listTopics();
    expect(existing).not.toContain(names.track);
    expect(existing).not.toContain(names.transactional);
  });

  it('passes once the topics are provisioned, creating nothing', async () => {
    const names = testTopicNames('provisioned');
    await createTestTopics(kafka, names, Object.keys(TOPICS) as TopicKey[]);
    expect(await ensureTopics(admin, topicSpecs(names), { create: false })).toEqual([]);
  });

  it('a service refuses to start, with one line naming the missing topics', async () => {
    expect(existsSync(producerMain)).toBe(true); // built by `npm test` before integration tests
    const names = testTopicNames('refuse');
    const result = spawnSync(process.execPath, [producerMain], {
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
        KAFKA_CREATE_TOPICS: 'false',
        KAFKA_TOPIC_TRACK: names.track,
        KAFKA_TOPIC_TRANSACTIONAL: names.transactional,
        INGEST_API_TOKENS: 'test-token-0123456789abcdef',
        PORT: '38081',
        LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('KAFKA_CREATE_TOPICS=false');
    expect(lines[0]).toContain(names.track);
    expect(lines[0]).toContain(names.transactional);
    expect(await admin.listTopics()).not.toContain(names.track);
  });
});
