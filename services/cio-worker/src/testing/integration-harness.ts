// Shared set-up of the worker's integration tests (not part of the build): topics of
// the test's own on the real broker, a Customer.io sandbox, a producer, and the
// worker in-process or as a real process (dist/main.js).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type Sandbox, startSandbox } from '@cio-bridge/cio-sandbox';
import { closeServer } from '@cio-bridge/http';
import type { TopicNames } from '@cio-bridge/kafka';
import {
  createTestTopics,
  readMessages,
  testKafka,
  testKafkaBrokers,
  testLogger,
  testTopicNames,
  uniqueName,
  waitFor,
} from '@cio-bridge/testkit';
import type { Redis } from 'ioredis';
import type { IHeaders, Kafka, Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import type { WorkerTuning } from '../settings';
import { createWorker, type Worker, workerConsumer, workerProducer } from '../worker';

export const credentials = { apiKey: 'it-track-key', appApiKey: 'it-app-key' };

/** Retries fast enough for tests; as many attempts as it takes to outlast the sandbox's faults. */
export const fastRetries: Partial<WorkerTuning> = {
  retryBaseMs: 50,
  retryMaxMs: 500,
  maxAttempts: 200,
  authProbeMinMs: 100,
  authProbeMaxMs: 500,
  commitIntervalMs: 200,
  shutdownTimeoutMs: 5_000,
};

export interface OutgoingTestMessage {
  key: string | null;
  value: string | Buffer;
  headers?: IHeaders;
}

export interface Harness {
  kafka: Kafka;
  topics: TopicNames;
  groupId: string;
  /** a site id of this harness's own (the shared rate-limit key in Redis includes it) */
  siteId: string;
  sandbox: Sandbox;
  producer: Producer;
  /** the sandbox's admin API */
  admin<T>(path: string, init?: { method: string; body?: unknown }): Promise<T>;
  produce(topic: string, messages: OutgoingTestMessage[]): Promise<void>;
  /** produces one message; returns where it landed */
  produceOne(topic: string, message: OutgoingTestMessage): Promise<{ partition: number; offset: string }>;
  startWorker(options?: {
    tuning?: Partial<WorkerTuning>;
    rps?: number;
    redis?: Redis;
    apiKey?: string;
    registry?: Registry;
    /** CIO_REGION as configured (the sandbox's account is in `us`) */
    region?: 'us' | 'eu';
    /** the Track API base URL (default: the sandbox's) */
    trackUrl?: string;
  }): Promise<Worker>;
  deadLetters(options?: {
    count?: number;
    timeoutMs?: number;
    settleMs?: number;
  }): ReturnType<typeof readMessages>;
  close(): Promise<void>;
}

export interface SandboxOperation {
  id: string | null;
  action: string;
  identifiers: Record<string, string>;
  name?: string;
  payload: Record<string, unknown>;
  received_at: string;
  via: string;
}

export interface SandboxCounters {
  requests: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  unauthorized: number;
  rate_limited: number;
  faults_injected: number;
}

export async function createHarness(
  prefix: string,
  sandboxOptions: { rateLimitRps?: number } = {},
): Promise<Harness> {
  const kafka = await testKafka(prefix);
  const topics = testTopicNames(prefix);
  await createTestTopics(kafka, topics);
  const siteId = uniqueName('site');
  const sandbox = await startSandbox({ ...credentials, siteId, ...sandboxOptions });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const groupId = uniqueName(`${prefix}-worker`);
  const workers: Worker[] = [];
  const servers: HttpServer[] = [];

  const harness: Harness = {
    kafka,
    topics,
    groupId,
    siteId,
    sandbox,
    producer,
    async admin<T>(path: string, init?: { method: string; body?: unknown }) {
      const response = await fetch(`${sandbox.url}/_sandbox${path}`, {
        method: init?.method ?? 'GET',
        headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
        body: init?.body === undefined ? undefined : JSON.stringify(init.body),
      });
      if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
    async produce(topic, messages) {
      for (let i = 0; i < messages.length; i += 500) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
      }
    },
    async produceOne(topic, message) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [message] });
      return { partition: meta!.partition, offset: meta!.baseOffset! };
    },
    async startWorker(options = {}) {
      const tuning = { ...fastRetries, ...options.tuning };
      // As main.ts does: the Kafka clients and the HTTP server come from outside.
      const server = createHttpServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      servers.push(server);
      const worker = createWorker({
        kafka,
        consumer: workerConsumer(kafka, groupId, tuning),
        producer: workerProducer(kafka),
        server,
        topics,
        groupId,
        customerio: {
          trackUrl: options.trackUrl ?? sandbox.url,
          appUrl: sandbox.url,
          siteId,
          apiKey: options.apiKey ?? credentials.apiKey,
          appApiKey: credentials.appApiKey,
          region: options.region,
        },
        rateLimitRps: options.rps ?? 1_000,
        logger: testLogger('cio-worker'),
        registry: options.registry ?? new Registry(),
        redis: options.redis,
        tuning,
      });
      workers.push(worker);
      await worker.start();
      return worker;
    },
    deadLetters({ count = 1, timeoutMs = 3_000, settleMs = 0 } = {}) {
      return readMessages(kafka, topics.dlq, { count, timeoutMs, settleMs });
    },
    async close() {
      await Promise.allSettled(workers.map((worker) => worker.stop()));
      await Promise.allSettled(servers.map((server) => closeServer(server)));
      await producer.disconnect();
      await sandbox.close();
    },
  };
  return harness;
}

