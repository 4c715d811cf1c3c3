import { readFileSync } from 'node:fs';
import { PublishTimeoutError, Waiters } from '@cio-bridge/kafka';
import {
  createAjv,
  invalidTrackFixtures,
  invalidTransactionalFixtures,
  operationExamples,
  SCHEMA_ID_BASE,
  seedExamples,
  transactionalExamples,
} from '@cio-bridge/schemas';
import type { ValidateFunction } from 'ajv';
import request from 'supertest';
import { parse } from 'yaml';
import { openApiPath } from './index';
import { buildApp, TOKEN } from './testing/app';

// The OpenAPI document is checked against the implementation: its routes are
// the app's routes, its request schemas accept what the app accepts and reject
// what it rejects, and every answer the app gives matches a documented
// response (status, headers and body schema).

type Json = Record<string, unknown>;
const doc = parse(readFileSync(openApiPath, 'utf8')) as Json;
const SHIPPED = '../../packages/schemas/schemas/';

function pointerGet(root: unknown, pointer: string): unknown {
  return pointer
    .replace(/^#\//, '')
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, token) => (node as Json | undefined)?.[token], root);
}

/** Inlines the document's own `#/...` refs and points refs to the shipped schema files at their $id. */
function resolve(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(resolve);
  if (typeof node !== 'object' || node === null) return node;
  const ref = (node as Json).$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    const target = pointerGet(doc, ref);
    if (target === undefined) throw new Error(`unresolved $ref ${ref}`);
    return resolve(target);
  }
  if (typeof ref === 'string' && ref.startsWith(SHIPPED))
    return { $ref: SCHEMA_ID_BASE + ref.slice(SHIPPED.length) };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
}

const ajv = createAjv();
ajv.addKeyword({ keyword: 'example' });
const compile = (schema: unknown): ValidateFunction => ajv.compile(resolve(schema) as Json);

const operation = (path: string, method: string): Json => {
  const op = pointerGet(doc, `#/paths/${path.replaceAll('/', '~1')}/${method}`) as Json | undefined;
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
  return op;
};

/** Checks a real answer against the documented response for its status. */
function expectDocumented(path: string, method: string, res: request.Response): void {
  const responses = operation(path, method).responses as Json;
  const documented = responses[String(res.status)];
  expect({ path, status: res.status, documented: documented !== undefined }).toEqual({
    path,
    status: res.status,
    documented: true,
  });
  const response = resolve(documented) as { headers?: Json; content?: Record<string, { schema: Json }> };
  for (const header of Object.keys(response.headers ?? {})) {
    expect({ header, present: res.headers[header.toLowerCase()] !== undefined }).toEqual({
      header,
      present: true,
    });
  }
  const type = String(res.headers['content-type'] ?? '').split(';')[0] ?? '';
  const content = response.content?.[type];
  expect({ status: res.status, type, documented: content !== undefined }).toEqual({
    status: res.status,
    type,
    documented: true,
  });
  const validate = compile(content?.schema);
  const body = type === 'application/json' ? res.body : res.text;
  expect({ status: res.status, body, errors: validate(body) ? null : validate.errors }).toEqual({
    status: res.status,
    body,
    errors: null,
  });
}

const bearer = { Authorization: `Bearer ${TOKEN}` };
const seed = Object.values(seedExamples());

