import { DEFAULT_CREDENTIALS, type Sandbox, startSandbox } from '@cio-bridge/cio-sandbox';
import { Registry } from 'prom-client';
import type { Channel } from '../delivery/engine';
import { DeliveryError } from '../errors';
import { createWorkerMetrics } from '../metrics';
import { pipelinesChannel } from './pipelines';
import { withAnonymousEvents } from './track-anonymous';

const item = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('the Pipelines channel', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.control.reset());
  const channel = (apiKey = DEFAULT_CREDENTIALS.pipelinesApiKey) =>
    pipelinesChannel({ url: sandbox.url, apiKey }, 5_000, createWorkerMetrics(new Registry()));

  it('posts batches to /v1/batch in strict mode, several calls of one operation in one body', async () => {
    const failures = await channel().sendBatch!([
      Buffer.concat([
        item({ type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'm1' }),
        Buffer.from(','),
        item({
          type: 'group',
          userId: 'u1',
          groupId: 'acme',
          traits: { objectTypeId: '1' },
          messageId: 'm2',
        }),
      ]),
      item({ type: 'page', anonymousId: 'a1', name: '/', messageId: 'm3' }),
    ]);
    expect(failures.size).toBe(0);
    expect(sandbox.state.find({ id: 'u1' })?.attributes).toEqual({ plan: 'pro' });
    expect(sandbox.state.relationshipList()).toHaveLength(1);
    expect(sandbox.state.counters.by_path['/v1/batch']).toBe(1);
  });

  // Without X-Strict-Mode: 1 both would be answered 200.
  it('rejects a refused batch with a permanent 4xx, and a wrong key as an authentication failure', async () => {
    const refused = await channel()
      .sendOne(item({ type: 'track', userId: 'u1', event: '  ' }))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DeliveryError);
    expect(refused).toMatchObject({ errorClass: 'http_4xx', status: 400, retriable: false });
    const wrongKey = await channel('wrong')
      .sendOne(item({ type: 'track', userId: 'u1', event: 'x' }))
      .catch((e: unknown) => e);
    expect((wrongKey as DeliveryError).authentication).toBe(true);
    expect(sandbox.state.events).toHaveLength(0);
  });
});

describe('anonymous events on the Track API', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ siteId: 's', apiKey: 'k' });
  });
  afterAll(() => sandbox.close());

  it('hands anonymous events back from a batch to go alone, and sends them to /api/v1/events', async () => {
    const batched: Buffer[][] = [];
    const inner: Channel = {
      api: 'track',
      sendBatch: async (bodies) => {
        batched.push(bodies);
        return new Map([[1, new DeliveryError('http_4xx', 'rejected', false, 207)]]);
      },
      sendOne: async () => undefined,
    };
    const track = withAnonymousEvents(
      inner,
      { trackUrl: sandbox.url, appUrl: sandbox.url, siteId: 's', apiKey: 'k' },
      5_000,
      createWorkerMetrics(new Registry()),
    );
    const anonymous = item({ anonymous_id: 'a1', name: 'viewed', type: 'page', id: '01J0', timestamp: 1 });
    const person = item({ type: 'person', action: 'event', identifiers: { id: 'u1' }, name: 'x' });
    const failures = await track.sendBatch!([person, anonymous, person]);
    expect(batched).toEqual([[person, person]]);
    expect([...failures.keys()].sort()).toEqual([1, 2]);
    expect(failures.get(1)?.message).toMatch(/alone/);
    expect(failures.get(2)?.message).toBe('rejected');
    await track.sendOne(anonymous);
    expect(sandbox.state.events).toEqual([
      expect.objectContaining({ anonymous_id: 'a1', type: 'page', via: 'v1' }),
    ]);
    // A batch of anonymous events only: the first goes at once, the others alone later.
    const second = item({ anonymous_id: 'a2', name: 'viewed', id: '01J1', timestamp: 1 });
    const onlyAnonymous = await track.sendBatch!([second, anonymous]);
    expect([...onlyAnonymous.keys()]).toEqual([1]);
    expect(batched).toHaveLength(1);
    expect(sandbox.state.events.map((e) => e.anonymous_id)).toEqual(['a1', 'a2']);
  });
});
