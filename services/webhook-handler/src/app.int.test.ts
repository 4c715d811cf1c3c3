import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Sandbox, startSandbox } from '@cio-bridge/cio-sandbox';
import { closeServer, createRegistry, listen } from '@cio-bridge/http';
import { Publisher } from '@cio-bridge/kafka';
import {
  personKey,
  reportingExamples,
  seedPredictionExamples,
  type TrackOperation,
  validateTrackOperation,
} from '@cio-bridge/schemas';
import {
  createTestTopics,
  readMessages,
  testKafka,
  testLogger,
  testRedisUrl,
  testTopicNames,
  uniqueName,
} from '@cio-bridge/testkit';
import { Redis } from 'ioredis';
import type { Kafka, Producer } from 'kafkajs';
import { createApp, type WebhookAppOptions } from './app';
import { createWebhookProducer } from './producer';
import { RedisReplayStore } from './replay-store';

jest.setTimeout(90_000);

const KEY = 'whsec-int-current';
const OLD_KEY = 'whsec-int-previous';

describe('webhook-handler against the real broker', () => {
  const topics = testTopicNames('webhook-int');
  let kafka: Kafka;
  let producer: Producer;
  let publisher: Publisher;
  let sandbox: Sandbox;
  const servers: Server[] = [];

  beforeAll(async () => {
    kafka = await testKafka('webhook-int');
    await createTestTopics(kafka, topics);
    producer = createWebhookProducer(kafka);
    await producer.connect();
    publisher = new Publisher({ producer, timeoutMs: 5_000 });
    sandbox = await startSandbox({ logger: testLogger('sandbox') });
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => closeServer(server)));
    await sandbox?.close();
    await producer?.disconnect();
  });

  /** Starts a replica on a free port; returns its webhook URL. */
  async function startReplica(options: Partial<WebhookAppOptions> = {}): Promise<string> {
    const app = createApp({
      logger: testLogger('webhook-handler'),
      registry: createRegistry(),
      publisher,
      topics,
      signingKeys: [KEY, OLD_KEY],
      ...options,
    });
    const server = await listen(app, 0, '127.0.0.1');
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/customer-io`;
  }

  /** Asks the sandbox to sign and post a webhook as Customer.io does (with retries). */
  async function sendViaSandbox(body: {
    url: string;
    signingKey: string;
    body: unknown;
    timestamp?: number;
    maxAttempts?: number;
  }) {
    const response = await fetch(`${sandbox.url}/_sandbox/webhooks`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      status: number;
      attempts: number;
      delivered: boolean;
      timestamp: number;
    };
  }

  it('turns a sandbox-signed prediction webhook into a message on the predictions topic', async () => {
    const url = await startReplica();
    const example = seedPredictionExamples().product_affinity!;
    const raw = JSON.stringify({ ...example, user_id: 4242 });
    const result = await sendViaSandbox({ url, signingKey: KEY, body: raw });
    expect(result).toMatchObject({ status: 200, attempts: 1, delivered: true });

    const [message, ...more] = await readMessages(kafka, topics.predictions, { count: 1, settleMs: 500 });
    expect(more).toHaveLength(0);
    expect(message?.key?.toString()).toBe('4242');
    const value = JSON.parse(String(message?.value));
    expect(value).toEqual({
      user_id: 4242,
      predictions: example.predictions,
      as_of: new Date(result.timestamp * 1000).toISOString(),
      received_at: expect.any(String),
      webhook_id: createHash('sha256').update(raw).digest('hex'),
    });
    expect(Date.parse(value.received_at)).toBeGreaterThanOrEqual(result.timestamp * 1000);
  });

  it('publishes a reporting event as received and, when enabled, a suppress operation for a bounce', async () => {
    const url = await startReplica({ suppressOnBounce: true });
    const raw = JSON.stringify(reportingExamples().email_bounced, null, 2);
    expect(await sendViaSandbox({ url, signingKey: OLD_KEY, body: raw })).toMatchObject({ delivered: true });

    const [event] = await readMessages(kafka, topics.reporting, { count: 1 });
    expect(event?.key?.toString()).toBe('user-123');
    expect(event?.value?.toString()).toBe(raw);
    const [track] = await readMessages(kafka, topics.track, { count: 1 });
    const operation = JSON.parse(String(track?.value)) as TrackOperation;
    expect(validateTrackOperation(operation).ok).toBe(true);
    expect(operation).toMatchObject({ action: 'suppress', identifiers: { id: 'user-123' } });
    expect(track?.key?.toString()).toBe(personKey(operation));
  });

  it('shares replay protection between replicas through Redis: the same webhook is published once', async () => {
    const prefix = `${uniqueName('wh-int')}:`;
    const clients = [new Redis(testRedisUrl()), new Redis(testRedisUrl())];
    try {
      const [a, b] = clients.map((redis) => new RedisReplayStore(redis, prefix));
      const urlA = await startReplica({ replayStore: a });
      const urlB = await startReplica({ replayStore: b });
      const raw = JSON.stringify({ user_id: 'replica-test', predictions: { churn_probability: 0.5 } });
      const timestamp = Math.floor(Date.now() / 1000);
      const first = await sendViaSandbox({ url: urlA, signingKey: KEY, body: raw, timestamp });
      const second = await sendViaSandbox({ url: urlB, signingKey: KEY, body: raw, timestamp });
      expect([first.status, second.status]).toEqual([200, 200]);

      const messages = await readMessages(kafka, topics.predictions, {
        count: 3,
        timeoutMs: 5_000,
        settleMs: 500,
      });
      const copies = messages.filter((m) => m.key?.toString() === 'replica-test');
      expect(copies).toHaveLength(1);
    } finally {
      await Promise.all(clients.map((redis) => redis.quit()));
    }
  });

  it('answers a replayed request 200 without publishing it again (in-process store)', async () => {
    const url = await startReplica();
    const raw = JSON.stringify({ user_id: 'replay-test', predictions: { purchase_probability: 0.9 } });
    const timestamp = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 3; i++) {
      expect(await sendViaSandbox({ url, signingKey: KEY, body: raw, timestamp })).toMatchObject({
        status: 200,
      });
    }
    const messages = await readMessages(kafka, topics.predictions, {
      count: 10,
      timeoutMs: 5_000,
      settleMs: 500,
    });
    expect(messages.filter((m) => m.key?.toString() === 'replay-test')).toHaveLength(1);
  });

  it('rejects what Customer.io did not sign, and the sandbox gives up after its retries', async () => {
    const url = await startReplica();
    const raw = JSON.stringify({ user_id: 'forged', predictions: { churn_probability: 0.1 } });
    const result = await sendViaSandbox({ url, signingKey: 'not-our-key', body: raw, maxAttempts: 2 });
    expect(result).toMatchObject({ status: 401, attempts: 2, delivered: false });
    const messages = await readMessages(kafka, topics.predictions, {
      count: 10,
      timeoutMs: 3_000,
      settleMs: 500,
    });
    expect(messages.filter((m) => m.key?.toString() === 'forged')).toHaveLength(0);
  });
});
