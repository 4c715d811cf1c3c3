// How close cio-worker comes to what the machine allows: a backlog of 200,000
// seed-shaped operations for 20,000 people (as worker-fast fills it), Customer.io (the
// sandbox) answering after 50 ms and allowing the 1000 requests/s its reference
// documents, the worker at CIO_RATE_LIMIT_RPS=1000. Baseline, in the same run and
// against the same sandbox: a minimal forwarder (bench/support/minimal-forwarder.mjs:
// kafkajs, parse, ~450 KB batches, 32 posts at once, commit; no order, validation or
// retries), its own process. Figures: operations/s delivered and CPU µs per operation
// (the process's CPU time ÷ operations) of each, and their ratios.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { median, root, startService } from '../lib.mjs';
import {
  brokers,
  cpuSeconds,
  credentials,
  kafkaClient,
  measure,
  OPERATIONS,
  prepareTopics,
  sandboxAdmin,
  sandboxEnv,
  workerEnv,
} from './worker-fast.mjs';

const RPS = 1000;
const LATENCY_MS = 50;
const WARM_UP = 10_000;
const ports = { sandbox: 18490, worker: 18484 };

async function prepareSandbox(url) {
  await sandboxAdmin(url, '/reset', 'POST');
  await sandboxAdmin(url, '/faults', 'PUT', { latencyMs: LATENCY_MS });
}

/** Delivered operations/s and CPU µs per operation of the process `pid`, from warm-up on. */
async function measureProcess(url, pid, durationMs) {
  let cpuAtStart = 0;
  const result = await measure(
    async () => {
      const counters = await sandboxAdmin(url, '/counters');
      return counters.accepted + counters.duplicates;
    },
    {
      warmUp: WARM_UP,
      durationMs,
      total: OPERATIONS,
      onStart: () => {
        cpuAtStart = cpuSeconds(pid);
      },
    },
  );
  const cpuPerOp = ((cpuSeconds(pid) - cpuAtStart) / (result.to - result.from)) * 1e6;
  return { rate: result.rate, cpuPerOp };
}

function startForwarder(topic, group, sandboxUrl) {
  const child = spawn(process.execPath, [join(root, 'bench/support/minimal-forwarder.mjs')], {
    env: {
      ...process.env,
      FORWARDER_BROKERS: brokers.join(','),
      FORWARDER_TOPIC: topic,
      FORWARDER_GROUP: group,
      FORWARDER_URL: sandboxUrl,
      FORWARDER_AUTH: `${credentials.CIO_SITE_ID}:${credentials.CIO_API_KEY}`,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    pid: child.pid,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export default async function run({ durationMs, repeats, log }) {
  const kafka = kafkaClient('bench-ceiling');
  const { run: runId, topics } = await prepareTopics(kafka, 'bench-ceiling', OPERATIONS, log);
  const sandboxUrl = `http://127.0.0.1:${ports.sandbox}`;
  const sandbox = await startService(
    'cio-sandbox',
    sandboxEnv(ports.sandbox, { SANDBOX_RATE_LIMIT_RPS: String(RPS) }),
    { readyUrl: `${sandboxUrl}/readyz` },
  );
  const figures = { worker: { rates: [], cpu: [] }, forwarder: { rates: [], cpu: [] } };
  try {
    for (let r = 0; r < repeats; r++) {
      await prepareSandbox(sandboxUrl);
      const worker = await startService(
        'cio-worker',
        workerEnv(topics, sandboxUrl, ports.worker, `${runId}-worker-${r}`, {
          CIO_RATE_LIMIT_RPS: String(RPS),
        }),
        { readyUrl: `http://127.0.0.1:${ports.worker}/readyz` },
      );
      try {
        const { rate, cpuPerOp } = await measureProcess(sandboxUrl, worker.pid, durationMs);
        figures.worker.rates.push(rate);
        figures.worker.cpu.push(cpuPerOp);
        log(`ceiling repeat ${r + 1}: cio-worker ${Math.round(rate)} ops/s, ${cpuPerOp.toFixed(1)} µs/op`);
      } finally {
        await worker.stop();
      }

      await prepareSandbox(sandboxUrl);
      const forwarder = startForwarder(topics.track, `${runId}-forwarder-${r}`, sandboxUrl);
      try {
        const { rate, cpuPerOp } = await measureProcess(sandboxUrl, forwarder.pid, durationMs);
        figures.forwarder.rates.push(rate);
        figures.forwarder.cpu.push(cpuPerOp);
        log(
          `ceiling repeat ${r + 1}: minimal forwarder ${Math.round(rate)} ops/s, ${cpuPerOp.toFixed(1)} µs/op`,
        );
      } finally {
        await forwarder.stop();
      }
    }
  } finally {
    await sandbox.stop();
  }
  const rate = median(figures.worker.rates);
  const baselineRate = median(figures.forwarder.rates);
  const cpu = median(figures.worker.cpu);
  const baselineCpu = median(figures.forwarder.cpu);
  return [
    {
      figure: 'operations/s delivered (50 ms answers, 1000 requests/s allowed)',
      value: Math.round(rate),
      unit: 'ops/s',
      baseline: Math.round(baselineRate),
      baselineName: 'minimal forwarder',
      goal: '>= 0.6 x baseline',
      met: rate >= 0.6 * baselineRate,
    },
    {
      figure: 'CPU time per operation delivered',
      value: Math.round(cpu * 10) / 10,
      unit: 'µs/op',
      baseline: Math.round(baselineCpu * 10) / 10,
      baselineName: 'minimal forwarder',
      goal: '<= 2 x baseline',
      met: cpu <= 2 * baselineCpu,
    },
  ];
}
