// cio-worker within Customer.io's documented limits: the sandbox answers after 50 ms
// added latency and allows 1000 requests/s (429 above), the Track API's documented
// rate; the worker runs without CIO_RATE_LIMIT_RPS, so at its default (the documented
// rate of CIO_API); both real processes. Each repeat measures both outputs
// (CIO_API=track, then CIO_API=pipelines), in two phases:
// - throughput: operations/s delivered from a filled topic, requests/s sent and the 429s
//   the worker caused. Baseline: a naive consumer that sends one request per message
//   (kafkajs eachMessage + customerio-node TrackClient.entity, the shape of the
//   reference architecture's worker).
// - latency: a steady stream of STREAM_RATE operations/s produced while the worker
//   runs; per operation, the time from its Kafka timestamp to its outcome (from the
//   worker's delivery receipts, WORKER_RECEIPTS_TOPIC), p50 and p99, after a warm-up
//   of STREAM_WARM_UP_MS. Baseline: the
//   same stream sent straight to the sandbox, one request per operation as it is
//   produced (no Kafka, no pacing): the least any sender can do.
import { createRequire } from 'node:module';
import { median, sleep, startService } from '../lib.mjs';
import {
  credentials,
  kafkaClient,
  measure,
  OPERATIONS,
  OUTPUTS,
  outputEnv,
  prepareTopics,
  sandboxAdmin,
  sandboxEnv,
  workerEnv,
} from './worker-fast.mjs';

const require = createRequire(import.meta.url);
const { TrackClient } = require('customerio-node');
const { toV2Operation } = require('@cio-bridge/cio-worker');

/** Customer.io's documented rate (Track API 1000/s; Pipelines 3000 per 3 s), the worker's default. */
const DOCUMENTED_RPS = 1000;
const LATENCY_MS = 50;
const WARM_UP = 10_000;
/** a live application's steady stream, well below the budget's slots */
const STREAM_RATE = 200;
/** the stream's first seconds warm the worker up (JIT, connections) and are not counted */
const STREAM_WARM_UP_MS = 3_000;
const ports = { sandbox: 18390, worker: 18384 };

async function prepareSandbox(url) {
  await sandboxAdmin(url, '/reset', 'POST');
  await sandboxAdmin(url, '/faults', 'PUT', { latencyMs: LATENCY_MS });
}

/** Runs `consume` while measuring; returns ops/s, requests/s and the 429s of the whole run. */
async function measureAgainstSandbox(url, durationMs, warmUp) {
  let atStart;
  let starting;
  const result = await measure(
    async () => {
      const counters = await sandboxAdmin(url, '/counters');
      return counters.accepted + counters.duplicates;
    },
    {
      warmUp,
      durationMs,
      total: OPERATIONS,
      onStart: () => {
        starting = sandboxAdmin(url, '/counters').then((counters) => {
          atStart = counters;
        });
      },
    },
  );
  await starting;
  const atEnd = await sandboxAdmin(url, '/counters');
  return {
    opsPerSecond: result.rate,
    requestsPerSecond: (atEnd.requests - atStart.requests) / result.seconds,
    rateLimited: atEnd.rate_limited,
  };
}

