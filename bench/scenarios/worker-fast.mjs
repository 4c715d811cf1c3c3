// cio-worker throughput: operations/s delivered to the Customer.io sandbox without
// added latency, the worker and the sandbox each a real process. The track topic is
// filled once with 200,000 seed-shaped operations over 20,000 people; each repeat
// reads it from the beginning with a consumer group of its own, against a reset
// sandbox. Each repeat measures both outputs (CIO_API=track, then CIO_API=pipelines).
// Baseline, in the same run: a bare kafkajs consumer (the worker's fetch settings) that
// merely reads the same messages.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { median, sleep, startService } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const { seedExamples } = require('@cio-bridge/schemas');

export const OPERATIONS = 200_000;
export const PEOPLE = 20_000;
export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const credentials = {
  CIO_SITE_ID: 'bench-site',
  CIO_API_KEY: 'bench-key',
  CIO_APP_API_KEY: 'bench-app-key',
  CIO_PIPELINES_API_KEY: 'bench-pipelines-key',
};
const WARM_UP = 10_000;
/**
 * The sandbox as the worker scenarios run it: counting everything but listing only the
 * last 1,000 records. Keeping 100,000 (its default) makes its own GC pauses long enough
 * to bunch evenly paced requests at its rate limiter; Customer.io's edge keeps nothing.
 */
export const sandboxEnv = (port, extra = {}) => ({
  PORT: String(port),
  SANDBOX_MAX_RECORDS: '1000',
  ...credentials,
  ...extra,
});

/** CPU seconds (user + system) a process used so far; Linux only. */
export function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export const kafkaClient = (clientId) => new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });

/** Topics of this run's own (the catalog's partition counts), filled with `count` seed events. */
export async function prepareTopics(kafka, prefix, count, log) {
  const run = `${prefix}-${Date.now().toString(36)}`;
  const topics = { track: `${run}.track`, transactional: `${run}.transactional`, dlq: `${run}.dlq` };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.track, numPartitions: 12 },
      { topic: topics.transactional, numPartitions: 6 },
      { topic: topics.dlq, numPartitions: 3 },
    ],
  });
  await admin.disconnect();
  const seeds = Object.values(seedExamples());
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const started = performance.now();
  for (let start = 0; start < count; start += 5_000) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 5_000); i++) {
      const person = `user-${i % PEOPLE}`;
      const seed = seeds[i % seeds.length];
      const op = { ...seed, id: `01J${String(i).padStart(23, '0')}`, identifiers: { id: person } };
      messages.push({ key: person, value: JSON.stringify(op) });
    }
    await producer.send({ topic: topics.track, acks: -1, messages });
  }
  await producer.disconnect();
  log(
    `filled ${topics.track} with ${count.toLocaleString('en-US')} operations in ${Math.round(performance.now() - started)} ms`,
  );
  return { run, topics };
}

/** The worker's variables for an output: CIO_API=pipelines against the sandbox's Pipelines API. */
export const outputEnv = (api, sandboxUrl) =>
  api === 'pipelines'
    ? { CIO_API: 'pipelines', CIO_PIPELINES_URL: sandboxUrl, CIO_PIPELINES_API_KEY: 'bench-pipelines-key' }
    : { CIO_API: 'track' };

export const OUTPUTS = ['track', 'pipelines'];

export const workerEnv = (topics, sandboxUrl, port, groupId, extra = {}) => ({
  PORT: String(port),
  KAFKA_BROKERS: brokers.join(','),
  KAFKA_TOPIC_TRACK: topics.track,
  KAFKA_TOPIC_TRANSACTIONAL: topics.transactional,
  KAFKA_TOPIC_DLQ: topics.dlq,
  KAFKA_GROUP_ID: groupId,
  CIO_TRACK_URL: sandboxUrl,
  CIO_APP_URL: sandboxUrl,
  ...credentials,
  ...extra,
});

