import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { signWebhook } from '@cio-bridge/cio-sandbox';
import { createRegistry } from '@cio-bridge/http';
import type { OutgoingMessage } from '@cio-bridge/kafka';
import {
  invalidPredictionFixtures,
  invalidReportingFixtures,
  reportingExamples,
  seedPredictionExamples,
  validateTrackOperation,
} from '@cio-bridge/schemas';
import { testLogger } from '@cio-bridge/testkit';
import { verifyRequestSignature } from 'customerio-node';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import request from 'supertest';
import { isValid as isUlid } from 'ulid';
import { createApp, type MessagePublisher, type WebhookAppOptions } from './app';
import { MemoryReplayStore } from './replay-store';

const KEY = 'whsec-new-6b1f0e';
const OLD_KEY = 'whsec-old-93d4aa';
const NOW_MS = 1_716_402_912_345;
const NOW_S = Math.floor(NOW_MS / 1000);
const topics = {
  predictions: 't.predictions',
  reporting: 't.reporting',
  track: 't.track',
  quarantine: 't.quarantine',
};

interface Published {
  topic: string;
  message: OutgoingMessage;
}

/** Records what would go to Kafka; `failWith` makes it reject, `hold` keeps it pending. */
class FakePublisher implements MessagePublisher {
  readonly published: Published[] = [];
  failWith: Error | undefined;
  hold: Promise<void> | undefined;
  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.hold) await this.hold;
    if (this.failWith) throw this.failWith;
    for (const message of messages) this.published.push({ topic, message });
  }
  on(topic: string) {
    return this.published.filter((p) => p.topic === topic).map((p) => p.message);
  }
}

let clock = NOW_MS;
function build(options: Partial<WebhookAppOptions> = {}) {
  const publisher = new FakePublisher();
  const registry = createRegistry();
  clock = NOW_MS;
  const now = () => clock;
  const app = createApp({
    logger: testLogger(),
    registry,
    publisher,
    topics,
    signingKeys: [KEY, OLD_KEY],
    replayStore: new MemoryReplayStore(1_000, now),
    now,
    ...options,
  });
  return { app, publisher, registry };
}

interface PostOptions {
  key?: string;
  timestamp?: number | string;
  signature?: string | null;
  timestampHeader?: string | null;
  path?: string;
  contentType?: string;
}

/** Posts `raw` as Customer.io would: signed (by the sandbox's signer) unless told otherwise. */
function post(app: Express, raw: string, options: PostOptions = {}) {
  const timestamp = String(options.timestamp ?? NOW_S);
  const signature =
    options.signature === undefined ? signWebhook(options.key ?? KEY, timestamp, raw) : options.signature;
  const timestampHeader = options.timestampHeader === undefined ? timestamp : options.timestampHeader;
  let req = request(app)
    .post(options.path ?? '/webhooks/customer-io')
    .set('Content-Type', options.contentType ?? 'application/json');
  if (signature !== null) req = req.set('X-CIO-Signature', signature);
  if (timestampHeader !== null) req = req.set('X-CIO-Timestamp', timestampHeader);
  return req.send(raw);
}

