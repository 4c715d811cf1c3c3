import { waitFor } from '@cio-bridge/testkit';
import request from 'supertest';
import { createSandbox, DEFAULT_CREDENTIALS, LIMITS, type SandboxApp, startSandbox } from './index';

const basicFor = (siteId: string, apiKey: string) =>
  `Basic ${Buffer.from(`${siteId}:${apiKey}`).toString('base64')}`;
const basic = basicFor(DEFAULT_CREDENTIALS.siteId, DEFAULT_CREDENTIALS.apiKey);
const bearer = `Bearer ${DEFAULT_CREDENTIALS.appApiKey}`;

const event = (id: string, name: string, extra: Record<string, unknown> = {}) => ({
  type: 'person',
  identifiers: { id: 'p1' },
  action: 'event',
  id,
  name,
  ...extra,
});

describe('cio-sandbox', () => {
  let sandbox: SandboxApp;
  beforeEach(() => {
    sandbox = createSandbox();
  });
  const track = () => request(sandbox.app);
  const counters = async () => (await request(sandbox.app).get('/_sandbox/counters').expect(200)).body;

  describe('authentication', () => {
    it.each([
      ['no header', undefined],
      ['a wrong key', basicFor(DEFAULT_CREDENTIALS.siteId, 'wrong')],
      ['a wrong site id', basicFor('other-site', DEFAULT_CREDENTIALS.apiKey)],
      ['the App API bearer key', bearer],
      ['a malformed header', 'Basic !!!'],
    ])('answers the Track API 401 with %s', async (_name, header) => {
      const req = track().put('/api/v1/customers/u1').send({ plan: 'x' });
      if (header) req.set('Authorization', header);
      const { body } = await req.expect(401);
      expect(body).toEqual({ meta: { error: 'Unauthorized request' } });
      expect(sandbox.state.people).toEqual([]);
    });

    it('accepts a lower-case basic scheme', async () => {
      const token = Buffer.from(`${DEFAULT_CREDENTIALS.siteId}:${DEFAULT_CREDENTIALS.apiKey}`).toString(
        'base64',
      );
      await track().put('/api/v1/customers/u1').set('Authorization', `basic ${token}`).send({}).expect(200);
    });

    it.each([
      ['no header', undefined],
      ['the Track API basic credentials', basic],
      ['a wrong key', 'Bearer nope'],
    ])('answers the App API 401 with %s', async (_name, header) => {
      const req = track()
        .post('/v1/send/email')
        .send({ transactional_message_id: 1, to: 'a@example.com', identifiers: { id: '1' } });
      if (header) req.set('Authorization', header);
      await req.expect(401);
      expect(sandbox.state.sends).toEqual([]);
    });

    it('makes old credentials answer 401 after they change, and reset restores them', async () => {
      await track()
        .put('/_sandbox/credentials')
        .send({ apiKey: 'rotated', appApiKey: 'rotated-app' })
        .expect(200, { changed: ['apiKey', 'appApiKey'] });
      await track().put('/api/v1/customers/u1').set('Authorization', basic).send({}).expect(401);
      await track()
        .put('/api/v1/customers/u1')
        .set('Authorization', basicFor(DEFAULT_CREDENTIALS.siteId, 'rotated'))
        .send({})
        .expect(200);
      await track()
        .post('/v1/send/email')
        .set('Authorization', 'Bearer rotated-app')
        .send({ transactional_message_id: 1, to: 'a@example.com', identifiers: { id: '1' } })
        .expect(200);
      expect((await counters()).unauthorized).toBe(1);
      await track().post('/_sandbox/reset').expect(200);
      await track().put('/api/v1/customers/u1').set('Authorization', basic).send({}).expect(200);
    });

    it.each([
      [{ apiKey: '' }, 'apiKey must be a non-empty string'],
      [{ siteId: 5 }, 'siteId must be a non-empty string'],
      [{ password: 'x' }, 'unknown field password'],
    ])('refuses bad credentials %j naming the field', async (body, message) => {
      const { body: answer } = await track().put('/_sandbox/credentials').send(body).expect(400);
      expect(answer.error).toContain(message);
    });
  });

  describe('documented limits', () => {
    const identify = (identifier: string, body: object) =>
      track()
        .put(`/api/v1/customers/${encodeURIComponent(identifier)}`)
        .set('Authorization', basic)
        .send(body);

    it('accepts an identifier of exactly 150 bytes and refuses 151', async () => {
      await identify('i'.repeat(150), {}).expect(200);
      const { body } = await identify('i'.repeat(151), {}).expect(400);
      expect(body.meta.errors[0]).toBe('identifier exceeds the limit of 150 bytes');
    });

    it('counts identifier bytes, not characters', async () => {
      await identify('é'.repeat(75), {}).expect(200);
      await identify('é'.repeat(76), {}).expect(400);
    });

    it('limits attribute names to 150 bytes, values to 1000 bytes and calls to 300 attributes', async () => {
      await identify('u', { ['n'.repeat(150)]: 'v', big: 'v'.repeat(1000) }).expect(200);
      const longName = await identify('u', { ['n'.repeat(151)]: 'v' }).expect(400);
      expect(longName.body.meta.errors[0]).toMatch(/attribute name exceeds the limit of 150 bytes/);
      const bigValue = await identify('u', { big: 'v'.repeat(1001) }).expect(400);
      expect(bigValue.body.meta.errors[0]).toMatch(/value of attribute big is 1001 bytes/);
      const bigObject = await identify('u', { nested: { text: 'v'.repeat(1000) } }).expect(400);
      expect(bigObject.body.meta.errors[0]).toMatch(/value of attribute nested/);
      const many = Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`a${i}`, i]));
      const tooMany = await identify('u', many).expect(400);
      expect(tooMany.body.meta.errors[0]).toMatch(/301 attributes, more than the limit of 300/);
      const enough = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`a${i}`, i]));
      await identify('u', enough).expect(200);
    });

    it('limits event names to 100 bytes and event data to 100,000 bytes', async () => {
      const post = (body: object) =>
        track().post('/api/v1/customers/u/events').set('Authorization', basic).send(body);
      await post({ name: 'n'.repeat(100) }).expect(200);
      const longName = await post({ name: 'n'.repeat(101) }).expect(400);
      expect(longName.body.meta.errors[0]).toBe('name exceeds the limit of 100 bytes');
      // {"x":"..."} is 8 bytes around the string
      await post({ name: 'e', data: { x: 'd'.repeat(LIMITS.eventDataBytes - 8) } }).expect(200);
      const big = await post({ name: 'e', data: { x: 'd'.repeat(LIMITS.eventDataBytes - 7) } }).expect(400);
      expect(big.body.meta.errors[0]).toBe('data is 100001 bytes, more than the limit of 100000 bytes');
    });

    it('limits /entity to 32 KB', async () => {
      const op = (pad: number) => JSON.stringify(event('e1', 'x', { attributes: { pad: 'p'.repeat(pad) } }));
      const base = Buffer.byteLength(op(0));
      const atLimit = op(LIMITS.v2OperationBytes - base);
      expect(Buffer.byteLength(atLimit)).toBe(32 * 1024);
      await track()
        .post('/api/v2/entity')
        .set('Authorization', basic)
        .set('Content-Type', 'application/json')
        .send(atLimit)
        .expect(200);
      const { body } = await track()
        .post('/api/v2/entity')
        .set('Authorization', basic)
        .set('Content-Type', 'application/json')
        .send(op(LIMITS.v2OperationBytes - base + 1))
        .expect(400);
      expect(body.errors[0]).toEqual({
        reason: 'too_large',
        field: '',
        message: 'the request is 32769 bytes, more than the limit of 32768 bytes for /entity',
      });
    });

    it('limits /batch to 500 KB and each of its operations to 32 KB', async () => {
      const big = (id: string) => event(id, 'x', { attributes: { pad: 'p'.repeat(30_000) } });
      const tooLarge = await track()
        .post('/api/v2/batch')
        .set('Authorization', basic)
        .send({ batch: Array.from({ length: 18 }, (_, i) => big(`b${i}`)) })
        .expect(400);
      expect(tooLarge.body.errors[0].message).toMatch(/more than the limit of 512000 bytes for \/batch/);
      const oversizeItem = event('b-over', 'x', { attributes: { pad: 'p'.repeat(33_000) } });
      const partial = await track()
        .post('/api/v2/batch')
        .set('Authorization', basic)
        .send({ batch: [big('b-ok'), oversizeItem, event('b-small', 'y')] })
        .expect(207);
      expect(partial.body.errors).toEqual([
        {
          batch_index: 1,
          reason: 'too_large',
          field: '',
          message: expect.stringMatching(/^operation is \d+ bytes, more than the limit of 32768 bytes$/),
        },
      ]);
      expect(sandbox.state.operations.map((op) => op.id)).toEqual(['b-ok', 'b-small']);
      expect((await counters()).rejected).toBe(2);
    });

    it('answers malformed JSON with 400', async () => {
      const { body } = await track()
        .post('/api/v2/batch')
        .set('Authorization', basic)
        .set('Content-Type', 'application/json')
        .send('{"batch": [')
        .expect(400);
      expect(body.errors[0].message).toMatch(/^malformed JSON/);
    });

    it('refuses a v2 timestamp that is not unix seconds', async () => {
      const { body } = await track()
        .post('/api/v2/entity')
        .set('Authorization', basic)
        .send(event('t1', 'x', { timestamp: '2024-05-22T18:35:12Z' }))
        .expect(400);
      expect(body.errors[0]).toMatchObject({ field: 'timestamp' });
    });
  });

  describe('de-duplication by event id', () => {
    it('acknowledges a repeated id without storing it twice, across v1 and v2, and counts it', async () => {
      const batch = { batch: [event('E1', 'first'), event('E2', 'second'), event('E1', 'first again')] };
      await track().post('/api/v2/batch').set('Authorization', basic).send(batch).expect(200, {});
      await track()
        .post('/api/v2/entity')
        .set('Authorization', basic)
        .send(event('E2', 'second'))
        .expect(200, {});
      await track()
        .post('/api/v1/customers/p1/events')
        .set('Authorization', basic)
        .send({ id: 'E1', name: 'first' })
        .expect(200, {});
      await track()
        .post('/api/v1/customers/p1/events')
        .set('Authorization', basic)
        .send({ id: 'E3', name: 'third' })
        .expect(200, {});
      const events = (await track().get('/_sandbox/events?person=p1').expect(200)).body;
      expect(events.map((e: { id: string; name: string }) => [e.id, e.name])).toEqual([
        ['E1', 'first'],
        ['E2', 'second'],
        ['E3', 'third'],
      ]);
      const c = await counters();
      expect(c).toMatchObject({ duplicates: 3, accepted: 3 });
      const ops = (await track().get('/_sandbox/operations').expect(200)).body;
      expect(ops.map((op: { id: string; via: string }) => [op.id, op.via])).toEqual([
        ['E1', 'v2-batch'],
        ['E2', 'v2-batch'],
        ['E3', 'v1'],
      ]);
    });

    it('stores events without an id every time', async () => {
      for (let i = 0; i < 2; i++)
        await track()
          .post('/api/v1/customers/p1/events')
          .set('Authorization', basic)
          .send({ name: 'x' })
          .expect(200);
      expect(sandbox.state.events).toHaveLength(2);
      expect((await counters()).duplicates).toBe(0);
    });
  });

  describe('people and operations', () => {
    it('keeps operations in arrival order with their identifiers and names', async () => {
      await track()
        .post('/api/v2/batch')
        .set('Authorization', basic)
        .send({
          batch: [
            {
              type: 'person',
              identifiers: { email: 'a@example.com' },
              action: 'identify',
              attributes: { x: 1 },
            },
            event('o1', ' padded name '),
            { type: 'person', primary: { id: 'p1' }, secondary: { email: 'a@example.com' }, action: 'merge' },
            { type: 'person', identifiers: { id: 'p1' }, action: 'delete' },
          ],
        })
        .expect(200);
      const ops = (await track().get('/_sandbox/operations').expect(200)).body;
      expect(ops).toEqual([
        expect.objectContaining({ id: null, action: 'identify', identifiers: { email: 'a@example.com' } }),
        expect.objectContaining({
          id: 'o1',
          action: 'event',
          name: 'padded name',
          identifiers: { id: 'p1' },
        }),
        expect.objectContaining({
          action: 'merge',
          identifiers: { id: 'p1' },
          secondary: { email: 'a@example.com' },
          ignored: 'not_found',
        }),
        expect.objectContaining({ action: 'delete', via: 'v2-batch', received_at: expect.any(String) }),
      ]);
      const forEmail = (await track().get('/_sandbox/operations?person=a%40example.com').expect(200)).body;
      expect(forEmail.map((op: { action: string }) => op.action)).toEqual(['identify', 'merge']);
      const lastTwo = (await track().get('/_sandbox/operations?limit=2').expect(200)).body;
      expect(lastTwo.map((op: { action: string }) => op.action)).toEqual(['merge', 'delete']);
    });

    it('looks people up by id, email or cio_ id and answers 404 for strangers', async () => {
      await track()
        .put('/api/v1/customers/u7')
        .set('Authorization', basic)
        .send({ email: 'Seven@Example.com', plan: 'gold' })
        .expect(200);
      const byId = (await track().get('/_sandbox/people/u7').expect(200)).body;
      expect(byId).toEqual({
        id: 'u7',
        email: 'Seven@Example.com',
        cio_id: expect.any(String),
        attributes: { email: 'Seven@Example.com', plan: 'gold' },
        suppressed: false,
        deleted: false,
        devices: [],
        created_at: expect.any(String),
        updated_at: expect.any(String),
      });
      await track().get('/_sandbox/people/seven%40example.com').expect(200);
      await track().get(`/_sandbox/people/cio_${byId.cio_id}`).expect(200);
      const { body } = await track().get('/_sandbox/people/nobody').expect(404);
      expect(body.error).toBe('no person with identifier nobody');
      // an email-workspace call on the same person updates it rather than creating another
      await track()
        .put('/api/v1/customers/seven%40example.com')
        .set('Authorization', basic)
        .send({ plan: 'x' });
      expect(sandbox.state.people).toHaveLength(1);
    });

    it('re-creates a deleted person with fresh attributes on identify', async () => {
      const put = (body: object) =>
        track().put('/api/v1/customers/u8').set('Authorization', basic).send(body);
      await put({ plan: 'gold' }).expect(200);
      const before = sandbox.state.people[0]!.cio_id;
      await track().delete('/api/v1/customers/u8').set('Authorization', basic).expect(200);
      await put({ resubscribed: true }).expect(200);
      const person = (await track().get('/_sandbox/people/u8').expect(200)).body;
      expect(person).toMatchObject({ deleted: false, attributes: { resubscribed: true } });
      expect(person.cio_id).not.toBe(before);
    });

    it('sets the email identifier from a v2 identify email attribute', async () => {
      await track()
        .post('/api/v2/entity')
        .set('Authorization', basic)
        .send({
          type: 'person',
          identifiers: { id: '99' },
          action: 'identify',
          attributes: { email: 'n@example.com' },
        })
        .expect(200);
      const person = (await track().get('/_sandbox/people/n%40example.com').expect(200)).body;
      expect(person).toMatchObject({
        id: '99',
        email: 'n@example.com',
        attributes: { email: 'n@example.com' },
      });
    });

    it('records transactional sends', async () => {
      await track()
        .post('/v1/send/email')
        .set('Authorization', bearer)
        .send({ transactional_message_id: 'reset', to: 'Ada <ada@example.com>', identifiers: { id: 'u1' } })
        .expect(200);
      const sends = (await track().get('/_sandbox/sends').expect(200)).body;
      expect(sends).toEqual([
        expect.objectContaining({ transactional_message_id: 'reset', to: 'Ada <ada@example.com>' }),
      ]);
    });

    it('filters events by name', async () => {
      await track()
        .post('/api/v2/batch')
        .set('Authorization', basic)
        .send({ batch: [event('n1', 'a'), event('n2', 'b')] });
      const { body } = await track().get('/_sandbox/events?name=b').expect(200);
      expect(body.map((e: { id: string }) => e.id)).toEqual(['n2']);
    });
  });

  describe('rate limit', () => {
    it('answers 429 with Retry-After beyond the budget and counts it', async () => {
      await track().put('/_sandbox/rate-limit').send({ rps: 3 }).expect(200, { rps: 3 });
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 5; i++) {
        const res = await track().put(`/api/v1/customers/r${i}`).set('Authorization', basic).send({});
        statuses.push(res.status);
        if (res.status === 429) retryAfter = res.headers['retry-after'];
      }
      // the 1 s window cannot have moved on in five local requests unless the machine stalled
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(2);
      expect(retryAfter).toBe('1');
      expect(await counters()).toMatchObject({ rate_limited: 2, by_status: { '200': 3, '429': 2 } });
      // admin calls are never limited
      await track().get('/_sandbox/counters').expect(200);
      await track().put('/_sandbox/rate-limit').send({ rps: null }).expect(200, { rps: null });
      await track().put('/api/v1/customers/r9').set('Authorization', basic).send({}).expect(200);
    });

    it('applies to the App API too', async () => {
      await track().put('/_sandbox/rate-limit').send({ rps: 1 }).expect(200);
      const send = () =>
        track()
          .post('/v1/send/email')
          .set('Authorization', bearer)
          .send({ transactional_message_id: 1, to: 'a@example.com', identifiers: { id: '1' } });
      await send().expect(200);
      await send().expect(429);
    });

    it('counts every request on arrival, also those that then fail by injection', async () => {
      await track().put('/_sandbox/rate-limit').send({ rps: 1 }).expect(200);
      await track().put('/_sandbox/faults').send({ status: 500 }).expect(200);
      const send = () => track().put('/api/v1/customers/f1').set('Authorization', basic).send({});
      await send().expect(500);
      await send().expect(429);
      expect(await counters()).toMatchObject({ rate_limited: 1, faults_injected: 1 });
    });

    it.each([[{ rps: 0 }], [{ rps: 1.5 }], [{ rps: 'ten' }], [{}]])('refuses %j naming rps', async (body) => {
      const { body: answer } = await track().put('/_sandbox/rate-limit').send(body).expect(400);
      expect(answer.error).toMatch(/^rps /);
    });
  });

  describe('fault injection', () => {
    it('fails requests with the given status and Retry-After, then recovers when cleared', async () => {
      await track().put('/_sandbox/faults').send({ status: 503, retryAfterSeconds: 2 }).expect(200);
      const res = await track()
        .post('/api/v2/batch')
        .set('Authorization', basic)
        .send({ batch: [event('f1', 'x')] });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('2');
      expect(sandbox.state.operations).toEqual([]);
      await track().delete('/_sandbox/faults').expect(200);
      await track()
        .post('/api/v2/batch')
        .set('Authorization', basic)
        .send({ batch: [event('f1', 'x')] })
        .expect(200);
      expect(await counters()).toMatchObject({
        faults_injected: 1,
        accepted: 1,
        by_status: { '503': 1, '200': 1 },
      });
    });

    it('fails nothing at rate 0 and everything at rate 1', async () => {
      await track().put('/_sandbox/faults').send({ status: 500, rate: 0 }).expect(200);
      await track().put('/api/v1/customers/a').set('Authorization', basic).send({}).expect(200);
      await track().put('/_sandbox/faults').send({ status: 500, rate: 1 }).expect(200);
      await track().put('/api/v1/customers/a').set('Authorization', basic).send({}).expect(500);
    });

    it('fails some requests at an intermediate rate', async () => {
      await track().put('/_sandbox/faults').send({ status: 502, rate: 0.5 }).expect(200);
      const statuses = new Set<number>();
      for (let i = 0; i < 200 && statuses.size < 2; i++) {
        statuses.add((await track().put('/api/v1/customers/a').set('Authorization', basic).send({})).status);
      }
      expect([...statuses].sort()).toEqual([200, 502]);
    });

    it('fails everything during an outage window and nothing after it', async () => {
      await track().put('/_sandbox/faults').send({ outageMs: 300 }).expect(200);
      await track().put('/api/v1/customers/a').set('Authorization', basic).send({}).expect(503);
      await waitFor(
        async () =>
          (await track().put('/api/v1/customers/a').set('Authorization', basic).send({})).status === 200,
        { timeoutMs: 5000, intervalMs: 50, what: 'the outage to end' },
      );
      const faults = (await track().get('/_sandbox/faults').expect(200)).body;
      expect(faults).toMatchObject({ failing: false, outageRemainingMs: 0 });
    });

    it('adds latency without failing', async () => {
      const { body } = await track().put('/_sandbox/faults').send({ latencyMs: 20 }).expect(200);
      expect(body).toMatchObject({ latencyMs: 20, failing: false });
      await track().put('/api/v1/customers/a').set('Authorization', basic).send({}).expect(200);
      expect((await counters()).faults_injected).toBe(0);
    });

    it.each([
      [{ status: 200 }, 'status must be a whole number from 400 to 599'],
      [{ rate: 2 }, 'rate must be a number from 0 to 1'],
      [{ latencyMs: -1 }, 'latencyMs must be a whole number from 0 to 120000'],
      [{ resetConnections: 'yes' }, 'resetConnections must be true or false'],
      [{ statuss: 500 }, 'unknown field statuss'],
    ])('refuses %j naming the field', async (body, message) => {
      const { body: answer } = await track().put('/_sandbox/faults').send(body).expect(400);
      expect(answer.error).toContain(message);
    });
  });

  describe('requests log and counters', () => {
    it('logs recent Track and App API requests with their status, not admin requests', async () => {
      await track().put('/api/v1/customers/l1').set('Authorization', basic).send({});
      await track().put('/api/v1/customers/l2').send({});
      await track().get('/_sandbox/people');
      const log = (await track().get('/_sandbox/requests?limit=5').expect(200)).body;
      expect(log).toEqual([
        { method: 'PUT', path: '/api/v1/customers/l1', status: 200, at: expect.any(String) },
        { method: 'PUT', path: '/api/v1/customers/l2', status: 401, at: expect.any(String) },
      ]);
      const last = (await track().get('/_sandbox/requests?limit=1').expect(200)).body;
      expect(last.map((r: { path: string }) => r.path)).toEqual(['/api/v1/customers/l2']);
      await track().get('/_sandbox/requests?limit=0').expect(400);
      expect(await counters()).toMatchObject({
        requests: 2,
        unauthorized: 1,
        by_path: { '/api/v1/customers/:identifier': 2 },
        by_route: { 'PUT /api/v1/customers/:identifier': 2 },
      });
    });

    it('reset clears state, faults, counters and the rate limit', async () => {
      await track().put('/api/v1/customers/z').set('Authorization', basic).send({});
      await track().put('/_sandbox/faults').send({ status: 500 });
      await track().put('/_sandbox/rate-limit').send({ rps: 1 });
      await track().post('/_sandbox/reset').expect(200);
      expect((await track().get('/_sandbox/people')).body).toEqual([]);
      expect((await track().get('/_sandbox/requests')).body).toEqual([]);
      expect((await track().get('/_sandbox/rate-limit')).body).toEqual({ rps: null });
      await track().put('/api/v1/customers/z').set('Authorization', basic).send({}).expect(200);
      await track().put('/api/v1/customers/z').set('Authorization', basic).send({}).expect(200);
      expect(await counters()).toMatchObject({ requests: 2, accepted: 2, faults_injected: 0 });
    });
  });
});