export async function sandboxAdmin(url, path, method = 'GET', body) {
  const response = await fetch(`${url}/_sandbox${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`sandbox ${method} ${path}: ${response.status}`);
  return response.json();
}

/**
 * Samples `progress()` (a cumulative count) every 100 ms: waits for `warmUp`, then
 * measures for `durationMs` or until `total` is reached. Returns { rate, from, to, seconds }.
 */
export async function measure(progress, { warmUp, durationMs, total, timeoutMs = 120_000, onStart }) {
  const deadline = Date.now() + timeoutMs;
  let value = await progress();
  while (value < Math.min(warmUp, total)) {
    if (Date.now() > deadline) throw new Error(`no progress past ${value} (warm-up ${warmUp})`);
    await sleep(100);
    value = await progress();
  }
  const start = { value, at: performance.now() };
  onStart?.();
  let end = start;
  while (end.at - start.at < durationMs && end.value < total) {
    if (Date.now() > deadline) throw new Error(`stalled at ${end.value} of ${total}`);
    await sleep(100);
    end = { value: await progress(), at: performance.now() };
  }
  const seconds = (end.at - start.at) / 1000;
  return { rate: (end.value - start.value) / seconds, from: start.value, to: end.value, seconds };
}

/** A bare kafkajs consumer with the worker's default fetch settings, only counting messages. */
async function bareConsumerRate(kafka, topic, durationMs) {
  const consumer = kafka.consumer({
    groupId: `bench-bare-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytes: 512 * 1024,
    maxBytesPerPartition: 64 * 1024,
    maxWaitTimeInMs: 250,
  });
  let read = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      read += batch.messages.length;
    },
  });
  try {
    return await measure(async () => read, { warmUp: WARM_UP, durationMs, total: OPERATIONS });
  } finally {
    await consumer.disconnect();
  }
}

const ports = { sandbox: 18290, worker: 18284 };

export default async function run({ durationMs, repeats, log }) {
  const kafka = kafkaClient('bench-worker-fast');
  const { run: runId, topics } = await prepareTopics(kafka, 'bench-worker-fast', OPERATIONS, log);
  const sandboxUrl = `http://127.0.0.1:${ports.sandbox}`;
  const sandbox = await startService('cio-sandbox', sandboxEnv(ports.sandbox), {
    readyUrl: `${sandboxUrl}/readyz`,
  });
  const figures = Object.fromEntries(OUTPUTS.map((api) => [api, { rates: [], rss: [], cpuPerOp: [] }]));
  const baselines = [];
  try {
    for (let r = 0; r < repeats; r++) {
      for (const api of OUTPUTS) {
        const out = figures[api];
        await sandboxAdmin(sandboxUrl, '/reset', 'POST');
        const worker = await startService(
          'cio-worker',
          workerEnv(topics, sandboxUrl, ports.worker, `${runId}-worker-${api}-${r}`, {
            CIO_RATE_LIMIT_RPS: '1000',
            ...outputEnv(api, sandboxUrl),
          }),
          { readyUrl: `http://127.0.0.1:${ports.worker}/readyz` },
        );
        try {
          const delivered = async () => {
            const counters = await sandboxAdmin(sandboxUrl, '/counters');
            return counters.accepted + counters.duplicates;
          };
          let cpuAtStart = 0;
          const result = await measure(delivered, {
            warmUp: WARM_UP,
            durationMs,
            total: OPERATIONS,
            onStart: () => {
              cpuAtStart = cpuSeconds(worker.pid);
            },
          });
          out.cpuPerOp.push(((cpuSeconds(worker.pid) - cpuAtStart) / (result.to - result.from)) * 1e6);
          out.rates.push(result.rate);
          out.rss.push(worker.peakRssMb());
          log(
            `worker-fast repeat ${r + 1} (CIO_API=${api}): ${Math.round(result.rate)} ops/s over ${result.seconds.toFixed(1)} s`,
          );
        } finally {
          await worker.stop();
        }
      }
      const baseline = await bareConsumerRate(kafka, topics.track, durationMs);
      baselines.push(baseline.rate);
      log(`worker-fast repeat ${r + 1}: bare consumer ${Math.round(baseline.rate)} messages/s`);
    }
  } finally {
    await sandbox.stop();
  }
  const baseline = median(baselines);
  return OUTPUTS.flatMap((api) => {
    const { rates, rss, cpuPerOp } = figures[api];
    const value = median(rates);
    const peak = Math.max(...rss);
    // The Track API figures keep their names; the Pipelines ones say so.
    const suffix = api === 'track' ? '' : ' (Pipelines API)';
    return [
      {
        figure: `operations/s delivered to the sandbox (no added latency)${suffix}`,
        value: Math.round(value),
        unit: 'ops/s',
        baseline: Math.round(baseline),
        baselineName: 'bare kafkajs consumer only reading',
        goal: '>= 20,000 and >= 0.5 x baseline',
        met: value >= 20_000 && value >= 0.5 * baseline,
      },
      {
        figure: `cio-worker CPU time per operation delivered${suffix}`,
        value: Math.round(median(cpuPerOp)),
        unit: 'µs/op',
        baseline: null,
        goal: null,
      },
      {
        figure: `cio-worker peak RSS (no added latency)${suffix}`,
        value: peak,
        unit: 'MB',
        baseline: null,
        goal: '< 300',
        met: peak < 300,
      },
    ];
  });
}
