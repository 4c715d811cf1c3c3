import { type OutgoingMessage, PublishTimeoutError } from '@cio-bridge/kafka';
import { seedExamples, type TrackOperation, validateTrackOperation } from '@cio-bridge/schemas';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CioPublisher,
  InvalidOperationError,
  type MessagePublisher,
  operations,
  PublishError,
  type SeedEventData,
} from './index';

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

class FakePublisher implements MessagePublisher {
  readonly sent: { topic: string; messages: OutgoingMessage[] }[] = [];
  failWith: Error | undefined;

  async publish(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push({ topic, messages });
  }

  get messages(): OutgoingMessage[] {
    return this.sent.flatMap((s) => s.messages);
  }

  values(): TrackOperation[] {
    return this.messages.map((m) => JSON.parse(String(m.value)));
  }
}

function setup(options: { maxMessagesPerPublish?: number } = {}) {
  const fake = new FakePublisher();
  const sdk = new CioPublisher({
    publisher: fake,
    topics: { track: 't.track', transactional: 't.transactional' },
    ...options,
  });
  return { fake, sdk };
}

const seed = seedExamples();
const dataOf = <N extends keyof SeedEventData>(name: N) => seed[name]?.data as unknown as SeedEventData[N];

describe('CioPublisher: trace context', () => {
  it("writes the app's active W3C trace context into the message headers, and nothing without one", async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    try {
      const { fake, sdk } = setup();
      const spanContext = {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: 1,
      };
      const active = trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(spanContext));
      await context.with(active, () => sdk.send(seed.product_scanned as TrackOperation));
      await sdk.send(seed.product_scanned as TrackOperation);
      const [traced, untraced] = fake.messages;
      expect(traced?.headers?.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
      expect(untraced?.headers?.traceparent).toBeUndefined();
    } finally {
      context.disable();
    }
  });
});

