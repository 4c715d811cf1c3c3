// What delivery receipts cost: cio-worker throughput (operations/s delivered to the
// sandbox, no added latency) and CPU time per operation with WORKER_RECEIPTS_TOPIC set,
// against the same worker without receipts in the same run, alternating repeat by
// repeat over the same filled topic (as worker-fast fills it).
import { median, startService } from '../lib.mjs';
import {
  cpuSeconds,
  kafkaClient,
  measure,
  OPERATIONS,
  prepareTopics,
  sandboxAdmin,
  sandboxEnv,
  workerEnv,
} from './worker-fast.mjs';

const ports = { sandbox: 18390, worker: 18384 };
const WARM_UP = 10_000;

export default async function run({ durationMs, repeats, log }) {
  const kafka = kafkaClient('bench-receipts');
  const { run: runId, topics } = await prepareTopics(kafka, 'bench-receipts', OPERATIONS, log);
  const sandboxUrl = `http://127.0.0.1:${ports.sandbox}`;
  const sandbox = await startService('cio-sandbox', sandboxEnv(ports.sandbox), {
    readyUrl: `${sandboxUrl}/readyz`,
  });
  const figures = { off: { rates: [], cpu: [] }, on: { rates: [], cpu: [] } };
  try {
    for (let r = 0; r < repeats; r++) {
      for (const mode of ['off', 'on']) {
        await sandboxAdmin(sandboxUrl, '/reset', 'POST');
        const extra = { CIO_RATE_LIMIT_RPS: '1000' };
        if (mode === 'on') extra.WORKER_RECEIPTS_TOPIC = `${runId}.receipts-${r}`;
        const worker = await startService(
          'cio-worker',
          workerEnv(topics, sandboxUrl, ports.worker, `${runId}-${mode}-${r}`, extra),
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
          figures[mode].rates.push(result.rate);
          figures[mode].cpu.push(((cpuSeconds(worker.pid) - cpuAtStart) / (result.to - result.from)) * 1e6);
          log(`receipts ${mode} repeat ${r + 1}: ${Math.round(result.rate)} ops/s`);
        } finally {
          await worker.stop();
        }
      }
    }
  } finally {
    await sandbox.stop();
  }
  return [
    {
      figure: 'operations/s delivered with WORKER_RECEIPTS_TOPIC (one receipt each)',
      value: Math.round(median(figures.on.rates)),
      unit: 'ops/s',
      baseline: Math.round(median(figures.off.rates)),
      baselineName: 'the same worker without receipts',
      goal: null,
    },
    {
      figure: 'cio-worker CPU time per operation with receipts',
      value: Math.round(median(figures.on.cpu)),
      unit: 'µs/op',
      baseline: Math.round(median(figures.off.cpu)),
      baselineName: 'without receipts',
      goal: null,
    },
  ];
}
