// Webhook-handler throughput and latency: the most signed prediction webhooks per
// second through POST /webhooks/customer-io (HMAC verification, validation, replay
// check, 200 only after Kafka acknowledged with acks=all), and p50/p99 at a fixed
// 1,000 requests/s; baseline: a bare express endpoint that parses the same JSON and
// answers 200 (no signature, validation or Kafka). Plus the handler's peak RSS.
// The same handler also takes journey-style webhooks (Basic credentials, no signature)
// in the same repeats, so their rate and p99 compare with HMAC's from the same run.
//
// Every request is a different webhook, signed before the run (a repeated body would
// be a replay, answered without publishing). The signed pool sizes itself from the
// rate measured so far, and signs on the fly should it still run short, so it cannot
// run out on a fast machine. The scenario checks afterwards that the handler published
// every request it accepted and saw no replay.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { httpLoad, median, sleep, startBareExpress, startService } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { seedPredictionExamples } = require('@cio-bridge/schemas');

const PORT = 18482;
const BASELINE_PORT = 18483;
const RATE = 1_000;
const KEY = 'bench-webhook-signing-key';
const BASIC = { user: 'bench-journey', password: 'bench-journey-password-0123' };
const BASIC_HEADER = `Basic ${Buffer.from(`${BASIC.user}:${BASIC.password}`).toString('base64')}`;
const PATH = '/webhooks/customer-io';
// The first pool's rate, before anything was measured; later pools size themselves
// from the most requests/s measured so far (either target), with headroom.
const INITIAL_PER_SECOND = 15_000;
const HEADROOM = 1.5;

let sequence = 0;
const examples = Object.values(seedPredictionExamples());

/**
 * One distinct prediction webhook (the seed's three kinds in turn): signed at `timestamp`
 * (`hmac`), or with the journey's Basic credentials and no signature (`basic`).
 */
function signedRequest(timestamp, style = 'hmac') {
  const n = sequence++;
  const example = examples[n % examples.length];
  const body = JSON.stringify({ ...example, user_id: 1_000_000 + n });
  if (style === 'basic')
    return {
      method: 'POST',
      path: PATH,
      headers: { 'content-type': 'application/json', authorization: BASIC_HEADER },
      body,
    };
  const signature = createHmac('sha256', KEY).update(`v0:${timestamp}:`).update(body).digest('hex');
  return {
    method: 'POST',
    path: PATH,
    headers: {
      'content-type': 'application/json',
      'x-cio-timestamp': timestamp,
      'x-cio-signature': signature,
    },
    body,
  };
}

const nowSeconds = () => String(Math.floor(Date.now() / 1000));

/** `count` distinct webhooks, signed now (before the run, so signing costs the load nothing). */
function signedPool(count, style) {
  const timestamp = nowSeconds();
  return Array.from({ length: count }, () => signedRequest(timestamp, style));
}

/** The most requests/s any unlimited run measured so far. */
let measuredRps = 0;

async function load(port, ms, extra, style = 'hmac') {
  const perSecond = extra.overallRate ?? (measuredRps > 0 ? measuredRps : INITIAL_PER_SECOND);
  // at least a second's worth: autocannon's first burst and its last requests in flight go beyond `ms`
  const pool = signedPool(Math.ceil(Math.max(1, ms / 1000) * perSecond * HEADROOM), style);
  let next = 0;
  let signedLate = 0;
  const result = await httpLoad({
    url: `http://127.0.0.1:${port}`,
    duration: ms / 1000,
    // one distinct signed request after another across all connections: none is sent
    // twice; should the pool still run short, the rest are signed as they go
    requests: [
      {
        setupRequest: () => {
          if (next < pool.length) return pool[next++];
          signedLate++;
          return signedRequest(nowSeconds(), style);
        },
      },
    ],
    ...extra,
  });
  if (!extra.overallRate) measuredRps = Math.max(measuredRps, result.rps);
  return { ...result, pool: pool.length, signedLate };
}

