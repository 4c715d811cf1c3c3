// Synchronous delivery (Prefer: wait): latency of waited requests at 200 requests/s
// with Customer.io (the sandbox) answering in 50 ms, against the 202 path and the
// stand-in's own latency in the same run; the worker's throughput with 0 % and 10 % of
// operations waited for; the producer's peak RSS while 5,000 operations are waited for.
// Every part is a real process on the real broker.
import { createRequire } from 'node:module';
import { httpLoad, median, peakRssMb, sleep, startService } from '../lib.mjs';
import {
  cpuSeconds,
  kafkaClient,
  measure,
  PEOPLE,
  sandboxAdmin,
  sandboxEnv,
  workerEnv,
} from './worker-fast.mjs';

const require = createRequire(import.meta.url);
const { seedExamples } = require('@cio-bridge/schemas');

const RATE = 200;
const CIO_LATENCY_MS = 50;
const WAITED = 5_000;
const THROUGHPUT_OPERATIONS = 100_000;
const TOKEN = 'bench-sync-token-0123456789';
const ports = { sandbox: 18490, producer: 18481, worker: 18484 };
const example = seedExamples().product_scanned;

/** Topics of this run's own; `waitedShare` of the track topic's operations carry x-reply-to. */
async function fillTopics(kafka, run, waitedShare, count, log) {
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
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const every = waitedShare > 0 ? Math.round(1 / waitedShare) : 0;
  for (let start = 0; start < count; start += 5_000) {
    const messages = [];
    for (let i = start; i < Math.min(count, start + 5_000); i++) {
      const person = `user-${i % PEOPLE}`;
      const id = `01J${String(i).padStart(23, '0')}`;
      const headers = every > 0 && i % every === 0 ? { 'x-reply-to': '0', 'x-operation-id': id } : {};
      messages.push({
        key: person,
        value: JSON.stringify({ ...example, id, identifiers: { id: person } }),
        headers,
      });
    }
    await producer.send({ topic: topics.track, acks: -1, messages });
  }
  await producer.disconnect();
  log(`sync: filled ${topics.track} (${Math.round(waitedShare * 100)} % waited)`);
  return topics;
}

