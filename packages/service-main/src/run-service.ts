import type { Server } from 'node:http';
import { type KafkaEnv, kafkaClientOptions, loadConfig, runMain } from '@cio-bridge/config';
import { closeServer, listen } from '@cio-bridge/http';
import {
  createKafka,
  ensureTopics,
  onShutdown,
  type TopicKey,
  type TopicNames,
  type TopicSpec,
  topicNamesFromEnv,
  topicSpecs,
} from '@cio-bridge/kafka';
import { createLogger, type Logger } from '@cio-bridge/logger';
import { startTracing, type Tracing } from '@cio-bridge/tracing';
import type { Express } from 'express';
import type { Kafka } from 'kafkajs';
import type { z } from 'zod';

/** What every service's environment holds: the KAFKA_* variables, LOG_LEVEL and PORT. */
export type ServiceEnv = KafkaEnv & { LOG_LEVEL: string; PORT: number };

export interface ServiceSpec<Env extends ServiceEnv, Settings> {
  /**
   * Names the logger, the tracing service (`cio-bridge-<name>`) and the Kafka client
   * (`<KAFKA_CLIENT_ID>-<name>`).
   */
  name: string;
  /** The service's environment, validated once: a bad variable is one line and exit code 1. */
  env: z.ZodObject & z.ZodType<Env>;
  /**
   * Settings derived from the environment, checked before anything connects (so that
   * their ConfigError is the one line too, also while Kafka is down).
   */
  settings?: (env: Env) => Settings;
  /** The catalog's topics the service reads or writes: created, or only checked with KAFKA_CREATE_TOPICS=false. */
  topics: TopicKey[];
  /** Topics beyond the catalog's, such as an optional one the environment names. */
  moreTopics?: (env: Env) => TopicSpec[];
  /** How long stopping may take before the process exits with 1 (default: onShutdown's). */
  shutdownTimeoutMs?: (env: Env) => number;
}

export interface ServiceContext<Env extends ServiceEnv, Settings> {
  env: Env;
  settings: Settings;
  /** topic names by role (KAFKA_TOPIC_* or the catalog's) */
  topics: TopicNames;
  logger: Logger;
  tracing: Tracing;
  /** the service's client; its topics exist once the context is handed over */
  kafka: Kafka;
  /** Adds a step to stopping. Steps run last-added first: what started last stops first. */
  onStop(step: () => Promise<void>): void;
  /** Listens on PORT; on shutdown the server closes first (it was started last). */
  listen(app: Express): Promise<Server>;
}

export interface PreparedService<Env extends ServiceEnv, Settings> {
  context: ServiceContext<Env, Settings>;
  /** runs the stop steps, last-added first, and flushes tracing last */
  stop(): Promise<void>;
}

/**
 * Everything a service does before its own start: the environment, the logger, tracing,
 * the Kafka client and its topics. Exported for tests; services call `runService`.
 */
export async function prepareService<Env extends ServiceEnv, Settings = undefined>(
  spec: ServiceSpec<Env, Settings>,
  processEnv: NodeJS.ProcessEnv = process.env,
): Promise<PreparedService<Env, Settings>> {
  const env = loadConfig(spec.env, processEnv) as Env;
  const settings = spec.settings?.(env) as Settings;
  const topics = topicNamesFromEnv(processEnv);
  const logger = createLogger({ name: spec.name, level: env.LOG_LEVEL });
  const tracing = startTracing({ serviceName: `cio-bridge-${spec.name}`, env: processEnv });
  const kafka = createKafka(kafkaClientOptions(env, `${env.KAFKA_CLIENT_ID}-${spec.name}`), logger);

  const admin = kafka.admin();
  await admin.connect();
  try {
    const specs = [...topicSpecs(topics, spec.topics), ...(spec.moreTopics?.(env) ?? [])];
    await ensureTopics(admin, specs, { create: env.KAFKA_CREATE_TOPICS });
  } finally {
    await admin.disconnect();
  }

  // Tracing goes first, so it stops last and flushes the spans of everything else's stop.
  const steps: (() => Promise<void>)[] = [() => tracing.shutdown()];
  const onStop = (step: () => Promise<void>) => {
    steps.push(step);
  };
  const context: ServiceContext<Env, Settings> = {
    env,
    settings,
    topics,
    logger,
    tracing,
    kafka,
    onStop,
    async listen(app) {
      const server = await listen(app, env.PORT);
      onStop(() => closeServer(server));
      return server;
    },
  };
  const stop = async () => {
    for (const step of [...steps].reverse()) await step();
  };
  return { context, stop };
}

/**
 * A service's whole main: prepares it (see `prepareService`), traps SIGTERM and SIGINT,
 * then runs `start`. Signals are trapped before `start`, since connecting and joining a
 * consumer group can take a while; a signal then stops what has started so far. A
 * configuration error is one line on stderr, any start-up failure exit code 1.
 */
export function runService<Env extends ServiceEnv, Settings = undefined>(
  spec: ServiceSpec<Env, Settings>,
  start: (context: ServiceContext<Env, Settings>) => Promise<void>,
): void {
  runMain(async () => {
    const { context, stop } = await prepareService(spec);
    onShutdown(stop, { logger: context.logger, timeoutMs: spec.shutdownTimeoutMs?.(context.env) });
    await start(context);
  });
}
