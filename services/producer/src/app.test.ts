import type { AddressInfo } from 'node:net';
import { PublishTimeoutError } from '@cio-bridge/kafka';
import { LIMITS, operationExamples, seedExamples, type TrackOperation } from '@cio-bridge/schemas';
import { waitFor } from '@cio-bridge/testkit';
import request from 'supertest';
import { buildApp, TOKEN } from './testing/app';

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const auth = { Authorization: `Bearer ${TOKEN}` };
const seed = seedExamples();
const scan = seed.product_scanned as TrackOperation;

const post = (app: ReturnType<typeof buildApp>['app'], path: string, body: unknown) =>
  request(app)
    .post(path)
    .set(auth)
    .send(body as object);

describe('POST /v1/track', () => {
  it('publishes one seed payload as-is with an id, keyed by the person, and answers 202 with the id', async () => {
    const { app, publisher } = buildApp();
    const res = await post(app, '/v1/track', scan).expect(202);
    expect(res.body).toEqual({ id: expect.stringMatching(ULID), ids: [res.body.id] });
    expect(publisher.calls).toHaveLength(1);
    expect(publisher.calls[0]?.topic).toBe('t.track');
    const [message] = publisher.messages;
    expect(message?.key).toBe('user-123');
    expect(JSON.parse(String(message?.value))).toEqual({ ...scan, id: res.body.id });
    expect(message?.headers).toEqual({ 'x-operation-id': res.body.id, 'x-producer': 'producer' });
  });

  it('publishes a batch in order in one publish call and answers the ids in order', async () => {
    const { app, publisher } = buildApp();
    const batch = [...Object.values(seed), ...Object.values(operationExamples())];
    const res = await post(app, '/v1/track', { batch }).expect(202);
    expect(res.body.ids).toHaveLength(batch.length);
    expect(publisher.calls).toHaveLength(1);
    const values = publisher.values();
    expect(values.map((v) => v.id)).toEqual(res.body.ids);
    values.forEach((value, i) => {
      const { id: _id, ...rest } = value;
      const { id: _given, ...original } = batch[i] as TrackOperation;
      expect(rest).toEqual(original);
    });
    // merge is keyed by its primary
    expect(publisher.messages.map((m) => m.key)).toContain('user-123');
    expect(new Set(res.body.ids).size).toBe(batch.length);
  });

  it("keeps an operation's own id, so a retry publishes the same id", async () => {
    const { app, publisher } = buildApp();
    const id = '01HZX3J8Q4M7R2V5T9W0YBCDEF';
    const res = await post(app, '/v1/track', { ...scan, id }).expect(202);
    expect(res.body.ids).toEqual([id]);
    expect(publisher.values()[0]?.id).toBe(id);
  });

  it('rejects a batch with any invalid item whole, naming index, pointer and reason, and publishes nothing', async () => {
    const { app, publisher } = buildApp();
    const batch = [scan, { ...scan, identifiers: { id: 'a', email: 'a@example.com' } }, scan, { name: '' }];
    const res = await post(app, '/v1/track', { batch }).expect(400);
    expect(res.body.error).toMatch(/^invalid request: 3 error\(s\) in 2 item\(s\); nothing was published/);
    expect(res.body.details).toEqual([
      { index: 1, pointer: '/identifiers', message: 'must name exactly one of id, email or cio_id' },
      { index: 3, pointer: '/identifiers', message: 'is required' },
      { index: 3, pointer: '/name', message: 'must not be empty' },
    ]);
    expect(publisher.calls).toHaveLength(0);
  });

  it.each([
    ['an empty batch', { batch: [] }, '/batch'],
    ['a batch that is not an array', { batch: { name: 'x' } }, '/batch'],
    ['a property beside batch', { batch: [scan], extra: 1 }, '/extra'],
    ['an array body', [scan], ''],
    ['a string body', JSON.stringify('hello'), ''],
  ])('rejects %s with 400 naming the field', async (_name, body, pointer) => {
    const { app, publisher } = buildApp();
    const res = await post(app, '/v1/track', body).set('Content-Type', 'application/json').expect(400);
    expect(res.body.details.map((d: { pointer: string }) => d.pointer)).toContain(pointer);
    expect(publisher.calls).toHaveLength(0);
  });

  it('rejects a batch above the configured number of items', async () => {
    const { app } = buildApp({ maxBatchItems: 2 });
    const res = await post(app, '/v1/track', { batch: [scan, scan, scan] }).expect(400);
    expect(res.body.details).toEqual([
      { pointer: '/batch', message: 'must be an array of 1 to 2 Track operations' },
    ]);
  });

  it('lists at most 100 errors and says how many there were', async () => {
    const { app } = buildApp();
    const res = await post(app, '/v1/track', {
      batch: Array.from({ length: 150 }, () => ({ name: 'x' })),
    }).expect(400);
    expect(res.body.details).toHaveLength(100);
    expect(res.body.error).toContain('150 error(s) in 150 item(s)');
  });

  it('answers 413 above the body limit, 415 for a non-JSON body and 400 for malformed JSON', async () => {
    const { app, publisher } = buildApp({ maxBodyBytes: 2048 });
    const big = { ...scan, data: { blob: 'x'.repeat(4096) } };
    expect((await post(app, '/v1/track', big).expect(413)).body.error).toMatch(
      /exceeds the limit of 2048 bytes/,
    );
    const text = await request(app).post('/v1/track').set(auth).set('Content-Type', 'text/plain').send('hi');
    expect(text.status).toBe(415);
    const malformed = await request(app)
      .post('/v1/track')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatch(/^malformed JSON/);
    expect(publisher.calls).toHaveLength(0);
  });

  it.each([
    ['no Authorization header', undefined],
    ['another scheme', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`],
    ['a wrong token', 'Bearer not-the-token'],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the token plus one character', `Bearer ${TOKEN}x`],
  ])('answers 401 for %s and publishes nothing', async (_name, header) => {
    const { app, publisher } = buildApp();
    const req = request(app).post('/v1/track');
    if (header) req.set('Authorization', header);
    const res = await req.send(scan).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="cio-bridge"');
    expect(res.body.error).toMatch(/bearer token/);
    expect(publisher.calls).toHaveLength(0);
  });

  it('accepts every configured token', async () => {
    const { app } = buildApp();
    await request(app).post('/v1/track').set('Authorization', 'Bearer other-token').send(scan).expect(202);
  });

  it('answers 503 with Retry-After and the ids when Kafka does not acknowledge in time', async () => {
    const { app, publisher } = buildApp({ retryAfterSeconds: 7 });
    publisher.failWith = new PublishTimeoutError('Kafka did not acknowledge within 5000 ms');
    const res = await post(app, '/v1/track', { batch: [scan, scan] }).expect(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body.ids).toHaveLength(2);
    expect(res.body.ids[0]).toMatch(ULID);
    expect(res.body.error).toMatch(/retry with the same ids/);
  });

  it('answers 503 for a retriable Kafka error and 500 for a non-retriable one', async () => {
    const { app, publisher } = buildApp();
    publisher.failWith = Object.assign(new Error('Connection error'), { retriable: true });
    await post(app, '/v1/track', scan).expect(503);
    publisher.failWith = Object.assign(new Error('Topic authorization failed'), { retriable: false });
    expect((await post(app, '/v1/track', scan).expect(500)).body).toEqual({ error: 'internal error' });
  });
});

describe('load shedding', () => {
  it('answers 503 at once while too many message bytes wait for Kafka, and accepts again after', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const calls: number[] = [];
    const { app, registry } = buildApp({
      maxPendingBytes: Math.round(JSON.stringify(scan).length * 2.5),
      publisher: {
        publish: async (_topic, messages) => {
          calls.push(messages.length);
          if (calls.length === 1) await gate;
        },
      },
    });
    const first = post(app, '/v1/track', scan).then((res) => res);
    let shed: request.Response;
    let metrics: string;
    try {
      await waitFor(() => calls.length === 1, { what: 'the first publish' });
      shed = await post(app, '/v1/track', { batch: [scan, scan] });
      metrics = await registry.metrics();
    } finally {
      release();
    }
    expect(shed.status).toBe(503);
    expect(shed.headers['retry-after']).toBe('5');
    expect(shed.body.error).toMatch(/too many messages are waiting for Kafka; nothing was published/);
    expect(calls).toHaveLength(1);
    expect(metrics).toMatch(/^cio_bridge_producer_pending_bytes [1-9]\d*$/m);
    expect(metrics).toMatch(
      /^cio_bridge_producer_requests_total\{route="\/v1\/track",outcome="overloaded"\} 1$/m,
    );
    expect((await first).status).toBe(202);
    await post(app, '/v1/track', { batch: [scan, scan] }).expect(202);
    expect(await registry.metrics()).toMatch(/^cio_bridge_producer_pending_bytes 0$/m);
  });

  it('accepts a single request bigger than the budget when nothing else is waiting', async () => {
    const { app } = buildApp({ maxPendingBytes: 100 });
    await post(app, '/v1/track', { batch: [scan, scan] }).expect(202);
  });
});

describe('POST /v1/transactional', () => {
  const send = {
    transactional_message_id: 'password_reset',
    to: 'jane@example.com',
    identifiers: { id: 'user-9' },
  };

  it('publishes the send on the transactional topic keyed by the identifier', async () => {
    const { app, publisher } = buildApp();
    const res = await post(app, '/v1/transactional', send).expect(202);
    expect(publisher.calls[0]?.topic).toBe('t.transactional');
    expect(publisher.messages[0]?.key).toBe('user-9');
    expect(publisher.values()[0]).toEqual({ ...send, id: res.body.id });
  });

  it('rejects an invalid send naming the field', async () => {
    const { app, publisher } = buildApp();
    const res = await post(app, '/v1/transactional', { ...send, to: 'jane' }).expect(400);
    expect(res.body.details).toEqual([
      { index: 0, pointer: '/to', message: 'must be a valid email address' },
    ]);
    expect(publisher.calls).toHaveLength(0);
  });

  it('requires the bearer token', async () => {
    const { app } = buildApp();
    await request(app).post('/v1/transactional').send(send).expect(401);
  });

  it('answers 400 naming the nesting limit for a deeply nested send (not a 500 from JSON.stringify)', async () => {
    const { app, publisher } = buildApp();
    const depth = 20_000;
    const body = `{"transactional_message_id":"password_reset","to":"jane@example.com","identifiers":{"id":"user-9"},"message_data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const res = await request(app)
      .post('/v1/transactional')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send(body)
      .expect(400);
    expect(res.body.error).toBe(`request body is nested deeper than the limit of ${LIMITS.jsonDepth} levels`);
    expect(publisher.calls).toHaveLength(0);
  });
});

describe('bytes that are not UTF-8', () => {
  it('answers 400 instead of publishing U+FFFD in their place', async () => {
    const { app, publisher } = buildApp();
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const bytes = Buffer.concat([
        Buffer.from('{"name":"page_viewed","identifiers":{"id":"caf'),
        Buffer.from([0xe9]),
        Buffer.from('"}}'),
      ]);
      const response = await fetch(`http://127.0.0.1:${port}/v1/track`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: bytes,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: 'request body is not valid UTF-8 (at byte 46)' });
      expect(publisher.calls).toHaveLength(0);
    } finally {
      server.close();
    }
  });
});

