import type { AddressInfo } from 'node:net';
import { createLogger } from '@cio-bridge/logger';
import request from 'supertest';
import { createHttpApp, finishHttpApp } from './app';
import { HttpError } from './errors';
import { jsonBody } from './json-body';
import { createRegistry } from './metrics';
import { closeServer, listen } from './server';

function build(readiness = {}) {
  const app = createHttpApp({
    logger: createLogger({ name: 't', level: 'silent' }),
    registry: createRegistry(),
    readiness,
  });
  app.post('/echo', ...jsonBody(1024), (req, res) => {
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

  it('reports readiness per dependency by name and state only; the reason goes to the log', async () => {
    let kafkaUp = true;
    const lines: string[] = [];
    const logger = createLogger({
      name: 't',
      level: 'info',
      destination: { write: (line: string) => lines.push(line) },
    });
    const app = finishHttpApp(
      createHttpApp({
        logger,
        registry: createRegistry(),
        readiness: {
          kafka: () => {
            if (!kafkaUp) throw new Error('connect ECONNREFUSED 10.1.2.3:9092 (broker kafka-0.internal)');
          },
        },
      }),
    );
    await request(app)
      .get('/readyz')
      .expect(200, { status: 'ready', checks: { kafka: 'ok' } });
    kafkaUp = false;
    const notReady = await request(app).get('/readyz').expect(503);
    expect(notReady.body).toEqual({ status: 'not ready', checks: { kafka: 'failing' } });
    expect(notReady.text).not.toContain('10.1.2.3');
    await request(app).get('/readyz').expect(503);
    // Logged once when it starts failing (not on every probe), and once when it recovers.
    const failing = lines.map((line) => JSON.parse(line)).filter((entry) => entry.check === 'kafka');
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatchObject({
      level: 'warn',
      reason: 'connect ECONNREFUSED 10.1.2.3:9092 (broker kafka-0.internal)',
    });
    kafkaUp = true;
    await request(app).get('/readyz').expect(200);
    expect(lines.map((line) => JSON.parse(line)).filter((entry) => entry.check === 'kafka')).toHaveLength(2);
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
    [
      'malformed JSON',
      'application/json',
      '{"a":',
      400,
      /^malformed JSON at character 5: unexpected end of input$/,
    ],
    [
      'JSON quoting nothing of the body',
      'application/json',
      'ada@example.com',
      400,
      /^malformed JSON at character 0: unexpected character$/,
    ],
    [
      'deep nesting',
      'application/json',
      `${'['.repeat(60)}${'{"a":'.repeat(10)}1${'}'.repeat(10)}${']'.repeat(60)}`,
      400,
      /^request body is nested deeper than the limit of 64 levels$/,
    ],
    ['a non-JSON body', 'text/plain', 'hello', 415, /Content-Type must be application\/json/],
    [
      'an oversize body',
      'application/json',
      JSON.stringify({ a: 'x'.repeat(1100) }),
      413,
      /exceeds the limit of 1024 bytes/,
    ],
  ])('rejects %s', async (_name, type, payload, status, message) => {
    const { body } = await request(build())
      .post('/echo')
      .set('Content-Type', type)
      .send(payload)
      .expect(status);
    expect(body.error).toMatch(message);
  });

  it.each(['gzip', 'deflate', 'br'])(
    'answers 400 naming Content-Encoding when the body is not %s',
    async (encoding) => {
      const { body } = await request(build())
        .post('/echo')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send('{"a":1}')
        .expect(400);
      expect(body.error).toBe('request body does not match its Content-Encoding');
    },
  );

  it('rejects invalid UTF-8 instead of replacing it with U+FFFD', async () => {
    const server = await listen(build(), 0, '127.0.0.1');
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from([0x22, 0xc3, 0x28, 0x22]),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: 'request body is not valid UTF-8 (at byte 1)' });
    } finally {
      await closeServer(server);
    }
  });

  it('answers 400 for a path with malformed percent-encoding, quoting nothing of it', async () => {
    const app = createHttpApp({
      logger: createLogger({ name: 't', level: 'silent' }),
      registry: createRegistry(),
    });
    app.get('/v1/users/:id', (_req, res) => {
      res.json({});
    });
    finishHttpApp(app);
    const { body } = await request(app).get('/v1/users/ada%E0%A4@example.com').expect(400);
    expect(body).toEqual({ error: 'malformed path: invalid percent-encoding' });
  });

  it('logs the route pattern, never the path (paths carry ids and emails)', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      name: 't',
      level: 'debug',
      destination: { write: (line: string) => lines.push(line) },
    });
    const app = createHttpApp({ logger, registry: createRegistry() });
    app.get('/v1/users/:id/ai-features', (_req, res) => {
      res.json({});
    });
    finishHttpApp(app);
    await request(app).get('/v1/users/ada%40example.com/ai-features').expect(200);
    await request(app).get('/v1/people/ada@example.com').expect(404);
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('ada');
    expect(JSON.parse(lines[0]!)).toMatchObject({ route: '/v1/users/:id/ai-features', status: 200 });
    expect(JSON.parse(lines[1]!)).toMatchObject({ route: 'unmatched', status: 404 });
  });

  it('answers unknown routes and HttpErrors in JSON with their headers', async () => {
    await request(build()).get('/nope').expect(404, { error: 'no route for GET /nope' });
    const res = await request(build()).get('/unavailable').expect(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toEqual({ error: 'Kafka is away' });
  });
});