describe('CioPublisher: Track operations', () => {
  it('sends a seed payload as-is plus a ULID id, keyed by the person, on the track topic', async () => {
    const { fake, sdk } = setup();
    const op = seed.product_scanned as TrackOperation;
    const sent = await sdk.send(op);
    expect(sent.id).toMatch(ULID);
    expect(sent.key).toBe('user-123');
    expect(fake.sent).toHaveLength(1);
    expect(fake.sent[0]?.topic).toBe('t.track');
    const [message] = fake.messages;
    expect(message?.key).toBe('user-123');
    expect(message?.headers).toEqual({ 'x-operation-id': sent.id, 'x-producer': 'sdk' });
    expect(JSON.parse(String(message?.value))).toEqual({ ...op, id: sent.id });
    expect(op.id).toBeUndefined(); // the caller's object is left alone
  });

  it("keeps a caller's own id so that retries are idempotent", async () => {
    const { fake, sdk } = setup();
    const id = '01HZX3J8Q4M7R2V5T9W0YBCDEF';
    expect(await sdk.send({ ...(seed.wishlist_added as TrackOperation), id })).toEqual({
      id,
      key: 'user-123',
    });
    expect(fake.values()[0]?.id).toBe(id);
  });

  it('gives increasing ids within a batch', async () => {
    const { sdk } = setup();
    const sent = await sdk.sendBatch(Object.values(seed));
    const ids = sent.map((s) => s.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('rejects an invalid operation with a typed error naming the field, and sends nothing', async () => {
    const { fake, sdk } = setup();
    const bad = {
      ...(seed.product_scanned as TrackOperation),
      identifiers: { id: 'a', email: 'b@example.com' },
    };
    const error = await sdk.send(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOperationError);
    expect((error as InvalidOperationError).retriable).toBe(false);
    expect((error as InvalidOperationError).errors).toEqual([
      { index: 0, pointer: '/identifiers', message: 'must name exactly one of id, email or cio_id' },
    ]);
    expect((error as Error).message).toContain('/identifiers must name exactly one of id, email or cio_id');
    expect(fake.sent).toHaveLength(0);
  });

  it('sends none of a batch when one item is invalid, naming its index', async () => {
    const { fake, sdk } = setup();
    const ops = [seed.product_scanned as TrackOperation, { name: 'x', identifiers: {} } as TrackOperation];
    const error = (await sdk.sendBatch(ops).catch((e: unknown) => e)) as InvalidOperationError;
    expect(error.errors.map((e) => [e.index, e.pointer])).toEqual([[1, '/identifiers']]);
    expect(fake.sent).toHaveLength(0);
  });

  it('publishes a batch in order, split into chunks of at most maxMessagesPerPublish', async () => {
    const { fake, sdk } = setup({ maxMessagesPerPublish: 4 });
    const ops = Array.from({ length: 10 }, (_, i) => operations.event('user-1', `step_${i}`, { i }));
    await sdk.sendBatch(ops);
    expect(fake.sent.map((s) => s.messages.length)).toEqual([4, 4, 2]);
    expect(fake.values().map((v) => v.name)).toEqual(ops.map((o) => o.name));
  });

  it('fails with a retriable PublishError carrying the ids, and a retry with them publishes the same ids', async () => {
    const { fake, sdk } = setup();
    fake.failWith = new PublishTimeoutError('Kafka did not acknowledge within 5000 ms');
    const error = (await sdk
      .sendBatch([seed.product_scanned as TrackOperation])
      .catch((e) => e)) as PublishError<TrackOperation>;
    expect(error).toBeInstanceOf(PublishError);
    expect(error.retriable).toBe(true);
    expect(error.cause).toBeInstanceOf(PublishTimeoutError);
    const id = error.operations[0]?.id;
    expect(id).toMatch(ULID);
    fake.failWith = undefined;
    await sdk.sendBatch(error.operations);
    expect(fake.values()[0]?.id).toBe(id);
  });

  it('reports a non-retriable cause as not retriable', async () => {
    const { fake, sdk } = setup();
    fake.failWith = Object.assign(new Error('topic authorization failed'), { retriable: false });
    const error = (await sdk.deletePerson('user-1').catch((e) => e)) as PublishError;
    expect(error.retriable).toBe(false);
  });
});

describe('CioPublisher: typed helpers', () => {
  const cases: [string, (sdk: CioPublisher) => Promise<unknown>, Partial<TrackOperation>][] = [
    [
      'identify',
      (s) => s.identify('u1', { plan: 'gold' }),
      { action: 'identify', attributes: { plan: 'gold' } },
    ],
    [
      'track',
      (s) => s.track({ email: 'a@example.com' }, 'opened_app', { v: 1 }),
      { name: 'opened_app', data: { v: 1 } },
    ],
    ['productScanned', (s) => s.productScanned('u1', dataOf('product_scanned')), { name: 'product_scanned' }],
    [
      'referralInitiated',
      (s) => s.referralInitiated('u1', dataOf('referral_initiated')),
      { name: 'referral_initiated' },
    ],
    [
      'referralConverted',
      (s) => s.referralConverted('u1', dataOf('referral_converted')),
      { name: 'referral_converted' },
    ],
    ['wishlistAdded', (s) => s.wishlistAdded('u1', dataOf('wishlist_added')), { name: 'wishlist_added' }],
    [
      'wishlistRemoved',
      (s) => s.wishlistRemoved('u1', dataOf('wishlist_removed')),
      { name: 'wishlist_removed' },
    ],
    [
      'achievementUnlocked',
      (s) => s.achievementUnlocked('u1', dataOf('achievement_unlocked')),
      { name: 'achievement_unlocked' },
    ],
    ['rewardRedeemed', (s) => s.rewardRedeemed('u1', dataOf('reward_redeemed')), { name: 'reward_redeemed' }],
    [
      'userSessionStarted',
      (s) => s.userSessionStarted('u1', dataOf('user_session_started')),
      { name: 'user_session_started' },
    ],
    [
      'userSessionEnded',
      (s) => s.userSessionEnded('u1', dataOf('user_session_ended')),
      { name: 'user_session_ended' },
    ],
    [
      'trackSeedEvent',
      (s) => s.trackSeedEvent('u1', 'reward_redeemed', dataOf('reward_redeemed')),
      { name: 'reward_redeemed' },
    ],
    ['deletePerson', (s) => s.deletePerson('u1'), { action: 'delete' }],
    ['suppress', (s) => s.suppress('u1'), { action: 'suppress' }],
    ['unsuppress', (s) => s.unsuppress('u1'), { action: 'unsuppress' }],
    [
      'addDevice',
      (s) => s.addDevice('u1', { token: 'tok', platform: 'android' }),
      { action: 'add_device', device: { token: 'tok', platform: 'android' } },
    ],
    [
      'deleteDevice',
      (s) => s.deleteDevice('u1', 'tok'),
      { action: 'delete_device', device: { token: 'tok' } },
    ],
    [
      'merge',
      (s) => s.merge('u1', { email: 'old@example.com' }),
      { action: 'merge', primary: { id: 'u1' }, secondary: { email: 'old@example.com' } },
    ],
  ];

  it.each(cases)('%s sends a valid operation with the expected fields', async (_name, call, expected) => {
    const { fake, sdk } = setup();
    await call(sdk);
    const [value] = fake.values();
    expect(value).toMatchObject(expected);
    expect(value?.id).toMatch(ULID);
    expect(validateTrackOperation(value).ok).toBe(true);
    const key = fake.messages[0]?.key;
    expect(key).toBe(_name === 'track' ? 'a@example.com' : 'u1');
  });

  it('stamps events with the current time unless given one', async () => {
    const { fake, sdk } = setup();
    await sdk.track('u1', 'a');
    await sdk.track('u1', 'b', {}, { timestamp: 1716402912, id: '01HZX3J8Q4M7R2V5T9W0YBCDEF' });
    const [first, second] = fake.values();
    expect(Date.parse(String(first?.timestamp))).toBeGreaterThan(Date.now() - 60_000);
    expect(second).toMatchObject({ timestamp: 1716402912, id: '01HZX3J8Q4M7R2V5T9W0YBCDEF' });
  });

  it('rejects a seed event whose data does not match its schema', async () => {
    const { sdk } = setup();
    const data = {
      ...dataOf('reward_redeemed'),
      points_spent: 'lots',
    } as unknown as SeedEventData['reward_redeemed'];
    const error = (await sdk.rewardRedeemed('u1', data).catch((e) => e)) as InvalidOperationError;
    expect(error.errors).toEqual([
      { index: 0, pointer: '/data/points_spent', message: 'must be an integer' },
    ]);
  });
});

describe('CioPublisher: transactional sends', () => {
  it('publishes a send on the transactional topic keyed by the recipient identifier, with an id', async () => {
    const { fake, sdk } = setup();
    const send = {
      transactional_message_id: 'password_reset',
      to: 'jane@example.com',
      identifiers: { id: 'u1' },
    };
    const sent = await sdk.sendTransactional(send);
    expect(sent).toEqual({ id: expect.stringMatching(ULID), key: 'u1' });
    expect(fake.sent[0]?.topic).toBe('t.transactional');
    expect(JSON.parse(String(fake.messages[0]?.value))).toEqual({ ...send, id: sent.id });
  });

  it('rejects an invalid send naming the field', async () => {
    const { fake, sdk } = setup();
    const error = (await sdk
      .sendTransactional({ transactional_message_id: 'x', to: 'nope', identifiers: { id: 'u1' } })
      .catch((e) => e)) as InvalidOperationError;
    expect(error).toBeInstanceOf(InvalidOperationError);
    expect(error.message).toContain('invalid transactional send');
    expect(error.errors).toEqual([{ index: 0, pointer: '/to', message: 'must be a valid email address' }]);
    expect(fake.sent).toHaveLength(0);
  });
});