function check(name, result) {
  if (result.errors || result.non2xx)
    throw new Error(`${name} answered ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result;
}

/**
 * The targets take turns in every repeat (most requests/s, then p50/p99 at a fixed
 * rate), in an order that turns from repeat to repeat, so a busy moment on the machine
 * hits them alike.
 */
async function measure({ targets, durationMs, repeats, log }) {
  for (const { name, port, style } of targets)
    check(name, await load(port, 2_000, { connections: 50 }, style));
  const figures = targets.map(() => ({ rps: [], p50: [], p99: [] }));
  for (let i = 0; i < repeats; i++) {
    // The order turns each repeat: on a busy machine the first target of a round fares
    // worst, so each takes every place in turn.
    const order = targets.map((_, k) => (k + i) % targets.length);
    for (const t of order) {
      const { name, port, style } = targets[t];
      const most = check(name, await load(port, durationMs, { connections: 50 }, style));
      // half as long: at 1,000/s that is still thousands of samples for the p99
      const fixed = check(
        name,
        await load(port, durationMs / 2, { connections: 20, overallRate: RATE }, style),
      );
      figures[t].rps.push(most.rps);
      figures[t].p50.push(fixed.p50);
      figures[t].p99.push(fixed.p99);
      log(
        `webhook: ${name} run ${i + 1}: ${Math.round(most.rps)} req/s; at ${RATE}/s p50 ${fixed.p50} ms, p99 ${fixed.p99} ms` +
          ` (signed pools ${most.pool} and ${fixed.pool}, ${most.signedLate + fixed.signedLate} signed during the run)`,
      );
    }
  }
  return figures.map((f) => ({ rps: median(f.rps), p50: median(f.p50), p99: median(f.p99) }));
}

/** The handler's own counters: every accepted webhook published, none taken for a replay. */
async function checkCounters(port) {
  await sleep(500); // the last requests of a run may still be waiting for their acknowledgement
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (pattern) =>
    Number(new RegExp(`^${pattern}[^\\n]* (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const accepted = value('cio_bridge_webhook_requests_total\\{outcome="accepted"');
  const replayed = value('cio_bridge_webhook_requests_total\\{outcome="replayed"');
  const published = value('cio_bridge_webhook_messages_published_total\\{kind="prediction"');
  if (replayed !== 0 || accepted !== published)
    throw new Error(`handler counters: accepted ${accepted}, published ${published}, replayed ${replayed}`);
  return accepted;
}

export default async function run({ durationMs, repeats, log }) {
  const suffix = `bench-webhook-${Date.now().toString(36)}`;
  const service = await startService(
    'webhook-handler',
    {
      PORT: String(PORT),
      CIO_WEBHOOK_SIGNING_KEYS: `bench-old-key,${KEY}`,
      WEBHOOK_BASIC_AUTH: `bench-old-journey:bench-old-password-0123,${BASIC.user}:${BASIC.password}`,
      KAFKA_TOPIC_PREDICTIONS: `${suffix}.predictions`,
      KAFKA_TOPIC_REPORTING: `${suffix}.reporting`,
      KAFKA_TOPIC_TRACK: `${suffix}.track`,
      KAFKA_TOPIC_QUARANTINE: `${suffix}.webhooks.quarantine`,
      REDIS_URL: '',
      // as `npm run start --workspace services/webhook-handler` runs it: a young generation
      // capped at 16 MB per semi-space (Node 24 grows it to 64 MB under load)
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=16`,
    },
    { readyUrl: `http://127.0.0.1:${PORT}/readyz` },
  );
  const bare = await startBareExpress({
    port: BASELINE_PORT,
    path: PATH,
    limit: '256kb',
    answer: "{ status: 'accepted' }",
  });
  let handler;
  let journey;
  let baseline;
  let peakRss;
  try {
    [handler, journey, baseline] = await measure({
      targets: [
        { name: 'webhook-handler', port: PORT, style: 'hmac' },
        { name: 'webhook-handler (journey Basic)', port: PORT, style: 'basic' },
        { name: 'bare express', port: BASELINE_PORT, style: 'hmac' },
      ],
      durationMs,
      repeats,
      log,
    });
    const accepted = await checkCounters(PORT);
    log(`webhook: ${accepted} webhooks verified, published and acknowledged by Kafka`);
    peakRss = service.peakRssMb();
  } finally {
    await Promise.all([service.stop(), bare.stop()]);
  }
  return [
    {
      figure: 'signed webhooks/s via POST /webhooks/customer-io (verified, Kafka-acknowledged)',
      value: Math.round(handler.rps),
      unit: 'req/s',
      baseline: Math.round(baseline.rps),
      baselineName: 'bare express JSON endpoint',
      goal: '>= 3,000',
      met: handler.rps >= 3_000,
    },
    {
      figure: `p50 latency of a webhook at ${RATE} req/s`,
      value: handler.p50,
      unit: 'ms',
      baseline: baseline.p50,
      baselineName: 'bare express JSON endpoint',
    },
    {
      figure: `p99 latency of a webhook at ${RATE} req/s`,
      value: handler.p99,
      unit: 'ms',
      baseline: baseline.p99,
      baselineName: 'bare express JSON endpoint',
      goal: '< 50 ms',
      met: handler.p99 < 50,
    },
    {
      figure: 'journey webhooks/s (Basic credentials, no signature), Kafka-acknowledged',
      value: Math.round(journey.rps),
      unit: 'req/s',
      baseline: Math.round(handler.rps),
      baselineName: 'signed (HMAC) webhooks, same run',
    },
    {
      figure: `p99 latency of a journey webhook (Basic) at ${RATE} req/s`,
      value: journey.p99,
      unit: 'ms',
      baseline: handler.p99,
      baselineName: 'signed (HMAC) webhooks, same run',
    },
    {
      figure: 'webhook-handler peak RSS under load',
      value: peakRss,
      unit: 'MB',
      baseline: null,
      goal: '< 200 MB',
      met: peakRss < 200,
    },
  ];
}
