// Shared set-up of cio-dlq's integration tests (not part of the build): topics of
// the test's own on the real broker, a Customer.io sandbox, and the real cio-worker
// in-process, so that dead letters come from the worker's own failure path.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type Sandbox, startSandbox } from '@cio-bridge/cio-sandbox';
import { createWorker, type Worker } from '@cio-bridge/cio-worker';
import type { TopicNames } from '@cio-bridge/kafka';
import {
  createTestTopics,
  testKafka,
  testKafkaBrokers,
  testLogger,
  testTopicNames,
  uniqueName,
  waitFor,
} from '@cio-bridge/testkit';
import { type IHeaders, type Kafka, Partitioners, type Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { runCli } from '../cli';
import type { CliDeps } from '../context';
import { type RawMessage, TopicReader } from '../kafka/topic-reader';
import type { OutputStream } from '../output';

/** A ULID, as the producer assigns to every operation. */
export { ulid } from 'ulid';

export class Capture implements OutputStream {
  text = '';
  constructor(public isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  once(): this {
    return this;
  }
  // cli-progress draws with these when it believes it is on a terminal.
  cursorTo(): boolean {
    return true;
  }
  clearLine(): boolean {
    return true;
  }
  moveCursor(): boolean {
    return true;
  }
  columns = 200;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SandboxOperation {
  id: string | null;
  action: string;
  identifiers: Record<string, string>;
  name?: string;
  payload: Record<string, unknown>;
}

export interface Harness {
  kafka: Kafka;
  names: TopicNames;
  sandbox: Sandbox;
  worker: Worker;
  reader: TopicReader;
  /** the environment the CLI runs with (brokers, dead-letter topic, operator) */
  env: Record<string, string>;
  cli(args: string[], deps?: Partial<CliDeps> & { terminal?: boolean }): Promise<CliResult>;
  /** produces to the track topic; returns where each message landed */
  produce(
    messages: Array<{ key: string; value: unknown; headers?: IHeaders }>,
  ): Promise<Array<{ partition: number; offset: string }>>;
  /** sets injected faults on the sandbox (null clears them) */
  faults(spec: { status: number; rate?: number } | null): Promise<void>;
  operations(person?: string): Promise<SandboxOperation[]>;
  /** waits until the topic holds `count` messages in all */
  waitForCount(topic: string, count: number, what: string): Promise<void>;
  /** total messages in a topic (0 when it does not exist) */
  count(topic: string): Promise<number>;
  endOffsets(topic: string): Promise<Record<number, string>>;
  readAll(topic: string): Promise<RawMessage[]>;
  close(): Promise<void>;
}

export const credentials = { siteId: 'dlq-site', apiKey: 'dlq-track-key', appApiKey: 'dlq-app-key' };

export async function startHarness(prefix: string): Promise<Harness> {
  const kafka = await testKafka(prefix);
  const names = testTopicNames(prefix);
  await createTestTopics(kafka, names);
  const sandbox = await startSandbox({ port: 0, ...credentials });
  const worker = createWorker({
    kafka,
    topics: names,
    groupId: uniqueName(`${prefix}-worker`),
    customerio: { trackUrl: sandbox.url, appUrl: sandbox.url, ...credentials },
    rateLimitRps: 10_000,
    logger: testLogger('cio-worker'),
    registry: new Registry(),
    tuning: {
      maxAttempts: 2,
      retryBaseMs: 20,
      retryMaxMs: 100,
      commitIntervalMs: 200,
      authProbeMinMs: 100,
      authProbeMaxMs: 500,
      shutdownTimeoutMs: 5_000,
      // The tests make Customer.io answer 400 to everything to fill the dead-letter topic;
      // the worker would take that for an endpoint fault (and dead-letter nothing).
      endpointFaultPeople: 1_000,
      endpointVerdictMs: 50,
    },
  });
  await worker.start();
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const reader = new TopicReader(kafka);
  const brokers = await testKafkaBrokers();
  const env = {
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_TOPIC_DLQ: names.dlq,
    CIO_DLQ_OPERATOR: 'sre-on-call@test',
  };

  const admin = async (path: string, init?: { method: string; body?: unknown }) => {
    const response = await fetch(`${sandbox.url}/_sandbox${path}`, {
      method: init?.method ?? 'GET',
      headers: init?.body === undefined ? {} : { 'content-type': 'application/json' },
      body: init?.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? undefined : response.json();
  };

  const count = async (topic: string) => {
    if (!(await reader.exists(topic))) return 0;
    const ranges = await reader.ranges(topic);
    return ranges.reduce((sum, r) => sum + Number(BigInt(r.high) - BigInt(r.low)), 0);
  };

  return {
    kafka,
    names,
    sandbox,
    worker,
    reader,
    env,
    async cli(args, deps = {}) {
      const stdout = new Capture(deps.terminal === true);
      const stderr = new Capture(deps.terminal === true);
      const code = await runCli(args, {
        env,
        stdout,
        stderr,
        stdin: deps.terminal ? Object.assign(new PassThrough(), { isTTY: true }) : undefined,
        ...deps,
      });
      return { code, stdout: stdout.text, stderr: stderr.text };
    },
    async produce(messages) {
      const results = [];
      for (const m of messages) {
        const [meta] = await producer.send({
          topic: names.track,
          acks: -1,
          messages: [
            {
              key: m.key,
              value: typeof m.value === 'string' ? m.value : JSON.stringify(m.value),
              headers: m.headers,
            },
          ],
        });
        results.push({ partition: meta!.partition, offset: meta!.baseOffset! });
      }
      return results;
    },
    async faults(spec) {
      if (spec === null) await admin('/faults', { method: 'DELETE' });
      else await admin('/faults', { method: 'PUT', body: spec });
    },
    async operations(person) {
      const query = person === undefined ? '' : `?person=${encodeURIComponent(person)}`;
      return (await admin(`/operations${query}`)) as SandboxOperation[];
    },
    async waitForCount(topic, wanted, what) {
      await waitFor(async () => (await count(topic)) >= wanted, { timeoutMs: 30_000, what });
      // exactly: more would mean duplicates the test did not expect
      expect(await count(topic)).toBe(wanted);
    },
    count,
    async endOffsets(topic) {
      return Object.fromEntries((await reader.ranges(topic)).map((r) => [r.partition, r.high]));
    },
    async readAll(topic) {
      const all: RawMessage[] = [];
      for await (const message of reader.read(topic)) all.push(message);
      return all;
    },
    async close() {
      await worker.stop();
      await producer.disconnect();
      await reader.close();
      await sandbox.close();
    },
  };
}

const repoRoot = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'turbo.json'))) dir = dirname(dir);
  return dir;
})();

/** The built CLI (bin/cio-dlq.js runs dist/main.js); builds it first (turbo caches an unchanged build). */
export function buildCli(): string {
  execFileSync(
    'bash',
    [
      'scripts/with-node.sh',
      'turbo',
      'run',
      'build',
      '--filter=@cio-bridge/cio-dlq',
      '--output-logs=errors-only',
    ],
    { cwd: repoRoot, stdio: 'ignore' },
  );
  return join(repoRoot, 'services/cio-dlq/bin/cio-dlq.js');
}
