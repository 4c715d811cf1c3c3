// End to end: p50/p99 latency from POST /v1/track to arrival at the Customer.io
// sandbox at 1,000 events/s, through the producer, Kafka and the worker, each a
// real process. The latency of one event is the sandbox's arrival time minus the
// time in its ULID id, which the producer assigns when it accepts the request.
// The events spread over many people, as real traffic does: one person's operations
// go out one at a time (per-person order), so a single person's stream is bounded by
// the round trip to Customer.io, not by the pipeline.
import { createRequire } from 'node:module';
import { httpLoad, median, sleep, startService } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { decodeTime } = require('ulid');
const { seedExamples } = require('@cio-bridge/schemas');

const RATE = 1_000;
const PEOPLE = 10_000;
const ports = { sandbox: 18190, producer: 18181, worker: 18184 };
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

export default async function run({ durationMs, repeats, log }) {
  const suffix = `bench-e2e-${Date.now().toString(36)}`;
  const topics = {
    KAFKA_TOPIC_TRACK: `${suffix}.track`,
    KAFKA_TOPIC_TRANSACTIONAL: `${suffix}.transactional`,
    KAFKA_TOPIC_DLQ: `${suffix}.dlq`,
  };
  const sandboxUrl = `http://127.0.0.1:${ports.sandbox}`;
  const credentials = {
    CIO_SITE_ID: 'bench-site',
    CIO_API_KEY: 'bench-key',
    CIO_APP_API_KEY: 'bench-app-key',
  };
  const sandbox = await startService(
    'cio-sandbox',
    { PORT: String(ports.sandbox), ...credentials },
    { readyUrl: `${sandboxUrl}/readyz` },
  );
  const producer = await startService(
    'producer',
    { PORT: String(ports.producer), INGEST_API_TOKENS: 'bench-end-to-end-token', ...topics },
    { readyUrl: `http://127.0.0.1:${ports.producer}/readyz` },
  );
  const worker = await startService(
    'cio-worker',
    {
      PORT: String(ports.worker),
      CIO_TRACK_URL: sandboxUrl,
      CIO_APP_URL: sandboxUrl,
      CIO_RATE_LIMIT_RPS: '1000',
      ...credentials,
      ...topics,
    },
    { readyUrl: `http://127.0.0.1:${ports.worker}/readyz` },
  );
  const example = seedExamples().product_scanned;
  const bodies = Array.from({ length: PEOPLE }, (_, i) =>
    JSON.stringify({ ...example, id: undefined, identifiers: { id: `person-${i}` } }),
  );
  let next = 0;
  const load = (duration) =>
    httpLoad({
      url: `http://127.0.0.1:${ports.producer}/v1/track`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer bench-end-to-end-token' },
      requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % PEOPLE] }) }],
      connections: 20,
      overallRate: RATE,
      duration: duration / 1000,
    });

  /** The sandbox's operations once the count stops growing (30 s at most). */
  const settled = async () => {
    let operations = [];
    for (let waited = 0; waited < 30_000; waited += 1_000) {
      await sleep(1_000);
      const now = await fetch(`${sandboxUrl}/_sandbox/operations`).then((r) => r.json());
      if (now.length === operations.length && now.length > 0) break;
      operations = now;
    }
    return operations;
  };

  try {
    log('end-to-end: warm-up');
    await load(2_000);
    await settled();
    const p50s = [];
    const p99s = [];
    for (let i = 0; i < repeats; i++) {
      await fetch(`${sandboxUrl}/_sandbox/reset`, { method: 'POST' });
      const sent = await load(durationMs);
      const operations = await settled();
      const latencies = operations
        .map((op) => Date.parse(op.received_at) - decodeTime(op.id))
        .sort((a, b) => a - b);
      log(`end-to-end: run ${i + 1}: ${sent.requests} sent, ${latencies.length} arrived`);
      p50s.push(percentile(latencies, 0.5));
      p99s.push(percentile(latencies, 0.99));
    }
    const p99 = median(p99s);
    return [
      {
        figure: `p50 latency POST /v1/track -> sandbox at ${RATE} events/s`,
        value: median(p50s),
        unit: 'ms',
        baseline: null,
      },
      {
        figure: `p99 latency POST /v1/track -> sandbox at ${RATE} events/s`,
        value: p99,
        unit: 'ms',
        baseline: null,
        goal: '< 500 ms',
        met: p99 < 500,
      },
    ];
  } finally {
    await Promise.all([producer.stop(), worker.stop(), sandbox.stop()]);
  }
}
