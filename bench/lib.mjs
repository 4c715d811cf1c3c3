// Shared pieces of the benchmark suite: start built services as real processes,
// sample their memory, drive HTTP load with autocannon, and summarise repeats.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** Peak resident memory (VmHWM) of a process, in MB; Linux only. */
export function peakRssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kb / 1024);
}

/**
 * Starts `services/<name>/dist/main.js` with `env` and waits until `readyUrl`
 * answers 200 (when given). Returns { pid, stop(), peakRssMb() }.
 */
export async function startService(name, env, { readyUrl, timeoutMs = 60_000 } = {}) {
  // as npm start and the image run it: with the V8 flags of infra/node-flags.json (same PID)
  const child = spawn(process.execPath, [join(root, 'infra/run-service.mjs'), name], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (readyUrl) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} while starting`);
      const ok = await fetch(readyUrl).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${name} not ready at ${readyUrl} after ${timeoutMs} ms`);
      await sleep(200);
    }
  }
  return {
    pid: child.pid,
    peakRssMb: () => peakRssMb(child.pid),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs autocannon and returns { rps, p50, p99, errors, non2xx } (latencies in ms). */
export async function httpLoad(options) {
  const result = await autocannon({ connections: 50, pipelining: 1, ...options });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/**
 * Deletes every `bench-` topic left on the broker: the suite's scenarios name theirs
 * so, and a broker that piles up partitions run after run slows every later figure.
 */
export async function deleteBenchTopics() {
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const admin = new Kafka({ brokers, clientId: 'bench-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const ours = (await admin.listTopics()).filter((topic) => topic.startsWith('bench-'));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
  } finally {
    await admin.disconnect();
  }
}

/**
 * The baseline of the HTTP scenarios: a bare express app in a process of its own that
 * parses the JSON body of `POST <path>` and answers `status` with `answer` (a JavaScript
 * expression evaluated per request). Resolves once it answers.
 */
export async function startBareExpress({ port, path, limit, status = 200, answer }) {
  const script = `
const express = require('express');
const app = express();
app.post('${path}', express.json({ limit: '${limit}' }), (req, res) => res.status(${status}).json(${answer}));
app.listen(${port}, '127.0.0.1');
`;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST' }).then(
      () => true,
      () => false,
    );
    if (up) break;
    await sleep(100);
  }
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
