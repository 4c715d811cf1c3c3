import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TopicSpec {
  name: string;
  partitions: number;
  retentionMs: number;
  /** the topic's max.message.bytes; absent: the broker's default */
  maxMessageBytes?: number;
}

/** Kafka's default message.max.bytes (what topics without their own setting allow). */
export const BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/**
 * Room for the failure headers a dead letter adds to its message (about 1.3 KB with a
 * full error message) and a replay's own, many times over.
 */
const DLQ_HEADROOM_BYTES = 64 * 1024;

/** The topics of the design, declared once. The key of every message is the person. */
export const TOPICS = {
  track: { name: 'customerio.track', partitions: 12, retentionMs: 7 * DAY_MS },
  transactional: { name: 'customerio.transactional', partitions: 6, retentionMs: 7 * DAY_MS },
  // A dead letter is its message plus failure headers: the topic must take at least what
  // customerio.track (the broker's default) and customerio.transactional take, and more.
  dlq: {
    name: 'customerio.dlq',
    partitions: 3,
    retentionMs: 30 * DAY_MS,
    maxMessageBytes: BROKER_DEFAULT_MAX_MESSAGE_BYTES + DLQ_HEADROOM_BYTES,
  },
  predictions: { name: 'customerio.predictions', partitions: 6, retentionMs: 7 * DAY_MS },
  reporting: { name: 'customerio.reporting', partitions: 6, retentionMs: 14 * DAY_MS },
  /** signed webhooks that failed validation, as received (key: the webhook id) */
  quarantine: { name: 'customerio.webhooks.quarantine', partitions: 3, retentionMs: 30 * DAY_MS },
  /** predictions the database rejected, with the error in headers (key: the user id) */
  predictionsDlq: { name: 'customerio.predictions.dlq', partitions: 3, retentionMs: 30 * DAY_MS },
  /**
   * answers to callers waiting for an outcome (key: the operation id); each producer
   * instance owns one partition, so the partition count bounds the instances that can
   * wait. A reply matters for seconds: an hour of retention is plenty.
   */
  replies: { name: 'customerio.replies', partitions: 32, retentionMs: 60 * 60 * 1000 },
} as const satisfies Record<string, TopicSpec>;

export type TopicKey = keyof typeof TOPICS;
/** Topic names by role; services take these so tests can give each run its own topics. */
export type TopicNames = Record<TopicKey, string>;

export const defaultTopicNames: TopicNames = {
  track: TOPICS.track.name,
  transactional: TOPICS.transactional.name,
  dlq: TOPICS.dlq.name,
  predictions: TOPICS.predictions.name,
  reporting: TOPICS.reporting.name,
  quarantine: TOPICS.quarantine.name,
  predictionsDlq: TOPICS.predictionsDlq.name,
  replies: TOPICS.replies.name,
};

/** The catalog's specs under the given names (partitions and retention stay as declared). */
export function topicSpecs(
  names: TopicNames = defaultTopicNames,
  keys = Object.keys(TOPICS) as TopicKey[],
): TopicSpec[] {
  return keys.map((key) => ({ ...TOPICS[key], name: names[key] }));
}

export interface EnsureTopicsOptions {
  /**
   * Create missing topics (the default). With false (`KAFKA_CREATE_TOPICS=false`, for
   * clusters where services may not create topics) a missing topic is a start-up error.
   */
  create?: boolean;
  /** -1: the broker's default.replication.factor, so one setting serves one node and a cluster. */
  replicationFactor?: number;
}

/** Topics that must be provisioned before the service can start (topic creation is off). */
export class MissingTopicsError extends Error {
  constructor(readonly topics: string[]) {
    super(
      `KAFKA_CREATE_TOPICS=false and these topics do not exist: ${topics.join(', ')} ` +
        '(provision them first, see docs/production.md)',
    );
    this.name = 'MissingTopicsError';
  }
}

/**
 * Creates the topics that do not exist yet and waits until every partition of every
 * spec has a leader; returns the names it created. Safe to run concurrently: several
 * services starting together on a new cluster all return once the topics are usable.
 * With `create: false` it only verifies, and throws MissingTopicsError naming the missing ones.
 */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
  { create = true, replicationFactor = -1 }: EnsureTopicsOptions = {},
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.name));
  if (!create && missing.length > 0) throw new MissingTopicsError(missing.map((spec) => spec.name));
  let createError: unknown;
  if (missing.length > 0) {
    // A service starting at the same moment may create them first; kafkajs then fails
    // while waiting for leaders. The wait below decides; a real failure is reported.
    await admin
      .createTopics({
        waitForLeaders: true,
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor,
          configEntries: [
            { name: 'retention.ms', value: String(spec.retentionMs) },
            ...(spec.maxMessageBytes === undefined
              ? []
              : [{ name: 'max.message.bytes', value: String(spec.maxMessageBytes) }]),
          ],
        })),
      })
      .catch((error: unknown) => {
        createError = error;
      });
  }
  await waitForLeaders(
    admin,
    specs.map((spec) => spec.name),
  ).catch((error: unknown) => {
    throw createError ?? error;
  });
  return missing.map((spec) => spec.name);
}

async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      if (
        metadata.every((topic) => topic.partitions.length > 0 && topic.partitions.every((p) => p.leader >= 0))
      )
        return;
    } catch (error) {
      // Another service may have just created them: the broker needs a moment.
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline)
      throw new Error(`topics without a leader after ${timeoutMs} ms: ${topics.join(', ')}`);
    await sleep(200);
  }
}

const topicNamePattern = /^[a-zA-Z0-9._-]{1,249}$/;

/** `predictionsDlq` -> `KAFKA_TOPIC_PREDICTIONS_DLQ`. */
export const topicEnvVariable = (key: TopicKey): string =>
  `KAFKA_TOPIC_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;

/**
 * Topic names from `KAFKA_TOPIC_TRACK`, `KAFKA_TOPIC_DLQ`, `KAFKA_TOPIC_PREDICTIONS_DLQ`, ...
 * (the design's names by default), so one cluster can host several environments and
 * tests their own topics.
 */
export function topicNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TopicNames {
  const names = { ...defaultTopicNames };
  for (const key of Object.keys(TOPICS) as TopicKey[]) {
    const variable = topicEnvVariable(key);
    const value = env[variable];
    if (!value) continue;
    if (!topicNamePattern.test(value))
      throw new Error(`configuration error: ${variable} must be a Kafka topic name`);
    names[key] = value;
  }
  return names;
}
