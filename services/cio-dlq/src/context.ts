import { hostname, userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { type KafkaEnv, kafkaClientOptions, kafkaEnv, loadConfig } from '@cio-bridge/config';
import { createKafka, ensureTopics, Publisher, type TopicNames, topicNamesFromEnv } from '@cio-bridge/kafka';
import { createLogger, type Logger } from '@cio-bridge/logger';
import { type Admin, type Kafka, Partitioners, type Producer } from 'kafkajs';
import { z } from 'zod';
import { UsageError } from './errors';
import { TopicReader } from './kafka/topic-reader';
import type { OutputStream } from './output';
import { type Clock, systemClock } from './rate-limiter';
import { type StateTopics, stateTopicSpecs, stateTopicsFor } from './state';

/** What the CLI needs from the outside world; tests pass their own. */
export interface CliDeps {
  env: NodeJS.ProcessEnv;
  stdout: OutputStream;
  stderr: OutputStream;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** wall-clock time, ms */
  now?: () => number;
  /** the rate limiter's clock */
  clock?: Clock;
  /** asks a yes/no question on the terminal; default: readline on stdin/stderr */
  confirm?: (question: string) => Promise<boolean>;
  /**
   * Calls `handler` on Ctrl-C (SIGINT) until the returned function is called; main.ts
   * passes one, so a replay stops cleanly instead of dying mid-way.
   */
  onInterrupt?: (handler: () => void) => () => void;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const cliEnvSchema = z.object({
  ...kafkaEnv,
  KAFKA_CLIENT_ID: z.string().default('cio-dlq'),
  /** Kafka client logs on stderr (`debug` also prints stack traces) */
  CIO_DLQ_LOG_LEVEL: z
    .enum(logLevels, { message: `must be one of ${logLevels.join(', ')}` })
    .default('silent'),
  /** who runs the command, for audit records (default: `SUDO_USER` or the login name, `@` the host) */
  CIO_DLQ_OPERATOR: z.string().optional(),
});

export interface CliConfig {
  kafka: KafkaEnv;
  topics: TopicNames;
  logLevel: string;
  operator?: string;
}

/** The environment, validated; a bad variable is a UsageError naming it. */
export function loadCliConfig(env: NodeJS.ProcessEnv): CliConfig {
  const parsed = loadConfig(cliEnvSchema, env);
  let topics: TopicNames;
  try {
    topics = topicNamesFromEnv(env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const sudoUser = env.SUDO_USER ? `${env.SUDO_USER}@${hostname()}` : undefined;
  return {
    kafka: parsed,
    topics,
    logLevel: parsed.CIO_DLQ_LOG_LEVEL,
    operator: parsed.CIO_DLQ_OPERATOR ?? sudoUser,
  };
}

/**
 * The connections of one command, opened on first use and closed by `close()`.
 * A CLI should fail fast: connecting gives up after a 2 s timeout and two retries.
 */
export class Session {
  readonly kafka: Kafka;
  readonly logger: Logger;
  private reader?: TopicReader;
  private producer?: Producer;
  private publisherInstance?: Publisher;
  private adminClient?: Admin;

  constructor(
    readonly config: CliConfig,
    stderr: OutputStream,
  ) {
    this.logger = createLogger({
      name: 'cio-dlq',
      level: config.logLevel,
      destination: stderr as unknown as NodeJS.WritableStream,
    });
    this.kafka = createKafka(
      {
        ...kafkaClientOptions(config.kafka, config.kafka.KAFKA_CLIENT_ID),
        connectionTimeout: 2_000,
        retry: { initialRetryTime: 250, maxRetryTime: 2_000, retries: 2 },
      },
      this.logger,
    );
  }

  get brokers(): string {
    return this.config.kafka.KAFKA_BROKERS.join(',');
  }

  async topicReader(): Promise<TopicReader> {
    if (!this.reader) {
      const reader = new TopicReader(this.kafka);
      await reader.connect();
      this.reader = reader;
    }
    return this.reader;
  }

  async publisher(): Promise<Publisher> {
    if (!this.publisherInstance) {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      this.producer = producer;
      this.publisherInstance = new Publisher({ producer, timeoutMs: 30_000 });
    }
    return this.publisherInstance;
  }

  async admin(): Promise<Admin> {
    if (!this.adminClient) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.adminClient = admin;
    }
    return this.adminClient;
  }

  stateTopics(dlqTopic: string): StateTopics {
    return stateTopicsFor(dlqTopic);
  }

  /** Creates the state and audit topics if they are missing (only commands that write need them). */
  async ensureStateTopics(dlqTopic: string): Promise<StateTopics> {
    const topics = this.stateTopics(dlqTopic);
    await ensureTopics(await this.admin(), stateTopicSpecs(topics), {
      create: this.config.kafka.KAFKA_CREATE_TOPICS,
    });
    return topics;
  }

  /** Who is running this, for audit records. */
  operator(): string {
    if (this.config.operator) return this.config.operator;
    let user: string;
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
    return `${user}@${hostname()}`;
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.reader?.close(),
      this.producer?.disconnect(),
      this.adminClient?.disconnect(),
    ]);
  }
}

export const defaultClock = systemClock;

/** Asks on the terminal; anything but y/yes is a no. */
export async function terminalConfirm(
  stdin: NodeJS.ReadableStream,
  stderr: OutputStream,
  question: string,
): Promise<boolean> {
  const rl = createInterface({
    input: stdin,
    output: stderr as unknown as NodeJS.WritableStream,
    terminal: true,
  });
  // Ctrl-C at the question (the terminal is in raw mode, so it is no signal) means no.
  const abort = new AbortController();
  rl.once('SIGINT', () => abort.abort());
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: abort.signal });
    return /^(y|yes)$/i.test(answer.trim());
  } catch {
    stderr.write('\n');
    return false;
  } finally {
    rl.close();
  }
}