describe('openapi.yaml', () => {
  it('is an OpenAPI 3.1 document whose paths are exactly the routes of the app', () => {
    expect(String(doc.openapi)).toMatch(/^3\.1\./);
    const { app } = buildApp();
    type Layer = { route?: { path: string; methods: Json } };
    const routes = ((app as unknown as { router: { stack: Layer[] } }).router.stack as Layer[])
      .flatMap((layer) =>
        layer.route ? Object.keys(layer.route.methods).map((m) => `${m} ${layer.route?.path}`) : [],
      )
      .sort();
    const documented = Object.entries(doc.paths as Json)
      .flatMap(([path, item]) => Object.keys(item as Json).map((method) => `${method} ${path}`))
      .sort();
    expect(documented).toEqual(routes);
  });

  describe('request schemas agree with the validation of the app', () => {
    const track = compile(
      ((operation('/v1/track', 'post').requestBody as Json).content as Record<string, Json>)[
        'application/json'
      ]?.schema,
    );
    const transactional = compile(
      ((operation('/v1/transactional', 'post').requestBody as Json).content as Record<string, Json>)[
        'application/json'
      ]?.schema,
    );

    it('accepts every seed event, every action and a batch of them', () => {
      const all = [...seed, ...Object.values(operationExamples())];
      for (const op of all) expect({ op, valid: track(op) }).toEqual({ op, valid: true });
      expect(track({ batch: all })).toBe(true);
      for (const send of Object.values(transactionalExamples())) expect(transactional(send)).toBe(true);
    });

    it('rejects every invalid fixture, alone and in a batch', () => {
      for (const [name, fixture] of Object.entries(invalidTrackFixtures())) {
        expect({ name, valid: track(fixture.value) }).toEqual({ name, valid: false });
        expect({ name, valid: track({ batch: [seed[0], fixture.value] }) }).toEqual({ name, valid: false });
      }
      for (const [name, fixture] of Object.entries(invalidTransactionalFixtures())) {
        expect({ name, valid: transactional(fixture.value) }).toEqual({ name, valid: false });
      }
      expect(track({ batch: [] })).toBe(false);
    });

    it('documents the limits the app enforces by default', async () => {
      const { app, publisher } = buildApp();
      const maxItems = (pointerGet(doc, '#/components/schemas/TrackRequest/oneOf/1/properties/batch') as Json)
        .maxItems as number;
      const op = { name: 'x', identifiers: { id: 'u' } };
      await request(app)
        .post('/v1/track')
        .set(bearer)
        .send({ batch: Array(maxItems).fill(op) })
        .expect(202);
      await request(app)
        .post('/v1/track')
        .set(bearer)
        .send({ batch: Array(maxItems + 1).fill(op) })
        .expect(400);
      const limit = operation('/v1/track', 'post')['x-body-limit-bytes'] as number;
      const padding = (n: number) => `{"name":"x","identifiers":{"id":"u"}}${' '.repeat(n)}`;
      const base = padding(0).length;
      const send = (body: string) =>
        request(app).post('/v1/track').set(bearer).set('Content-Type', 'application/json').send(body);
      await send(padding(limit - base)).expect(202);
      await send(padding(limit - base + 1)).expect(413);
      expect(publisher.messages.length).toBe(maxItems + 1);
      expect(operation('/v1/transactional', 'post')['x-body-limit-bytes']).toBe(limit);
    });
  });

  describe('every answer of the app is documented', () => {
    const scan = seedExamples().product_scanned;
    const send = Object.values(transactionalExamples())[0];

    it.each([
      ['/v1/track', 'a single operation', scan],
      ['/v1/track', 'a batch', { batch: seed }],
      ['/v1/transactional', 'a send', send],
    ])('%s 202 for %s', async (path, _what, body) => {
      const { app } = buildApp();
      expectDocumented(
        path,
        'post',
        await request(app)
          .post(path)
          .set(bearer)
          .send(body as object),
      );
    });

    it.each(['/v1/track', '/v1/transactional'])('%s 400, 401, 413, 415 and 503', async (path) => {
      const { app, publisher } = buildApp({ maxBodyBytes: 4096 });
      const post = () => request(app).post(path).set(bearer);
      const answers = [
        await post().send({ identifiers: { id: 'a', email: 'b@example.com' } }),
        await post().set('Content-Type', 'application/json').send('{"oops"'),
        await request(app)
          .post(path)
          .send(scan as object),
        await post().send({ ...scan, data: { blob: 'x'.repeat(5000) } }),
        await post().set('Content-Type', 'text/plain').send('hello'),
      ];
      publisher.failWith = new PublishTimeoutError('Kafka did not acknowledge within 5000 ms');
      answers.push(await post().send((path === '/v1/track' ? scan : send) as object));
      expect(answers.map((a) => a.status)).toEqual([400, 400, 401, 413, 415, 503]);
      for (const answer of answers) expectDocumented(path, 'post', answer);
    });

    it.each(['/v1/track', '/v1/transactional'])(
      '%s with Prefer: wait answers a documented 200 (all known) and 202 (pending)',
      async (path) => {
        const waiters = new Waiters(10);
        const waiting = {
          begin: (ids: readonly string[]) => {
            const wait = waiters.add(ids);
            return wait && { wait, headers: { 'x-reply-to': '0' } };
          },
        };
        const { app, publisher } = buildApp({ waiting });
        const body = (path === '/v1/track' ? scan : send) as object;
        const waited = () => request(app).post(path).set(bearer).set('Prefer', 'wait=1').send(body);
        const pending = await waited();
        expect(pending.status).toBe(202);
        expectDocumented(path, 'post', pending);
        publisher.onPublish = async (messages) => {
          setImmediate(() => {
            for (const m of messages)
              waiters.settle({
                id: String(m.headers?.['x-operation-id']),
                outcome: 'delivered',
                status: 200,
                ...(path === '/v1/transactional' && { delivery_id: 'dlv-1' }),
              });
          });
        };
        const known = await waited();
        expect(known.status).toBe(200);
        expectDocumented(path, 'post', known);
      },
    );

    it('the doc examples are accepted by the app', async () => {
      for (const path of ['/v1/track', '/v1/transactional']) {
        const examples = ((operation(path, 'post').requestBody as Json).content as Record<string, Json>)[
          'application/json'
        ]?.examples as Record<string, { value: unknown }>;
        for (const example of Object.values(examples)) {
          const { app } = buildApp();
          const res = await request(app)
            .post(path)
            .set(bearer)
            .send(example.value as object);
          expect(res.status).toBe(202);
          expectDocumented(path, 'post', res);
        }
      }
    });

    it('/healthz, /readyz and /metrics', async () => {
      let up = true;
      const { app } = buildApp({
        readiness: {
          kafka: () => {
            if (!up) throw new Error('down');
          },
        },
      });
      expectDocumented('/healthz', 'get', await request(app).get('/healthz'));
      expectDocumented('/readyz', 'get', await request(app).get('/readyz'));
      up = false;
      expectDocumented('/readyz', 'get', await request(app).get('/readyz'));
      expectDocumented('/metrics', 'get', await request(app).get('/metrics'));
    });
  });
});