describe('connection resets', () => {
  it('destroys the connection instead of answering, and counts it', async () => {
    const sandbox = await startSandbox();
    try {
      await fetch(`${sandbox.url}/_sandbox/faults`, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ resetConnections: true }),
      });
      const failure = await fetch(`${sandbox.url}/api/v1/customers/x`, {
        method: 'PUT',
        headers: { Authorization: basic, 'Content-Type': 'application/json' },
        body: '{}',
      }).catch((error: unknown) => error);
      // undici reports a dropped connection as "fetch failed" with the socket error as the cause
      expect((failure as Error).message).toBe('fetch failed');
      expect((failure as { cause?: { code?: string } }).cause?.code).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
      const counters = await (await fetch(`${sandbox.url}/_sandbox/counters`)).json();
      expect(counters).toMatchObject({ faults_injected: 1, by_status: { '0': 1 } });
      expect(sandbox.state.people).toEqual([]);
    } finally {
      await sandbox.close();
    }
  });
});

describe('record cap', () => {
  it('keeps the newest maxRecords operations and events and counts the dropped ones', async () => {
    const { app, state } = createSandbox({ maxRecords: 10 });
    const batch = Array.from({ length: 25 }, (_, i) => event(`e${i}`, 'x'));
    await request(app).post('/api/v2/batch').set('Authorization', basic).send({ batch }).expect(200);
    const kept = state.operations.length;
    expect(kept).toBeGreaterThanOrEqual(10);
    expect(kept).toBeLessThanOrEqual(11);
    expect(state.operations.at(-1)!.id).toBe('e24');
    expect(state.operations[0]!.id).toBe(`e${25 - kept}`);
    expect(state.counters).toMatchObject({ accepted: 25, records_dropped: 2 * (25 - kept) });
    // de-duplication still remembers ids whose records were dropped
    await request(app).post('/api/v2/entity').set('Authorization', basic).send(event('e0', 'x')).expect(200);
    expect(state.counters.duplicates).toBe(1);
  });
});