async function outcomeCount(registry: Registry, outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric('cio_bridge_webhook_requests_total')?.get();
  return metric?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

const churn = JSON.stringify(seedPredictionExamples().churn_risk);
const bounced = JSON.stringify(reportingExamples().email_bounced);

describe('webhook-handler: predictions', () => {
  it.each(Object.entries(seedPredictionExamples()))(
    'publishes the seed prediction %s, keyed by user id, once Kafka acknowledged',
    async (_name, example) => {
      const { app, publisher } = build();
      const raw = JSON.stringify(example);
      const res = await post(app, raw).expect(200);
      const webhookId = createHash('sha256').update(raw).digest('hex');
      expect(res.body).toEqual({ status: 'accepted', webhook_id: webhookId });
      expect(publisher.published).toHaveLength(1);
      const [message] = publisher.on(topics.predictions);
      expect(message?.key).toBe(String(example.user_id));
      expect(JSON.parse(String(message?.value))).toEqual({
        user_id: example.user_id,
        predictions: example.predictions,
        as_of: new Date(NOW_S * 1000).toISOString(),
        received_at: new Date(NOW_MS).toISOString(),
        webhook_id: webhookId,
      });
    },
  );

  it('answers on /api/webhooks/customer-io as well', async () => {
    const { app, publisher } = build();
    await post(app, churn, { path: '/api/webhooks/customer-io' }).expect(200);
    expect(publisher.on(topics.predictions)).toHaveLength(1);
  });

  it('accepts any combination of the seed prediction fields', async () => {
    const { app, publisher } = build();
    const raw = JSON.stringify({
      user_id: 'u-77',
      predictions: {
        churn_probability: 0.1,
        product_affinity_scores: { flower: 0.9 },
        purchase_probability: 0.3,
      },
    });
    await post(app, raw).expect(200);
    expect(publisher.on(topics.predictions)[0]?.key).toBe('u-77');
  });
});

describe('webhook-handler: reporting events', () => {
  it.each(Object.entries(reportingExamples()))(
    'publishes %s byte for byte, keyed by the Customer.io person id',
    async (_name, example) => {
      const { app, publisher } = build();
      // Odd spacing on purpose: the value must be the body as received, not re-serialized.
      const raw = JSON.stringify(example, null, 1);
      await post(app, raw).expect(200);
      expect(publisher.published).toHaveLength(1);
      const [message] = publisher.on(topics.reporting);
      expect(message?.key).toBe(example.data.identifiers?.id ?? example.data.customer_id);
      expect(Buffer.from(message?.value ?? '').toString('utf8')).toBe(raw);
    },
  );

  it('keys an event of a person without id by cio_id, and one of nobody by event id', async () => {
    const { app, publisher } = build();
    const base = reportingExamples().email_sent!;
    const cioOnly = {
      ...base,
      event_id: 'e-1',
      data: { ...base.data, customer_id: '', identifiers: { id: null, cio_id: 'c-9' } },
    };
    const nobody = { ...base, event_id: 'e-2', data: { delivery_id: 'd' } };
    await post(app, JSON.stringify(cioOnly)).expect(200);
    await post(app, JSON.stringify(nobody)).expect(200);
    expect(publisher.on(topics.reporting).map((m) => m.key)).toEqual(['c-9', 'e-2']);
  });
});

describe('webhook-handler: signatures', () => {
  const stale = NOW_S - 301;
  const future = NOW_S + 301;
  const cases: [string, PostOptions & { body?: string }, number][] = [
    ['a valid signature', {}, 200],
    ['the wrong key', { key: 'whsec-someone-else' }, 401],
    [
      'a tampered body',
      { signature: signWebhook(KEY, NOW_S, churn), body: churn.replace('0.78', '0.08') },
      401,
    ],
    [
      'the same JSON re-serialized',
      { signature: signWebhook(KEY, NOW_S, churn), body: JSON.stringify(JSON.parse(churn), null, 2) },
      401,
    ],
    ['a signature for another timestamp', { signature: signWebhook(KEY, NOW_S - 1, churn) }, 401],
    ['an upper-case signature', { signature: signWebhook(KEY, NOW_S, churn).toUpperCase() }, 401],
    ['a missing signature header', { signature: null }, 401],
    ['a missing timestamp header', { timestampHeader: null }, 401],
    ['a stale timestamp', { timestamp: stale }, 401],
    ['a future timestamp', { timestamp: future }, 401],
    ['a timestamp at the edge of the tolerance', { timestamp: NOW_S - 300 }, 200],
  ];

  it.each(cases)('answers %s as customerio-node decides', async (_name, options, status) => {
    const { app, publisher } = build();
    const raw = options.body ?? churn;
    const timestamp = String(options.timestamp ?? NOW_S);
    const res = await post(app, raw, options).expect(status);
    const signature =
      options.signature === undefined ? signWebhook(options.key ?? KEY, timestamp, raw) : options.signature;
    const fresh = Math.abs(NOW_S - Number(timestamp)) <= 300;
    const theirs =
      options.timestampHeader !== null &&
      fresh &&
      [KEY, OLD_KEY].some((signingSecret) =>
        verifyRequestSignature({ signingSecret, timestamp, body: raw, signature: signature as string }),
      );
    expect(status === 200).toBe(theirs);
    expect(publisher.published).toHaveLength(status === 200 ? 1 : 0);
    if (status === 401) expect(res.body.error).toMatch(/X-CIO-(Signature|Timestamp)/);
  });

  it('counts stale requests apart from bad signatures', async () => {
    const { app, registry } = build();
    await post(app, churn, { timestamp: NOW_S - 301 }).expect(401);
    await post(app, churn, { key: 'wrong' }).expect(401);
    await post(app, churn, { key: 'wrong' }).expect(401);
    expect(await outcomeCount(registry, 'stale')).toBe(1);
    expect(await outcomeCount(registry, 'bad_signature')).toBe(2);
  });

  it('accepts the old and the new key during a rotation, and only the new one after it', async () => {
    const during = build({ signingKeys: [KEY, OLD_KEY] });
    await post(during.app, churn, { key: OLD_KEY }).expect(200);
    await post(during.app, bounced, { key: KEY }).expect(200);
    expect(during.publisher.published).toHaveLength(2);
    const after = build({ signingKeys: [KEY] });
    await post(after.app, churn, { key: OLD_KEY }).expect(401);
    await post(after.app, churn, { key: KEY }).expect(200);
    expect(after.publisher.published).toHaveLength(1);
  });

  it('checks the signature before parsing: an unsigned malformed body is a 401', async () => {
    const { app } = build();
    const res = await post(app, '{"user_id":', { signature: 'f'.repeat(64) }).expect(401);
    expect(res.body.error).toMatch(/X-CIO-Signature does not match/);
  });
});

describe('webhook-handler: replays', () => {
  it('acknowledges a replayed request with 200 and does not publish it again', async () => {
    const { app, publisher, registry } = build();
    const first = await post(app, churn).expect(200);
    clock += 60_000;
    const again = await post(app, churn).expect(200);
    expect(again.body).toEqual({ status: 'replayed', webhook_id: first.body.webhook_id });
    expect(publisher.published).toHaveLength(1);
    expect(await outcomeCount(registry, 'replayed')).toBe(1);
    expect(await outcomeCount(registry, 'accepted')).toBe(1);
  });

  it('treats the same body signed again later (a sender retry) as a replay', async () => {
    const { app, publisher } = build();
    await post(app, churn).expect(200);
    clock += 120_000;
    await post(app, churn, { timestamp: Math.floor(clock / 1000) }).expect(200, /replayed/);
    expect(publisher.published).toHaveLength(1);
  });

  it('publishes the same body again once the window (twice the tolerance) has passed', async () => {
    const { app, publisher } = build({ toleranceSeconds: 60 });
    await post(app, churn).expect(200);
    clock += 121_000;
    await post(app, churn, { timestamp: Math.floor(clock / 1000) }).expect(200, /accepted/);
    expect(publisher.published).toHaveLength(2);
  });

  it('answers 503 to a duplicate that arrives while the first is still being published', async () => {
    const { app, publisher } = build();
    let release: () => void = () => {};
    publisher.hold = new Promise((resolve) => {
      release = resolve;
    });
    const first = post(app, churn).then((res) => res);
    await sleep(50);
    const duplicate = await post(app, churn).expect(503);
    expect(duplicate.headers['retry-after']).toBe('5');
    release();
    expect((await first).status).toBe(200);
    expect(publisher.published).toHaveLength(1);
  });
});

describe('webhook-handler: signed but invalid or unknown bodies are taken, never refused', () => {
  // The schema lists today's object types and metrics; Customer.io adds more over time.
  const UNKNOWN_KINDS = new Set(['metric_of_other_channel', 'unknown_object_type']);
  const invalid = [
    ...Object.entries(invalidPredictionFixtures()),
    ...Object.entries(invalidReportingFixtures()).filter(([name]) => !UNKNOWN_KINDS.has(name)),
  ];

  it.each(invalid)('quarantines %s with the reason naming the field', async (_name, fixture) => {
    const { app, publisher, registry } = build();
    const raw = JSON.stringify(fixture.value);
    const res = await post(app, raw).expect(200);
    const webhookId = createHash('sha256').update(raw).digest('hex');
    expect(res.body).toEqual({ status: 'quarantined', webhook_id: webhookId });
    expect(publisher.published).toHaveLength(1);
    const [message] = publisher.on(topics.quarantine);
    expect(message?.key).toBe(webhookId);
    expect(String(message?.value)).toBe(raw);
    const headers = message?.headers ?? {};
    for (const { pointer } of fixture.errors)
      expect(String(headers['x-quarantine-reason'])).toContain(pointer);
    expect(headers['x-cio-timestamp']).toBe(String(NOW_S));
    expect(headers['x-cio-signature']).toBe(signWebhook(KEY, NOW_S, raw));
    expect(headers['x-quarantine-received-at']).toBe(new Date(NOW_MS).toISOString());
    expect(await outcomeCount(registry, 'quarantined')).toBe(1);
  });

  it.each([...UNKNOWN_KINDS])('publishes %s to the reporting topic as received', async (name) => {
    const { app, publisher, registry } = build({ suppressOnBounce: true });
    const raw = JSON.stringify(invalidReportingFixtures()[name]?.value);
    await post(app, raw).expect(200, /accepted/);
    expect(publisher.published.map((p) => [p.topic, String(p.message.value)])).toEqual([
      [topics.reporting, raw],
    ]);
    expect(await outcomeCount(registry, 'accepted')).toBe(1);
    const unknown = await registry.getSingleMetric('cio_bridge_webhook_unknown_kinds_total')?.get();
    expect(unknown?.values[0]?.value).toBe(1);
  });

  it('publishes a bounce of an unknown object type without suppressing anybody', async () => {
    const { app, publisher } = build({ suppressOnBounce: true });
    const raw = JSON.stringify({ ...reportingExamples().email_bounced, object_type: 'email_v2' });
    await post(app, raw).expect(200, /accepted/);
    expect(publisher.published.map((p) => p.topic)).toEqual([topics.reporting]);
  });

  it.each([
    ['an array', '[1,2]'],
    ['a string', '"hello"'],
  ])('quarantines %s: JSON, but not an object', async (_name, raw) => {
    const { app, publisher } = build();
    await post(app, raw).expect(200, /quarantined/);
    expect(publisher.on(topics.quarantine).map((m) => String(m.value))).toEqual([raw]);
    expect(String(publisher.published[0]?.message.headers?.['x-quarantine-reason'])).toMatch(
      /must be a JSON object/,
    );
  });
});

describe('webhook-handler: rejected requests publish nothing', () => {
  it('answers 400 for malformed JSON', async () => {
    const { app, publisher, registry } = build();
    const res = await post(app, '{"user_id": 1,').expect(400);
    expect(res.body.error).toMatch(/^malformed JSON/);
    expect(publisher.published).toHaveLength(0);
    expect(await outcomeCount(registry, 'invalid')).toBe(1);
  });

  it('answers 413 for a body over the limit', async () => {
    const { app, publisher, registry } = build({ bodyLimitBytes: 2_048 });
    const raw = JSON.stringify({ user_id: 1, predictions: { next_best_action: 'x'.repeat(3_000) } });
    const res = await post(app, raw).expect(413);
    expect(res.body.error).toMatch(/exceeds the limit of 2048 bytes/);
    expect(publisher.published).toHaveLength(0);
    expect(await outcomeCount(registry, 'invalid')).toBe(1);
  });

  it('answers 415 for another content type', async () => {
    const { app, publisher } = build();
    await post(app, churn, { contentType: 'text/plain' }).expect(415);
    await post(app, churn, { contentType: 'application/x-www-form-urlencoded' }).expect(415);
    expect(publisher.published).toHaveLength(0);
  });
});

describe('webhook-handler: Kafka unavailable', () => {
  it('answers 503 with Retry-After, and publishes the sender retry once Kafka is back', async () => {
    const { app, publisher, registry } = build();
    publisher.failWith = new Error('Kafka did not acknowledge within 5000 ms');
    const res = await post(app, churn).expect(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body.error).toMatch(/Kafka did not acknowledge/);
    expect(publisher.published).toHaveLength(0);
    expect(await outcomeCount(registry, 'unavailable')).toBe(1);
    publisher.failWith = undefined;
    // The failed attempt did not count as accepted: the retry is published, not a replay.
    await post(app, churn).expect(200, /accepted/);
    expect(publisher.published).toHaveLength(1);
  });

  it('answers 503 once publishing took longer than publishTimeoutMs, and takes the retry', async () => {
    const { app, publisher, registry } = build({ publishTimeoutMs: 100 });
    publisher.hold = new Promise(() => {}); // Kafka never answers
    const res = await post(app, churn).expect(503);
    expect(res.body.error).toMatch(/Kafka did not acknowledge/);
    expect(await outcomeCount(registry, 'unavailable')).toBe(1);
    publisher.hold = undefined;
    await post(app, churn).expect(200, /accepted/);
    expect(publisher.on(topics.predictions)).toHaveLength(1);
  });

  it('answers 503 when the replay store cannot be asked', async () => {
    const { app, publisher } = build({
      replayStore: {
        kind: 'redis',
        claim: () => Promise.reject(new Error('Redis is away')),
        confirm: async () => {},
        release: async () => {},
      },
    });
    const res = await post(app, churn).expect(503);
    expect(res.body.error).toMatch(/replay store/);
    expect(publisher.published).toHaveLength(0);
  });
});

describe('webhook-handler: suppress on bounce', () => {
  const spammed = JSON.stringify({
    ...reportingExamples().email_bounced,
    metric: 'spammed',
    event_id: '01E4C4CT6YDC7Y5M7FE1GWWPQZ',
    data: {
      recipient: 'jane.doe@example.com',
      subject: 'Hi',
      identifiers: { id: null, email: 'jane.doe@example.com' },
    },
  });

  it('is off by default: a bounce only goes to the reporting topic', async () => {
    const { app, publisher } = build();
    await post(app, bounced).expect(200);
    expect(publisher.on(topics.reporting)).toHaveLength(1);
    expect(publisher.on(topics.track)).toHaveLength(0);
  });

  it.each([
    ['bounced', bounced, 'user-123', { id: 'user-123' }],
    ['spammed', spammed, 'jane.doe@example.com', { email: 'jane.doe@example.com' }],
  ])(
    'when on, an email %s event also publishes a valid suppress operation',
    async (_name, raw, key, identifiers) => {
      const { app, publisher } = build({ suppressOnBounce: true });
      await post(app, raw).expect(200);
      expect(publisher.on(topics.reporting)).toHaveLength(1);
      const [op] = publisher.on(topics.track);
      expect(op?.key).toBe(key);
      const operation = JSON.parse(String(op?.value));
      expect(operation).toMatchObject({ action: 'suppress', identifiers });
      expect(isUlid(operation.id)).toBe(true);
      expect(validateTrackOperation(operation)).toEqual({ ok: true, value: operation });
    },
  );

  const bounceOf = (data: Record<string, unknown>, eventId: string) =>
    JSON.stringify({
      ...reportingExamples().email_bounced,
      event_id: eventId,
      data: { subject: 'Hi', ...data },
    });

  it('validates the suppress operation like any Track operation: a recipient that is no email suppresses nobody', async () => {
    const { app, publisher } = build({ suppressOnBounce: true });
    const raw = bounceOf(
      { recipient: 'jane at example dot com', identifiers: {} },
      '01E4C4CT6YDC7Y5M7FE1GWWPR1',
    );
    await post(app, raw).expect(200);
    expect(publisher.on(topics.reporting)).toHaveLength(1);
    expect(publisher.on(topics.track)).toHaveLength(0);
  });

  it('falls back to the next identifier when one would make an invalid operation', async () => {
    const { app, publisher } = build({ suppressOnBounce: true });
    const raw = bounceOf(
      {
        recipient: 'jane.doe@example.com',
        identifiers: { id: 'x'.repeat(151), email: 'jane.doe@example.com' },
      },
      '01E4C4CT6YDC7Y5M7FE1GWWPR2',
    );
    await post(app, raw).expect(200);
    const [op] = publisher.on(topics.track);
    const operation = JSON.parse(String(op?.value));
    expect(operation).toMatchObject({ action: 'suppress', identifiers: { email: 'jane.doe@example.com' } });
    expect(validateTrackOperation(operation).ok).toBe(true);
  });

  it('gives a redelivered bounce the same operation id, so Customer.io drops the duplicate', async () => {
    const first = build({ suppressOnBounce: true });
    const second = build({ suppressOnBounce: true });
    await post(first.app, bounced).expect(200);
    await post(second.app, bounced, { timestamp: NOW_S + 10 }).expect(200);
    const ids = [first, second].map((b) => JSON.parse(String(b.publisher.on(topics.track)[0]?.value)).id);
    expect(ids[0]).toBe(ids[1]);
  });

  it('does not suppress for other metrics or channels', async () => {
    const { app, publisher } = build({ suppressOnBounce: true });
    await post(app, JSON.stringify(reportingExamples().email_sent)).expect(200);
    await post(app, JSON.stringify({ ...reportingExamples().sms_sent, metric: 'bounced' })).expect(200);
    expect(publisher.on(topics.reporting)).toHaveLength(2);
    expect(publisher.on(topics.track)).toHaveLength(0);
  });
});

describe('webhook-handler: operations', () => {
  it('serves healthz, readyz and metrics with outcomes and processing time', async () => {
    let kafkaUp = true;
    const { app } = build({
      readiness: {
        kafka: () => {
          if (!kafkaUp) throw new Error('Kafka did not answer');
        },
      },
    });
    await request(app).get('/healthz').expect(200);
    await request(app).get('/readyz').expect(200);
    kafkaUp = false;
    await request(app)
      .get('/readyz')
      .expect(503, { status: 'not ready', checks: { kafka: 'failing' } });
    await post(app, churn).expect(200);
    const { text } = await request(app).get('/metrics').expect(200);
    expect(text).toMatch(/cio_bridge_webhook_requests_total\{outcome="accepted"\} 1/);
    expect(text).toMatch(/cio_bridge_webhook_requests_total\{outcome="unavailable"\} 0/);
    expect(text).toMatch(/cio_bridge_webhook_processing_duration_seconds_count\{outcome="accepted"\} 1/);
    expect(text).toMatch(/cio_bridge_webhook_messages_published_total\{kind="prediction"\} 1/);
    expect(text).toMatch(/cio_bridge_webhook_kafka_ack_duration_seconds_count 1/);
  });

  it('refuses to build without a signing key', () => {
    expect(() => build({ signingKeys: [] })).toThrow(/signingKeys/);
  });
});