export default async function run({ durationMs, repeats, log }) {
  const run = `bench-sync-${Date.now().toString(36)}`;
  const topicEnv = {
    KAFKA_TOPIC_TRACK: `${run}.track`,
    KAFKA_TOPIC_TRANSACTIONAL: `${run}.transactional`,
    KAFKA_TOPIC_DLQ: `${run}.dlq`,
    KAFKA_TOPIC_REPLIES: `${run}.replies`,
  };
  const sandboxUrl = `http://127.0.0.1:${ports.sandbox}`;
  const producerUrl = `http://127.0.0.1:${ports.producer}`;
  const sandbox = await startService('cio-sandbox', sandboxEnv(ports.sandbox), {
    readyUrl: `${sandboxUrl}/readyz`,
  });
  const rows = [];
  try {
    // 1. Latency: the stand-in alone, then through the producer with and without waiting.
    await sandboxAdmin(sandboxUrl, '/faults', 'PUT', { latencyMs: CIO_LATENCY_MS });
    const basic = `Basic ${Buffer.from('bench-site:bench-key').toString('base64')}`;
    let n = 0;
    const bodies = Array.from({ length: PEOPLE }, (_, i) =>
      JSON.stringify({ ...example, id: undefined, identifiers: { id: `person-${i}` } }),
    );
    const standIn = await httpLoad({
      url: `${sandboxUrl}/api/v2/entity`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic },
      requests: [
        {
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({
              type: 'person',
              action: 'event',
              name: 'product_scanned',
              identifiers: { id: `stand-in-${n++ % PEOPLE}` },
            }),
          }),
        },
      ],
      connections: 20,
      overallRate: RATE,
      duration: durationMs / 1000,
    });
    const producer = await startService(
      'producer',
      { PORT: String(ports.producer), INGEST_API_TOKENS: TOKEN, ...topicEnv },
      { readyUrl: `${producerUrl}/readyz` },
    );
    let worker = await startService(
      'cio-worker',
      workerEnv(
        {
          track: topicEnv.KAFKA_TOPIC_TRACK,
          transactional: topicEnv.KAFKA_TOPIC_TRANSACTIONAL,
          dlq: topicEnv.KAFKA_TOPIC_DLQ,
        },
        sandboxUrl,
        ports.worker,
        `${run}-latency`,
        {
          KAFKA_TOPIC_REPLIES: topicEnv.KAFKA_TOPIC_REPLIES,
          CIO_RATE_LIMIT_RPS: '1000',
        },
      ),
      { readyUrl: `http://127.0.0.1:${ports.worker}/readyz` },
    );
    try {
      let next = 0;
      const load = (prefer, duration) =>
        httpLoad({
          url: `${producerUrl}/v1/track`,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${TOKEN}`,
            ...(prefer ? { prefer } : {}),
          },
          requests: [{ setupRequest: (request) => ({ ...request, body: bodies[next++ % PEOPLE] }) }],
          // a waited request holds its connection for the round trip through Customer.io
          connections: 100,
          overallRate: RATE,
          duration: duration / 1000,
        });
      log('sync: warm-up');
      await load('wait=10', 2_000);
      const waited = { p50: [], p99: [], non2xx: 0, requests: 0 };
      const plain = { p50: [], p99: [] };
      for (let r = 0; r < repeats; r++) {
        const w = await load('wait=10', durationMs);
        const p = await load(undefined, durationMs);
        waited.p50.push(w.p50);
        waited.p99.push(w.p99);
        waited.non2xx += w.non2xx;
        waited.requests += w.requests;
        plain.p50.push(p.p50);
        plain.p99.push(p.p99);
        log(
          `sync: repeat ${r + 1}: waited p50 ${w.p50} p99 ${w.p99} ms; 202 path p50 ${p.p50} p99 ${p.p99} ms`,
        );
      }
      const metrics = await fetch(`${producerUrl}/metrics`).then((res) => res.text());
      const answered = Number(
        /cio_bridge_producer_waits_total\{result="answered"\} (\d+)/.exec(metrics)?.[1] ?? 0,
      );
      const timedOut = Number(
        /cio_bridge_producer_waits_total\{result="timed_out"\} (\d+)/.exec(metrics)?.[1] ?? 0,
      );
      rows.push(
        {
          figure: `p50 latency of Prefer: wait requests at ${RATE}/s, Customer.io answering in ${CIO_LATENCY_MS} ms`,
          value: median(waited.p50),
          unit: 'ms',
          baseline: median(plain.p50),
          baselineName: 'the 202 path, same run',
        },
        {
          figure: `p99 latency of Prefer: wait requests at ${RATE}/s`,
          value: median(waited.p99),
          unit: 'ms',
          baseline: median(plain.p99),
          baselineName: 'the 202 path, same run',
        },
        {
          figure: 'waited requests answered 200 (all outcomes known) / timed out (202)',
          value: answered,
          unit: `answered, ${timedOut} timed out`,
          baseline: null,
        },
        {
          figure: `the stand-in's own latency at ${RATE}/s (p50 / p99)`,
          value: standIn.p50,
          unit: `ms / ${standIn.p99} ms`,
          baseline: null,
        },
      );

      // 2. Peak RSS of the producer while 5,000 operations are waited for (nothing answers them).
      await worker.stop();
      const rssBefore = peakRssMb(producer.pid);
      const batch = (k) =>
        JSON.stringify({
          batch: Array.from({ length: 10 }, (_, i) => JSON.parse(bodies[(k * 10 + i) % PEOPLE])),
        });
      const pending = Array.from({ length: WAITED / 10 }, (_, k) =>
        fetch(`${producerUrl}/v1/track`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${TOKEN}`,
            prefer: 'wait=30',
          },
          body: batch(k),
        }).then((res) => res.status),
      );
      for (let waitedFor = 0; waitedFor < WAITED; ) {
        await sleep(200);
        const text = await fetch(`${producerUrl}/metrics`).then((res) => res.text());
        waitedFor = Number(/^cio_bridge_producer_waiting_operations (\d+)/m.exec(text)?.[1] ?? 0);
      }
      const rssWaiting = peakRssMb(producer.pid);
      log(
        `sync: ${WAITED} operations waited for; producer peak RSS ${rssWaiting} MB (before ${rssBefore} MB)`,
      );
      const statuses = await Promise.all(pending);
      rows.push({
        figure: `producer peak RSS while ${WAITED.toLocaleString('en-US')} operations are waited for`,
        value: rssWaiting,
        unit: 'MB',
        baseline: rssBefore,
        baselineName: 'its peak after the latency runs',
        goal: '< 250 MB',
        met: rssWaiting < 250 && statuses.every((status) => status === 202),
      });
      worker = undefined;
    } finally {
      await worker?.stop();
      await producer.stop();
    }

    // 3. Worker throughput with 0 % and 10 % of the operations waited for (replies published).
    await sandboxAdmin(sandboxUrl, '/faults', 'DELETE');
    const kafka = kafkaClient('bench-sync');
    const shares = [0, 0.1];
    const filled = {};
    for (const share of shares)
      filled[share] = await fillTopics(kafka, `${run}-w${share * 100}`, share, THROUGHPUT_OPERATIONS, log);
    const rates = { 0: [], 0.1: [] };
    const cpu = { 0: [], 0.1: [] };
    for (let r = 0; r < repeats; r++) {
      for (const share of shares) {
        await sandboxAdmin(sandboxUrl, '/reset', 'POST');
        const throughputWorker = await startService(
          'cio-worker',
          workerEnv(filled[share], sandboxUrl, ports.worker, `${run}-w${share * 100}-${r}`, {
            CIO_RATE_LIMIT_RPS: '1000',
            KAFKA_TOPIC_REPLIES: topicEnv.KAFKA_TOPIC_REPLIES,
          }),
          { readyUrl: `http://127.0.0.1:${ports.worker}/readyz` },
        );
        try {
          let cpuAtStart = 0;
          const result = await measure(
            async () => {
              const counters = await sandboxAdmin(sandboxUrl, '/counters');
              return counters.accepted + counters.duplicates;
            },
            {
              warmUp: 10_000,
              durationMs,
              total: THROUGHPUT_OPERATIONS,
              onStart: () => {
                cpuAtStart = cpuSeconds(throughputWorker.pid);
              },
            },
          );
          rates[share].push(result.rate);
          cpu[share].push(
            ((cpuSeconds(throughputWorker.pid) - cpuAtStart) / (result.to - result.from)) * 1e6,
          );
          log(`sync: worker with ${share * 100} % waited, repeat ${r + 1}: ${Math.round(result.rate)} ops/s`);
        } finally {
          await throughputWorker.stop();
        }
      }
    }
    rows.push(
      {
        figure: 'worker operations/s with 10 % of operations waited for (a reply each)',
        value: Math.round(median(rates[0.1])),
        unit: 'ops/s',
        baseline: Math.round(median(rates[0])),
        baselineName: '0 % waited, same run',
      },
      {
        figure: 'worker CPU time per operation with 10 % waited for',
        value: Math.round(median(cpu[0.1])),
        unit: 'µs/op',
        baseline: Math.round(median(cpu[0])),
        baselineName: '0 % waited',
      },
    );
  } finally {
    await sandbox.stop();
  }
  return rows;
}