/** The naive consumer: one Customer.io request per message, one message at a time. */
async function naiveConsumer(kafka, topic, url) {
  const client = new TrackClient(credentials.CIO_SITE_ID, credentials.CIO_API_KEY, { url: `${url}/api/v1` });
  const consumer = kafka.consumer({ groupId: `bench-naive-${Date.now().toString(36)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const op = JSON.parse(message.value.toString());
      await client.entity(toV2Operation(op, op.id));
    },
  });
  return consumer;
}

/** Value `p` (0-1) of sorted numbers. */
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

/** The stream's operations: one each for many people, ids of this stream's own. */
function streamOperations(tag, count) {
  return Array.from({ length: count }, (_, i) => ({
    name: 'stream_event',
    id: `01K${tag}${String(i).padStart(22, '0')}`,
    identifiers: { id: `stream-person-${i % 5_000}` },
    data: { n: i },
  }));
}

/** Calls `send(chunk)` for the operations at STREAM_RATE, in 10 ms steps; resolves when all went. */
async function paced(operations, send) {
  const started = performance.now();
  const pending = [];
  let next = 0;
  while (next < operations.length) {
    const due = Math.min(
      operations.length,
      Math.floor(((performance.now() - started) * STREAM_RATE) / 1000) + 1,
    );
    if (due > next) {
      pending.push(send(operations.slice(next, due)));
      next = due;
    }
    await sleep(10);
  }
  await Promise.all(pending);
}

/** The position of a stream operation in its stream, from its id. */
const streamIndex = (id) => Number(id.slice(4));

/** Reads `count` receipts from `topic`; returns the latencies (ms) of those from `from` on, sorted. */
async function receiptLatencies(kafka, topic, count, from) {
  const consumer = kafka.consumer({ groupId: `bench-receipts-${Date.now().toString(36)}` });
  const latencies = [];
  let delivered = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const receipt = JSON.parse(message.value.toString());
      if (receipt.outcome !== 'delivered') return;
      delivered++;
      if (streamIndex(receipt.id) >= from) latencies.push(receipt.latency_ms);
    },
  });
  const deadline = Date.now() + 120_000;
  while (delivered < count && Date.now() < deadline) await sleep(200);
  await consumer.disconnect();
  if (delivered < count) throw new Error(`only ${delivered} of ${count} receipts`);
  return latencies.sort((a, b) => a - b);
}

/** The latency phase for one output: a worker at its defaults on an empty topic, fed a steady stream. */
async function streamLatency(kafka, url, api, r, durationMs, log) {
  const { run, topics } = await prepareTopics(kafka, `bench-worker-latency-stream-${api}-${r}`, 0, log);
  const receipts = `${run}.receipts`;
  const worker = await startService(
    'cio-worker',
    workerEnv(topics, url, ports.worker, `${run}-worker`, {
      ...outputEnv(api, url),
      WORKER_RECEIPTS_TOPIC: receipts,
    }),
    { readyUrl: `http://127.0.0.1:${ports.worker}/readyz` },
  );
  const warmUp = (STREAM_RATE * STREAM_WARM_UP_MS) / 1000;
  const operations = streamOperations(
    `${api === 'track' ? 1 : 2}`,
    warmUp + (STREAM_RATE * durationMs) / 1000,
  );
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await paced(operations, (chunk) =>
      producer.send({
        topic: topics.track,
        acks: -1,
        messages: chunk.map((op) => ({ key: op.identifiers.id, value: JSON.stringify(op) })),
      }),
    );
    return await receiptLatencies(kafka, receipts, operations.length, warmUp);
  } finally {
    await producer.disconnect();
    await worker.stop();
  }
}

/** The latency baseline: each operation of the stream straight to the sandbox as it is produced. */
async function directLatency(url, durationMs) {
  const warmUp = (STREAM_RATE * STREAM_WARM_UP_MS) / 1000;
  const operations = streamOperations('3', warmUp + (STREAM_RATE * durationMs) / 1000);
  const auth = `Basic ${Buffer.from(`${credentials.CIO_SITE_ID}:${credentials.CIO_API_KEY}`).toString('base64')}`;
  const latencies = [];
  await paced(operations, (chunk) =>
    Promise.all(
      chunk.map(async (op) => {
        const started = performance.now();
        const response = await fetch(`${url}/api/v2/entity`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: JSON.stringify(toV2Operation(op, op.id)),
        });
        await response.arrayBuffer();
        if (response.ok && streamIndex(op.id) >= warmUp) latencies.push(performance.now() - started);
      }),
    ),
  );
  return latencies.sort((a, b) => a - b);
}