describe('metrics', () => {
  it('counts requests by outcome, published operations by action and event, and publish latency', async () => {
    const { app, publisher } = buildApp();
    await post(app, '/v1/track', { batch: [scan, scan, operationExamples().identify] }).expect(202);
    await post(app, '/v1/track', { name: 'x' }).expect(400);
    await request(app)
      .post('/v1/track')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{')
      .expect(400);
    await request(app).post('/v1/track').send(scan).expect(401);
    publisher.failWith = new PublishTimeoutError('late');
    await post(app, '/v1/track', scan).expect(503);
    const { text } = await request(app).get('/metrics').expect(200);
    const line = (name: string, labels: string) =>
      new RegExp(`^${name}\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1];
    expect(line('cio_bridge_producer_requests_total', 'route="/v1/track",outcome="accepted"')).toBe('1');
    expect(line('cio_bridge_producer_requests_total', 'route="/v1/track",outcome="invalid"')).toBe('1');
    expect(line('cio_bridge_producer_requests_total', 'route="/v1/track",outcome="malformed"')).toBe('1');
    expect(line('cio_bridge_producer_requests_total', 'route="/v1/track",outcome="unauthorized"')).toBe('1');
    expect(line('cio_bridge_producer_requests_total', 'route="/v1/track",outcome="unavailable"')).toBe('1');
    expect(
      line('cio_bridge_producer_operations_published_total', 'action="event",event="product_scanned"'),
    ).toBe('2');
    expect(line('cio_bridge_producer_operations_published_total', 'action="identify",event=""')).toBe('1');
    expect(/^cio_bridge_producer_publish_duration_seconds_count\{topic="t.track"\} 1$/m.test(text)).toBe(
      true,
    );
  });

  it('serves health and readiness', async () => {
    let up = false;
    const { app } = buildApp({
      readiness: {
        kafka: () => {
          if (!up) throw new Error('Kafka did not answer');
        },
      },
    });
    await request(app).get('/healthz').expect(200, { status: 'ok' });
    await request(app).get('/readyz').expect(503);
    up = true;
    await request(app)
      .get('/readyz')
      .expect(200, { status: 'ready', checks: { kafka: 'ok' } });
  });
});

describe('operation ids', () => {
  it('are ULIDs that sort in the order the operations were accepted', async () => {
    const { app } = buildApp();
    const first = await post(app, '/v1/track', { batch: Array(300).fill(scan) }).expect(202);
    const second = await post(app, '/v1/track', scan).expect(202);
    const ids = [...first.body.ids, second.body.id];
    expect(ids.every((id: string) => ULID.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
