// The least a Kafka -> Customer.io forwarder must do, as the `ceiling` scenario's
// same-run baseline: read with kafkajs, parse each operation, pack ~450 KB v2 batch
// bodies, post up to 32 at once to /api/v2/batch, commit after each fetched batch. No
// per-person order, no validation, no retries, no dead letters. Run as its own process
// (its CPU time is measured): node bench/support/minimal-forwarder.mjs, configured by
// FORWARDER_BROKERS, FORWARDER_TOPIC, FORWARDER_GROUP, FORWARDER_URL, FORWARDER_AUTH.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');

const PACK_BYTES = 450 * 1024;
const IN_FLIGHT = 32;
const env = process.env;
const url = `${env.FORWARDER_URL}/api/v2/batch`;
const authorization = `Basic ${Buffer.from(env.FORWARDER_AUTH).toString('base64')}`;

let inFlight = 0;
const slotWaiters = [];
async function post(items) {
  while (inFlight >= IN_FLIGHT) await new Promise((resolve) => slotWaiters.push(resolve));
  inFlight++;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: `{"batch":[${items.join(',')}]}`,
    });
    await response.arrayBuffer();
  } finally {
    inFlight--;
    slotWaiters.shift()?.();
  }
}

/** A seed-shaped event as a v2 batch item. */
function v2Item(value) {
  const op = JSON.parse(value);
  return JSON.stringify({
    type: 'person',
    action: op.action ?? 'event',
    identifiers: op.identifiers,
    name: op.name,
    id: op.id,
    timestamp: Math.floor(Date.parse(op.timestamp) / 1000),
    attributes: op.data,
  });
}

const kafka = new Kafka({
  clientId: 'bench-minimal-forwarder',
  brokers: env.FORWARDER_BROKERS.split(','),
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({ groupId: env.FORWARDER_GROUP, maxBytes: 10 * 1024 * 1024 });
await consumer.connect();
await consumer.subscribe({ topic: env.FORWARDER_TOPIC, fromBeginning: true });
await consumer.run({
  partitionsConsumedConcurrently: 12,
  eachBatch: async ({ batch }) => {
    const posts = [];
    let pack = [];
    let bytes = 0;
    for (const message of batch.messages) {
      const item = v2Item(message.value.toString());
      pack.push(item);
      bytes += item.length + 1;
      if (bytes >= PACK_BYTES) {
        posts.push(post(pack));
        pack = [];
        bytes = 0;
      }
    }
    if (pack.length > 0) posts.push(post(pack));
    await Promise.all(posts);
  },
});
process.once('SIGTERM', () => {
  void consumer.disconnect().finally(() => process.exit(0));
});
