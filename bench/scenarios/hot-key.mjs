// cio-worker with one hot person: 20,000 operations queued for one person (a bot, a
// backfill) while Customer.io answers in 100 ms. The worker and the sandbox are real
// processes. Other people's operations are produced at a steady pace, one phase before
// the hot backlog (the same-run baseline: normal pacing) and one while it drains.
// Figures: the other people's delivery latency (produced -> accepted by the sandbox),
// p50 and p99, with and without the backlog, and the hot person's own ops/s.
import { createRequire } from 'node:module';
import { sleep, startService } from '../lib.mjs';
import { kafkaClient, sandboxAdmin, sandboxEnv, workerEnv } from './worker-fast.mjs';

const require = createRequire(import.meta.url);
const { Partitioners } = require('kafkajs');

const HOT_OPERATIONS = 20_000;
const PARTITIONS = 12;
const LATENCY_MS = 100;
const OTHER_PEOPLE = 300;
/** other people's operations per second during each phase */
const OTHERS_PER_SECOND = 50;
const ports = { sandbox: 18490, worker: 18484 };

/** The partition the producer's default partitioner picks for `key` (the worker pauses per partition). */
const partitioner = Partitioners.DefaultPartitioner();
const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
  partitionId,
  leader: 0,
}));
const partitionOf = (key) => partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });

const percentile = (sorted, p) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function createTopics(kafka) {
  const run = `bench-hot-key-${Date.now().toString(36)}`;
  const topics = { track: `${run}.track`, transactional: `${run}.transactional`, dlq: `${run}.dlq` };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.track, numPartitions: PARTITIONS },
      { topic: topics.transactional, numPartitions: 6 },
      { topic: topics.dlq, numPartitions: 3 },
    ],
  });
  await admin.disconnect();
  return { run, topics };
}

const operation = (id, person, data) => ({ name: 'bench_hot_key', id, identifiers: { id: person }, data });

/**
 * Produces other people's operations at a steady pace for `ms`; returns their ids with
 * the time each was produced, those of people on the hot person's partition apart.
 */
async function produceOthers(producer, topic, phase, ms) {
  const produced = new Map();
  const sharing = new Map();
  const hotPartition = partitionOf('hot-person');
  const started = Date.now();
  let n = 0;
  while (Date.now() - started < ms) {
    const due = Math.floor(((Date.now() - started) * OTHERS_PER_SECOND) / 1000);
    const messages = [];
    for (; n < due; n++) {
      const person = `other-${n % OTHER_PEOPLE}`;
      const id = `01J${phase}${String(n).padStart(22, '0')}`;
      (partitionOf(person) === hotPartition ? sharing : produced).set(id, Date.now());
      messages.push({ key: person, value: JSON.stringify(operation(id, person, { n })) });
    }
    if (messages.length > 0) await producer.send({ topic, acks: -1, messages });
    await sleep(20);
  }
  return { produced, sharing };
}

/** Waits until every id arrived (or `timeoutMs`); returns the delivery latencies in ms, sorted, and how many never came. */
async function latencies(url, produced, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const operations = await sandboxAdmin(url, '/operations');
    const arrived = new Map();
    for (const op of operations) if (produced.has(op.id)) arrived.set(op.id, Date.parse(op.received_at));
    if (arrived.size === produced.size || Date.now() > deadline) {
      const values = [...arrived].map(([id, at]) => at - produced.get(id)).sort((a, b) => a - b);
      return { sorted: values, missing: produced.size - arrived.size };
    }
    await sleep(500);
  }
}

const hotDelivered = async (url) => (await sandboxAdmin(url, '/operations?person=hot-person')).length;

