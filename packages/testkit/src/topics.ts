import { randomBytes } from 'node:crypto';
import {
  createKafka,
  ensureTopics,
  TOPICS,
  type TopicKey,
  type TopicNames,
  topicSpecs,
} from '@cio-bridge/kafka';
import type { Kafka } from 'kafkajs';
import { testKafkaBrokers } from './environment';
import { testLogger } from './logger';

/** A name no other test run uses: `prefix-<time>-<random>`. */
export const uniqueName = (prefix: string): string =>
  `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** The design's topics under names of this test's own. */
export function testTopicNames(prefix = 'test'): TopicNames {
  const run = uniqueName(prefix);
  return {
    track: `${run}.track`,
    transactional: `${run}.transactional`,
    dlq: `${run}.dlq`,
    predictions: `${run}.predictions`,
    reporting: `${run}.reporting`,
    quarantine: `${run}.webhooks.quarantine`,
    predictionsDlq: `${run}.predictions.dlq`,
    replies: `${run}.replies`,
  };
}

export async function testKafka(clientId = 'test'): Promise<Kafka> {
  return createKafka({ brokers: await testKafkaBrokers(), clientId }, testLogger());
}

/**
 * The catalog's topics a test gets unless it asks: all but the replies topic, whose 32
 * partitions only the tests of waiting callers need (the producer creates it when it starts).
 */
const DEFAULT_TEST_TOPICS = (Object.keys(TOPICS) as TopicKey[]).filter((key) => key !== 'replies');

/** Creates the catalog's topics under the given names, with the catalog's partition counts. */
export async function createTestTopics(
  kafka: Kafka,
  names: TopicNames,
  keys: TopicKey[] = DEFAULT_TEST_TOPICS,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicSpecs(names, keys));
  } finally {
    await admin.disconnect();
  }
}