export default async function run({ durationMs, repeats, log }) {
  const kafka = kafkaClient('bench-worker-latency');
  const { run: runId, topics } = await prepareTopics(kafka, 'bench-worker-latency', OPERATIONS, log);
  const url = `http://127.0.0.1:${ports.sandbox}`;
  const sandbox = await startService(
    'cio-sandbox',
    sandboxEnv(ports.sandbox, { SANDBOX_RATE_LIMIT_RPS: String(DOCUMENTED_RPS) }),
    { readyUrl: `${url}/readyz` },
  );
  const byOutput = Object.fromEntries(OUTPUTS.map((api) => [api, { worker: [], rss: [], p50: [], p99: [] }]));
  const naive = [];
  const direct = { p50: [], p99: [] };
  try {
    for (let r = 0; r < repeats; r++) {
      for (const api of OUTPUTS) {
        await prepareSandbox(url);
        // No CIO_RATE_LIMIT_RPS: the default, Customer.io's documented rate for CIO_API.
        const process = await startService(
          'cio-worker',
          workerEnv(topics, url, ports.worker, `${runId}-worker-${api}-${r}`, outputEnv(api, url)),
          { readyUrl: `http://127.0.0.1:${ports.worker}/readyz` },
        );
        try {
          const figures = await measureAgainstSandbox(url, durationMs, WARM_UP);
          byOutput[api].worker.push(figures);
          byOutput[api].rss.push(process.peakRssMb());
          log(
            `worker-latency repeat ${r + 1} (CIO_API=${api}): ${Math.round(figures.opsPerSecond)} ops/s, ` +
              `${figures.requestsPerSecond.toFixed(1)} requests/s, ${figures.rateLimited} x 429`,
          );
        } finally {
          await process.stop();
        }

        await prepareSandbox(url);
        const latencies = await streamLatency(kafka, url, api, r, durationMs, log);
        byOutput[api].p50.push(percentile(latencies, 0.5));
        byOutput[api].p99.push(percentile(latencies, 0.99));
        log(
          `worker-latency repeat ${r + 1} (CIO_API=${api}): ${STREAM_RATE} ops/s stream, ` +
            `p50 ${percentile(latencies, 0.5)} ms, p99 ${percentile(latencies, 0.99)} ms`,
        );
      }

      await prepareSandbox(url);
      const straight = await directLatency(url, durationMs);
      direct.p50.push(percentile(straight, 0.5));
      direct.p99.push(percentile(straight, 0.99));
      log(
        `worker-latency repeat ${r + 1}: direct requests p50 ${percentile(straight, 0.5).toFixed(1)} ms, ` +
          `p99 ${percentile(straight, 0.99).toFixed(1)} ms`,
      );

      await prepareSandbox(url);
      const consumer = await naiveConsumer(kafka, topics.track, url);
      try {
        const figures = await measureAgainstSandbox(url, durationMs, 20);
        naive.push(figures);
        log(
          `worker-latency repeat ${r + 1}: naive ${figures.opsPerSecond.toFixed(1)} ops/s, ` +
            `${figures.requestsPerSecond.toFixed(1)} requests/s, ${figures.rateLimited} x 429`,
        );
      } finally {
        await consumer.disconnect();
      }
    }
  } finally {
    await sandbox.stop();
  }
  const pick = (list, key) => median(list.map((figures) => figures[key]));
  const directP50 = Math.round(median(direct.p50));
  const directP99 = Math.round(median(direct.p99));
  return OUTPUTS.flatMap((api) => {
    const { worker, rss, p50, p99 } = byOutput[api];
    const ops = pick(worker, 'opsPerSecond');
    const requests = pick(worker, 'requestsPerSecond');
    const limited = Math.max(...worker.map((figures) => figures.rateLimited));
    const peak = Math.max(...rss);
    // The Track API figures keep their names; the Pipelines ones say so.
    const suffix = api === 'track' ? '' : ' (Pipelines API)';
    return [
      {
        figure: `operations/s delivered (50 ms latency, default budget 1000 requests/s)${suffix}`,
        value: Math.round(ops),
        unit: 'ops/s',
        baseline: Math.round(pick(naive, 'opsPerSecond') * 10) / 10,
        baselineName: 'naive consumer, one request per message',
        goal: '>= 10,000',
        met: ops >= 10_000,
      },
      {
        figure: `requests/s sent from a filled topic (within the budget)${suffix}`,
        value: Math.round(requests * 10) / 10,
        unit: 'req/s',
        baseline: Math.round(pick(naive, 'requestsPerSecond') * 10) / 10,
        baselineName: 'naive consumer',
        goal: `<= ${DOCUMENTED_RPS}`,
        met: requests <= DOCUMENTED_RPS,
      },
      {
        figure: `429 answers caused (worst repeat)${suffix}`,
        value: limited,
        unit: '',
        baseline: Math.max(...naive.map((figures) => figures.rateLimited)),
        baselineName: 'naive consumer',
        goal: '0',
        met: limited === 0,
      },
      {
        figure: `p50 latency per operation, Kafka timestamp to delivered, ${STREAM_RATE} ops/s stream${suffix}`,
        value: Math.round(median(p50)),
        unit: 'ms',
        baseline: directP50,
        baselineName: 'direct request per operation, no Kafka',
        goal: null,
      },
      {
        figure: `p99 latency per operation, Kafka timestamp to delivered, ${STREAM_RATE} ops/s stream${suffix}`,
        value: Math.round(median(p99)),
        unit: 'ms',
        baseline: directP99,
        baselineName: 'direct request per operation, no Kafka',
        goal: '< 500 ms',
        met: median(p99) < 500,
      },
      {
        figure: `cio-worker peak RSS (50 ms latency)${suffix}`,
        value: peak,
        unit: 'MB',
        baseline: null,
        goal: '< 300',
        met: peak < 300,
      },
    ];
  });
}