/** Waits until the sandbox accepted operations with all of `ids`; returns the operations. */
export async function waitForOperations(
  harness: Harness,
  ids: Iterable<string>,
  timeoutMs = 30_000,
): Promise<SandboxOperation[]> {
  const wanted = new Set(ids);
  let operations: SandboxOperation[] = [];
  await waitFor(
    async () => {
      operations = await harness.admin<SandboxOperation[]>('/operations');
      const seen = new Set(operations.map((op) => op.id));
      return [...wanted].every((id) => seen.has(id));
    },
    { timeoutMs, intervalMs: 250, what: `${wanted.size} operations at the sandbox` },
  );
  return operations;
}

/** A free TCP port for a worker process. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const repoRoot = join(__dirname, '..', '..', '..', '..');

/** Builds dist/main.js (turbo caches it when nothing changed). */
export function buildWorker(): void {
  execFileSync(
    'bash',
    [
      'scripts/with-node.sh',
      'turbo',
      'run',
      'build',
      '--filter=@cio-bridge/cio-worker',
      '--output-logs=errors-only',
    ],
    { cwd: repoRoot, stdio: 'ignore' },
  );
}

export interface WorkerProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
  /** what the process wrote to stderr so far (also passed through to the test's stderr) */
  stderr(): string;
}

/** Starts services/cio-worker/dist/main.js against the harness, configured only by environment variables. */
export async function spawnWorker(
  harness: Harness,
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'services/cio-worker/dist/main.js')], {
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_TRACK: harness.topics.track,
      KAFKA_TOPIC_TRANSACTIONAL: harness.topics.transactional,
      KAFKA_TOPIC_DLQ: harness.topics.dlq,
      KAFKA_GROUP_ID: harness.groupId,
      CIO_SITE_ID: harness.siteId,
      CIO_API_KEY: credentials.apiKey,
      CIO_APP_API_KEY: credentials.appApiKey,
      CIO_TRACK_URL: harness.sandbox.url,
      CIO_APP_URL: harness.sandbox.url,
      PORT: String(port),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      WORKER_RETRY_BASE_MS: '50',
      WORKER_RETRY_MAX_MS: '500',
      ...env,
    },
    stdio: ['ignore', process.env.TEST_LOG_LEVEL ? 'inherit' : 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}`);
        return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok;
      },
      { timeoutMs: 60_000, what: 'the worker process to be ready' },
    );
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return { child, port, exited, stderr: () => stderr };
}
