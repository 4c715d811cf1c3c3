import { createLogger } from '@cio-bridge/logger';
import request from 'supertest';
import { createHttpApp, finishHttpApp } from './app';
import { HttpError } from './errors';
import { jsonBody } from './json-body';
import { createRegistry } from './metrics';

function build(readiness = {}) {
  const app = createHttpApp({
    logger: createLogger({ name: 't', level: 'silent' }),
    registry: createRegistry(),
    readiness,
  });
  app.post('/echo', ...jsonBody(64), (req, res) => {
    res.json({ body: req.body, raw: req.rawBody?.toString() });
  });
  app.get('/unavailable', () => {
    throw new HttpError(503, 'Kafka is away', undefined, { 'Retry-After': '5' });
  });
  return finishHttpApp(app);
}

describe('http app', () => {
  it('answers healthz', async () => {
    await request(build()).get('/healthz').expect(200, { status: 'ok' });
  });

  it('reports readiness per dependency', async () => {
    let kafkaUp = true;
    const app = build({
      kafka: () => {
        if (!kafkaUp) throw new Error('Kafka did not answer');
      },
    });
    await request(app)
      .get('/readyz')
      .expect(200, { status: 'ready', checks: { kafka: 'ok' } });
    kafkaUp = false;
    await request(app)
      .get('/readyz')
      .expect(503, { status: 'not ready', checks: { kafka: 'Kafka did not answer' } });
  });

  it('exposes metrics with request counts', async () => {
    const app = build();
    await request(app).get('/healthz');
    const { text } = await request(app).get('/metrics').expect(200);
    expect(text).toMatch(/cio_bridge_http_requests_total\{route="\/healthz",method="GET",status="200"\} 1/);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('parses JSON and keeps the raw body', async () => {
    const { body } = await request(build())
      .post('/echo')
      .set('Content-Type', 'application/json')
      .send('{"a":1}')
      .expect(200);
    expect(body).toEqual({ body: { a: 1 }, raw: '{"a":1}' });
  });

  it.each([
    ['malformed JSON', 'application/json', '{"a":', 400, /^malformed JSON/],
    ['a non-JSON body', 'text/plain', 'hello', 415, /Content-Type must be application\/json/],
    [
      'an oversize body',
      'application/json',
      JSON.stringify({ a: 'x'.repeat(100) }),
      413,
      /exceeds the limit of 64 bytes/,
    ],
  ])('rejects %s', async (_name, type, payload, status, message) => {
    const { body } = await request(build())
      .post('/echo')
      .set('Content-Type', type)
      .send(payload)
      .expect(status);
    expect(body.error).toMatch(message);
  });

  it('answers unknown routes and HttpErrors in JSON with their headers', async () => {
    await request(build()).get('/nope').expect(404, { error: 'no route for GET /nope' });
    const res = await request(build()).get('/unavailable').expect(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toEqual({ error: 'Kafka is away' });
  });
});
