import { type OutgoingMessage, Waiters } from '@cio-bridge/kafka';
import { seedExamples, type TrackOperation } from '@cio-bridge/schemas';
import request from 'supertest';
import type { ReplyWaiting } from './app';
import { buildApp, TOKEN } from './testing/app';

const auth = { Authorization: `Bearer ${TOKEN}` };
const scan = seedExamples().product_scanned as TrackOperation;
const send = { transactional_message_id: 7, to: 'member@example.com', identifiers: { id: 'user-123' } };

/** An inbox on partition 4 whose worker answers what `answer` says once Kafka acknowledged. */
function inbox(maxWaiting = 100) {
  const waiters = new Waiters(maxWaiting);
  const waiting: ReplyWaiting = {
    begin(ids) {
      const wait = waiters.add(ids);
      return wait && { wait, headers: { 'x-reply-to': '4' } };
    },
  };
  return { waiters, waiting };
}

function answering(waiters: Waiters, answer: (message: OutgoingMessage) => unknown) {
  return async (messages: OutgoingMessage[]) => {
    setImmediate(() => {
      for (const message of messages) {
        const reply = answer(message);
        if (reply) waiters.settle(reply as Parameters<Waiters['settle']>[0]);
      }
    });
  };
}

const idOf = (message: OutgoingMessage) => String(message.headers?.['x-operation-id']);

describe('Prefer: wait=N', () => {
  it('answers 200 with every outcome in request order once all are known', async () => {
    const { waiters, waiting } = inbox();
    const { app, publisher } = buildApp({ waiting, maxWaitSeconds: 30 });
    publisher.onPublish = answering(waiters, (m) =>
      JSON.parse(String(m.value)).name === 'refused'
        ? { id: idOf(m), outcome: 'dead_lettered', status: 400, error_class: 'http_4xx' }
        : { id: idOf(m), outcome: 'delivered', status: 200 },
    );
    const res = await request(app)
      .post('/v1/track')
      .set(auth)
      .set('Prefer', 'wait=5')
      .send({ batch: [scan, { ...scan, name: 'refused' }, scan] })
      .expect(200);
    expect(res.headers['preference-applied']).toBe('wait=5');
    const ids = publisher.messages.map(idOf);
    expect(res.body).toEqual({
      results: [
        { id: ids[0], outcome: 'delivered', status: 200 },
        { id: ids[1], outcome: 'dead_lettered', status: 400, error_class: 'http_4xx' },
        { id: ids[2], outcome: 'delivered', status: 200 },
      ],
    });
    // the reply address travels only on waited operations
    for (const message of publisher.messages) expect(message.headers?.['x-reply-to']).toBe('4');
    expect(waiters.size).toBe(0);
  });

  it('answers 202 with pending entries when the wait runs out', async () => {
    const { waiters, waiting } = inbox();
    const { app, publisher } = buildApp({ waiting, maxWaitSeconds: 30 });
    let first = true;
    publisher.onPublish = answering(waiters, (m) => {
      const reply = first && { id: idOf(m), outcome: 'delivered', status: 200 };
      first = false;
      return reply;
    });
    const res = await request(app)
      .post('/v1/track')
      .set(auth)
      .set('Prefer', 'wait=1')
      .send({ batch: [scan, scan] })
      .expect(202);
    expect(res.headers['preference-applied']).toBe('wait=1');
    const ids = publisher.messages.map(idOf);
    expect(res.body).toEqual({
      results: [
        { id: ids[0], outcome: 'delivered', status: 200 },
        { id: ids[1], outcome: 'pending' },
      ],
    });
    expect(waiters.size).toBe(0);
  });

  it('reports the delivery_id of a transactional send', async () => {
    const { waiters, waiting } = inbox();
    const { app, publisher } = buildApp({ waiting, maxWaitSeconds: 30 });
    publisher.onPublish = answering(waiters, (m) => ({
      id: idOf(m),
      outcome: 'delivered',
      status: 200,
      delivery_id: 'dlv-1',
    }));
    const res = await request(app)
      .post('/v1/transactional')
      .set(auth)
      .set('Prefer', 'wait=5')
      .send(send)
      .expect(200);
    expect(res.body.results).toEqual([
      { id: publisher.messages.map(idOf)[0], outcome: 'delivered', status: 200, delivery_id: 'dlv-1' },
    ]);
  });

  it('past PRODUCER_MAX_WAITERS answers 202 at once, without Preference-Applied or a reply address', async () => {
    const { waiting } = inbox(1);
    const { app, publisher } = buildApp({ waiting, maxWaitSeconds: 30 });
    const res = await request(app)
      .post('/v1/track')
      .set(auth)
      .set('Prefer', 'wait=5')
      .send({ batch: [scan, scan] })
      .expect(202);
    expect(res.headers['preference-applied']).toBeUndefined();
    expect(res.body.ids).toHaveLength(2);
    expect(publisher.messages[0]?.headers).not.toHaveProperty('x-reply-to');
  });

  it.each([undefined, 'wait=0', 'wait=soon', 'respond-async'])(
    'without a valid wait preference (%p) answers 202 as always',
    async (prefer) => {
      const { waiting } = inbox();
      const { app, publisher } = buildApp({ waiting, maxWaitSeconds: 30 });
      const req = request(app).post('/v1/track').set(auth);
      if (prefer) req.set('Prefer', prefer);
      const res = await req.send(scan).expect(202);
      expect(res.headers['preference-applied']).toBeUndefined();
      expect(res.body).toEqual({ id: res.body.id, ids: [res.body.id] });
      expect(publisher.messages[0]?.headers).not.toHaveProperty('x-reply-to');
    },
  );

  it('gives the places back when Kafka does not acknowledge', async () => {
    const { waiters, waiting } = inbox();
    const { app, publisher } = buildApp({ waiting, maxWaitSeconds: 30 });
    publisher.failWith = Object.assign(new Error('broker away'), { retriable: true });
    await request(app).post('/v1/track').set(auth).set('Prefer', 'wait=5').send(scan).expect(503);
    expect(waiters.size).toBe(0);
  });
});
