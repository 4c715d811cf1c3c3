// Producer latency and request rate with one event per request: the most
// requests/s through POST /v1/track, and p50/p99 at a fixed 1,000 requests/s;
// baseline: a bare express endpoint that parses the same JSON and answers 202
// (no auth, validation or Kafka). Plus the producer's peak RSS.
import { createRequire } from 'node:module';
import { httpLoad, median, startBareExpress, startService } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { seedExamples } = require('@cio-bridge/schemas');

const PORT = 18282;
const BASELINE_PORT = 18283;
const RATE = 1_000;
const TOKEN = 'bench-producer-token';

async function measure({ port, durationMs, repeats, log, name }) {
  const body = JSON.stringify(seedExamples().product_scanned);
  const load = (ms, extra) =>
    httpLoad({
      url: `http://127.0.0.1:${port}/v1/track`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
      duration: ms / 1000,
      ...extra,
    });
  const check = (result) => {
    if (result.errors || result.non2xx)
      throw new Error(`${name} answered ${result.non2xx} non-2xx, ${result.errors} errors`);
    return result;
  };
  await load(2_000, { connections: 50 });
  const rps = [];
  const p50 = [];
  const p99 = [];
  for (let i = 0; i < repeats; i++) {
    const most = check(await load(durationMs, { connections: 50 }));
    const fixed = check(await load(durationMs, { connections: 20, overallRate: RATE }));
    rps.push(most.rps);
    p50.push(fixed.p50);
    p99.push(fixed.p99);
    log(
      `producer-single: ${name} run ${i + 1}: ${Math.round(most.rps)} req/s; at ${RATE}/s p50 ${fixed.p50} ms, p99 ${fixed.p99} ms`,
    );
  }
  return { rps: median(rps), p50: median(p50), p99: median(p99) };
}

export default async function run({ durationMs, repeats, log }) {
  const suffix = `bench-producer-single-${Date.now().toString(36)}`;
  const service = await startService(
    'producer',
    {
      PORT: String(PORT),
      INGEST_API_TOKENS: TOKEN,
      // the heap settings of `npm run start --workspace services/producer` (see its README)
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=8 --max-old-space-size=192`,
      KAFKA_TOPIC_TRACK: `${suffix}.track`,
      KAFKA_TOPIC_TRANSACTIONAL: `${suffix}.transactional`,
    },
    { readyUrl: `http://127.0.0.1:${PORT}/readyz` },
  );
  let producer;
  let peakRss;
  try {
    producer = await measure({ port: PORT, durationMs, repeats, log, name: 'producer' });
    peakRss = service.peakRssMb();
  } finally {
    await service.stop();
  }
  const bare = await startBareExpress({
    port: BASELINE_PORT,
    path: '/v1/track',
    limit: '1mb',
    status: 202,
    answer: '{ id: String(Date.now()), ids: [] }',
  });
  let baseline;
  try {
    baseline = await measure({ port: BASELINE_PORT, durationMs, repeats, log, name: 'bare express' });
  } finally {
    await bare.stop();
  }
  return [
    {
      figure: 'single-event requests/s via POST /v1/track',
      value: Math.round(producer.rps),
      unit: 'req/s',
      baseline: Math.round(baseline.rps),
      baselineName: 'bare express JSON endpoint',
      goal: '>= 3,000',
      met: producer.rps >= 3_000,
    },
    {
      figure: `p50 latency POST /v1/track at ${RATE} req/s`,
      value: producer.p50,
      unit: 'ms',
      baseline: baseline.p50,
      baselineName: 'bare express JSON endpoint',
    },
    {
      figure: `p99 latency POST /v1/track at ${RATE} req/s`,
      value: producer.p99,
      unit: 'ms',
      baseline: baseline.p99,
      baselineName: 'bare express JSON endpoint',
      goal: '< 50 ms',
      met: producer.p99 < 50,
    },
    {
      figure: 'producer peak RSS under single-event load',
      value: peakRss,
      unit: 'MB',
      baseline: null,
      goal: '< 200 MB',
      met: peakRss < 200,
    },
  ];
}
