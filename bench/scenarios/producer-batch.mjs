// Producer throughput: events/s through POST /v1/track with 100-event batches
// (validation, ids, acks=all on Kafka), against a bare kafkajs idempotent producer
// sending the same messages from this process; and the producer's peak RSS.
import { createRequire } from 'node:module';
import { httpLoad, median, sleep, startService } from '../lib.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel, Partitioners } = require('kafkajs');
const { monotonicFactory } = require('ulid');
const { personKey, seedExamples } = require('@cio-bridge/schemas');

const BATCH = 100;
const PORT = 18281;
const CONNECTIONS = 16;
const TOKEN = 'bench-producer-token';

/** 100 seed events for 100 different people (so they spread over the partitions). */
function batchOfEvents() {
  const seeds = Object.values(seedExamples());
  return Array.from({ length: BATCH }, (_, i) => ({
    ...seeds[i % seeds.length],
    identifiers: { id: `bench-user-${i}` },
  }));
}

async function bareKafkajs({ brokers, topic, durationMs, events }) {
  const kafka = new Kafka({ clientId: 'bench-bare', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const newId = monotonicFactory();
  const messages = () =>
    events.map((op) => {
      const value = { ...op, id: newId() };
      return {
        key: personKey(value),
        value: JSON.stringify(value),
        headers: { 'x-operation-id': value.id, 'x-producer': 'bench' },
      };
    });
  const run = async (ms) => {
    let sent = 0;
    const deadline = Date.now() + ms;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (Date.now() < deadline) {
          await producer.send({ topic, acks: -1, messages: messages() });
          sent += BATCH;
        }
      }),
    );
    return (sent / (Date.now() - started)) * 1000;
  };
  return { warmUp: () => run(2_000), run: () => run(durationMs), close: () => producer.disconnect() };
}

export default async function run({ durationMs, repeats, log }) {
  const suffix = `bench-producer-batch-${Date.now().toString(36)}`;
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const events = batchOfEvents();
  const body = JSON.stringify({ batch: events });

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
  const load = (ms) =>
    httpLoad({
      url: `http://127.0.0.1:${PORT}/v1/track`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
      connections: CONNECTIONS,
      duration: ms / 1000,
    });
  const producerRates = [];
  let peakRss;
  try {
    log(`producer-batch: ${body.length} byte bodies of ${BATCH} events; warm-up`);
    await load(2_000);
    for (let i = 0; i < repeats; i++) {
      const result = await load(durationMs);
      if (result.errors || result.non2xx)
        throw new Error(`producer answered ${result.non2xx} non-2xx, ${result.errors} errors`);
      producerRates.push(result.rps * BATCH);
      log(
        `producer-batch: run ${i + 1}: ${Math.round(result.rps * BATCH)} events/s (p99 ${result.p99} ms per request)`,
      );
    }
    peakRss = service.peakRssMb();
  } finally {
    await service.stop();
  }

  await sleep(500);
  const bare = await bareKafkajs({ brokers, topic: `${suffix}.bare`, durationMs, events });
  const bareRates = [];
  try {
    await bare.warmUp();
    for (let i = 0; i < repeats; i++) {
      bareRates.push(await bare.run());
      log(`producer-batch: bare kafkajs run ${i + 1}: ${Math.round(bareRates.at(-1))} events/s`);
    }
  } finally {
    await bare.close();
  }

  const rate = Math.round(median(producerRates));
  return [
    {
      figure: `events/s via POST /v1/track (${BATCH}-event batches)`,
      value: rate,
      unit: 'events/s',
      baseline: Math.round(median(bareRates)),
      baselineName: 'bare kafkajs producer',
      goal: '>= 20,000',
      met: rate >= 20_000,
    },
    {
      figure: 'producer peak RSS under batch load',
      value: peakRss,
      unit: 'MB',
      baseline: null,
      goal: '< 200 MB',
      met: peakRss < 200,
    },
  ];
}
