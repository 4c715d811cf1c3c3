// cio-worker within Customer.io's limits: the sandbox answers after 50 ms added
// latency and allows 100 requests/s (429 above), the worker runs with
// CIO_RATE_LIMIT_RPS=100; both real processes. Figures: operations/s delivered, the
// share of the request budget used (requests/s ÷ 100) and the 429s the worker caused.
// Each repeat measures both outputs (CIO_API=track, then CIO_API=pipelines).
// Baseline, in the same run against the same sandbox: a naive consumer that sends one
// request per message (kafkajs eachMessage + customerio-node TrackClient.entity, the
// shape of the reference architecture's worker).
import { createRequire } from 'node:module';
import { median, startService } from '../lib.mjs';
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

const RPS = 100;
const LATENCY_MS = 50;
const WARM_UP = 10_000;
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

export default async function run({ durationMs, repeats, log }) {
  const kafka = kafkaClient('bench-worker-latency');
  const { run: runId, topics } = await prepareTopics(kafka, 'bench-worker-latency', OPERATIONS, log);
  const url = `http://127.0.0.1:${ports.sandbox}`;
  const sandbox = await startService(
    'cio-sandbox',
    sandboxEnv(ports.sandbox, { SANDBOX_RATE_LIMIT_RPS: String(RPS) }),
    { readyUrl: `${url}/readyz` },
  );
  const byOutput = Object.fromEntries(OUTPUTS.map((api) => [api, { worker: [], rss: [] }]));
  const naive = [];
  try {
    for (let r = 0; r < repeats; r++) {
      for (const api of OUTPUTS) {
        await prepareSandbox(url);
        const process = await startService(
          'cio-worker',
          workerEnv(topics, url, ports.worker, `${runId}-worker-${api}-${r}`, {
            CIO_RATE_LIMIT_RPS: String(RPS),
            ...outputEnv(api, url),
          }),
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
      }

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
  return OUTPUTS.flatMap((api) => {
    const { worker, rss } = byOutput[api];
    const ops = pick(worker, 'opsPerSecond');
    const share = (pick(worker, 'requestsPerSecond') / RPS) * 100;
    const limited = Math.max(...worker.map((figures) => figures.rateLimited));
    const peak = Math.max(...rss);
    // The Track API figures keep their names; the Pipelines ones say so.
    const suffix = api === 'track' ? '' : ' (Pipelines API)';
    return [
      {
        figure: `operations/s delivered (50 ms latency, 100 requests/s budget)${suffix}`,
        value: Math.round(ops),
        unit: 'ops/s',
        baseline: Math.round(pick(naive, 'opsPerSecond') * 10) / 10,
        baselineName: 'naive consumer, one request per message',
        goal: '>= 10,000',
        met: ops >= 10_000,
      },
      {
        figure: `share of the request budget used (requests/s ÷ 100)${suffix}`,
        value: Math.round(share * 10) / 10,
        unit: '%',
        baseline: Math.round((pick(naive, 'requestsPerSecond') / RPS) * 100 * 10) / 10,
        baselineName: 'naive consumer',
        goal: '>= 95',
        met: share >= 95,
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