export default async function run({ durationMs, log }) {
  const phaseMs = Math.max(5_000, durationMs);
  const kafka = kafkaClient('bench-hot-key');
  const { run: runId, topics } = await createTopics(kafka);
  const url = `http://127.0.0.1:${ports.sandbox}`;
  const sandbox = await startService(
    'cio-sandbox',
    sandboxEnv(ports.sandbox, { SANDBOX_MAX_RECORDS: '200000' }),
    {
      readyUrl: `${url}/readyz`,
    },
  );
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let worker;
  try {
    await sandboxAdmin(url, '/reset', 'POST');
    await sandboxAdmin(url, '/faults', 'PUT', { latencyMs: LATENCY_MS });
    worker = await startService('cio-worker', workerEnv(topics, url, ports.worker, `${runId}-worker`), {
      readyUrl: `http://127.0.0.1:${ports.worker}/readyz`,
    });

    // Baseline: other people alone, the same pacing, the same latency.
    const quietPhase = await produceOthers(producer, topics.track, 'A', phaseMs);
    const quiet = await latencies(url, new Map([...quietPhase.produced, ...quietPhase.sharing]), 60_000);
    log(
      `hot-key: without a backlog p50 ${percentile(quiet.sorted, 50)} ms, p99 ${percentile(quiet.sorted, 99)} ms`,
    );

    for (let start = 0; start < HOT_OPERATIONS; start += 5_000) {
      const messages = [];
      for (let i = start; i < Math.min(HOT_OPERATIONS, start + 5_000); i++) {
        const id = `01JH${String(i).padStart(22, '0')}`;
        messages.push({ key: 'hot-person', value: JSON.stringify(operation(id, 'hot-person', { i })) });
      }
      await producer.send({ topic: topics.track, acks: -1, messages });
    }
    // As in the trial that found the stall: other people come 8 s after the backlog.
    await sleep(8_000);
    const hotBefore = await hotDelivered(url);
    const t0 = performance.now();
    const busyPhase = await produceOthers(producer, topics.track, 'B', phaseMs);
    const busy = await latencies(url, busyPhase.produced, 30_000);
    const hotAfter = await hotDelivered(url);
    const sharers = await latencies(url, busyPhase.sharing, 0);
    const hotRate = (hotAfter - hotBefore) / ((performance.now() - t0) / 1000);
    const p50 = percentile(busy.sorted, 50);
    const p99 = percentile(busy.sorted, 99);
    log(
      `hot-key: with the backlog p50 ${p50} ms, p99 ${p99} ms, ${busy.missing} missing; ` +
        `${sharers.missing} of ${busyPhase.sharing.size} of the hot partition's other people waiting; hot person ${hotRate.toFixed(1)} ops/s`,
    );
    return [
      {
        figure: `other partitions' people: p50 delivery latency (20,000-op backlog for one person, ${LATENCY_MS} ms latency)`,
        value: busy.missing > 0 ? null : p50,
        unit: 'ms',
        baseline: percentile(quiet.sorted, 50),
        baselineName: 'same worker, no backlog',
        goal: '-',
      },
      {
        figure: "other partitions' people: p99 delivery latency (same)",
        value: busy.missing > 0 ? null : p99,
        unit: 'ms',
        baseline: percentile(quiet.sorted, 99),
        baselineName: 'same worker, no backlog',
        goal: '< 1,000',
        met: busy.missing === 0 && p99 < 1_000,
      },
      {
        figure: "people sharing the hot person's partition: operations still waiting after the phase",
        value: sharers.missing,
        unit: `of ${busyPhase.sharing.size}`,
        baseline: null,
        goal: '- (they wait behind it; more partitions spread people thinner)',
      },
      {
        figure: 'hot person: operations/s delivered (one request at a time)',
        value: Math.round(hotRate * 10) / 10,
        unit: 'ops/s',
        baseline: Math.round((1000 / LATENCY_MS) * 10) / 10,
        baselineName: 'one operation per round trip',
        goal: '-',
      },
    ];
  } finally {
    await worker?.stop();
    await producer.disconnect();
    await sandbox.stop();
  }
}
