import { createConsumer, ensureTopics, Publisher, TOPICS, topicSpecs } from '@cio-bridge/kafka';
import type { Kafka } from 'kafkajs';
import { readMessages } from './read-messages';
import { createTestTopics, testKafka, testTopicNames, uniqueName } from './topics';

let kafka: Kafka;
beforeAll(async () => {
  kafka = await testKafka();
});

async function publish(topic: string, values: string[]) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await new Publisher({ producer }).publish(
      topic,
      values.map((value) => ({ key: 'person-1', value })),
    );
  } finally {
    await producer.disconnect();
  }
}

/** Consumes with `groupId` until `n` messages, committing (or not) as it goes; returns the values. */
async function consumeN(topic: string, groupId: string, n: number, { commit }: { commit: boolean }) {
  const consumer = createConsumer(kafka, { groupId });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (seen.length >= n) return;
        seen.push(String(message.value));
        if (commit)
          await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
        if (seen.length === n) resolve();
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

describe('Kafka foundation (real broker)', () => {
  it('round-trips messages in order through a consumer group', async () => {
    const names = testTopicNames('roundtrip');
    await createTestTopics(kafka, names);
    const values = Array.from({ length: 20 }, (_, i) => `m${i}`);
    await publish(names.track, values);
    const messages = await readMessages(kafka, names.track, { count: 20 });
    expect(messages.map((m) => String(m.value))).toEqual(values);
    expect(new Set(messages.map((m) => String(m.key)))).toEqual(new Set(['person-1']));
  });

  it('resumes after the last committed offset, and redelivers what was not committed', async () => {
    const topic = uniqueName('commits');
    await ensureTopics(await connectedAdmin(), [{ name: topic, partitions: 1, retentionMs: 60_000 }]);
    await publish(topic, ['a', 'b', 'c', 'd', 'e', 'f']);
    const group = uniqueName('group');

    expect(await consumeN(topic, group, 2, { commit: true })).toEqual(['a', 'b']);
    // This consumer reads c and d but "dies" before committing.
    expect(await consumeN(topic, group, 2, { commit: false })).toEqual(['c', 'd']);
    // The next one gets c and d again, then the rest.
    expect(await consumeN(topic, group, 4, { commit: true })).toEqual(['c', 'd', 'e', 'f']);
  });

  it('creates topics idempotently, with the catalog partition counts and retention', async () => {
    const names = testTopicNames('idem');
    const admin = await connectedAdmin();
    const specs = topicSpecs(names);
    // Two services starting at once both try to create the same topics.
    const [first, second] = await Promise.all([ensureTopics(admin, specs), ensureTopics(admin, specs)]);
    expect(new Set([...first, ...second])).toEqual(new Set(Object.values(names)));
    expect(await ensureTopics(admin, specs)).toEqual([]);
    const metadata = await admin.fetchTopicMetadata({ topics: [names.track] });
    expect(metadata.topics[0]!.partitions).toHaveLength(TOPICS.track.partitions);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: names.dlq, configNames: ['retention.ms'] }],
    });
    expect(configs.resources[0]!.configEntries[0]!.configValue).toBe(String(TOPICS.dlq.retentionMs));
    await admin.disconnect();
  });
});

async function connectedAdmin() {
  const admin = kafka.admin();
  await admin.connect();
  return admin;
}
