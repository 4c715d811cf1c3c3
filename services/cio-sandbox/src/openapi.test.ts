import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import {
  APIClient,
  IdentifierType,
  SendEmailRequest,
  TrackClient,
  verifyRequestSignature,
} from 'customerio-node';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { createSandbox, DEFAULT_CREDENTIALS, type SandboxApp, sendWebhook, startSandbox } from './index';

// The sandbox against Customer.io's own OpenAPI documents (copied to ../openapi).
type Json = Record<string, unknown>;
const dir = join(__dirname, '..', 'openapi');
const docs = {
  track: JSON.parse(readFileSync(join(dir, 'track-api.openapi.json'), 'utf8')) as Json,
  transactional: parseYaml(readFileSync(join(dir, 'transactional-api.openapi.yml'), 'utf8')) as Json,
  webhooks: JSON.parse(readFileSync(join(dir, 'reporting-webhooks.openapi.json'), 'utf8')) as Json,
};
type DocName = keyof typeof docs;

const ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true, logger: false });
addFormats(ajv);
// formats the documents name that are not JSON Schema formats
for (const format of ['unix timestamp', 'ulid', 'ULID', 'cio_[a-zA-Z0-9]*']) ajv.addFormat(format, true);
/**
 * The documents write "one of these identifiers" as a `oneOf` of object schemas none of
 * which requires its property, so every object matches all branches and strict `oneOf`
 * rejects everything (merge's primary, relationship identifiers). Read those as `anyOf`;
 * `maxProperties: 1` in the branches still allows a single identifier only.
 */
function normalize(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalize);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) out[key] = normalize(value);
  const branches = out.oneOf;
  if (
    Array.isArray(branches) &&
    branches.every((b: Json) => b.$ref === undefined && b.type === 'object' && b.required === undefined)
  ) {
    out.anyOf = branches;
    delete out.oneOf;
  }
  return out;
}
for (const [name, doc] of Object.entries(docs)) ajv.addSchema({ ...(normalize(doc) as Json), $id: name });

const escapePointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');
const pointer = (segments: string[]) => `/${segments.map(escapePointer).join('/')}`;

function at(doc: Json, segments: string[]): unknown {
  let node: unknown = doc;
  for (const segment of segments) node = (node as Json | undefined)?.[segment];
  return node;
}

const validators = new Map<string, ValidateFunction>();
function validatorAt(name: DocName, segments: string[]): ValidateFunction {
  const ref = `${name}#${pointer(segments)}`;
  let validate = validators.get(ref);
  if (!validate) {
    if (at(docs[name], segments) === undefined) throw new Error(`no schema at ${ref}`);
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  return validate;
}

const JSON_CONTENT = ['content', 'application/json', 'schema'];

function requestValidator(name: DocName, path: string, method: string): ValidateFunction {
  return validatorAt(name, ['paths', path, method, 'requestBody', ...JSON_CONTENT]);
}

/** The documented response for a status: a validator, or 'empty-object' / 'no-body' when it has no schema. */
function responseSpec(name: DocName, path: string, method: string, status: number) {
  let segments = ['paths', path, method, 'responses', String(status)];
  const response = at(docs[name], segments) as Json | undefined;
  if (!response) throw new Error(`${method.toUpperCase()} ${path} documents no ${status} response`);
  if (typeof response.$ref === 'string') segments = response.$ref.slice(2).split('/');
  const resolved = at(docs[name], segments) as Json;
  let schema = at(resolved, JSON_CONTENT) as Json | undefined;
  if (typeof schema?.$ref === 'string') schema = at(docs[name], schema.$ref.slice(2).split('/')) as Json;
  if (schema === undefined)
    return String(resolved.description).includes('empty object') ? 'empty-object' : 'no-body';
  return { validate: validatorAt(name, [...segments, ...JSON_CONTENT]), schema };
}

const errorsOf = (validate: ValidateFunction) => ajv.errorsText(validate.errors);

function expectDocumentedResponse(
  name: DocName,
  path: string,
  method: string,
  response: { status: number; body: unknown },
) {
  const spec = responseSpec(name, path, method, response.status);
  if (spec === 'empty-object') {
    expect(response.body).toEqual({});
  } else if (spec !== 'no-body') {
    const valid = spec.validate(response.body);
    if (!valid)
      throw new Error(`${response.status} body does not match the document: ${errorsOf(spec.validate)}`);
    // The documented schemas require nothing; also insist on documented, non-empty top-level fields.
    const documented = Object.keys((spec.schema.properties as Json | undefined) ?? {});
    const keys = Object.keys(response.body as Json);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(documented).toContain(key);
  }
}

const basic = `Basic ${Buffer.from(`${DEFAULT_CREDENTIALS.siteId}:${DEFAULT_CREDENTIALS.apiKey}`).toString('base64')}`;
const bearer = `Bearer ${DEFAULT_CREDENTIALS.appApiKey}`;

/** Documented example bodies of an operation: its JSON code samples and schema examples. */
function documentedExamples(path: string, method: string): unknown[] {
  const operation = at(docs.track, ['paths', path, method]) as Json;
  const samples = ((operation['x-codeSamples'] as Array<{ lang: string; source: string }> | undefined) ?? [])
    .filter((sample) => sample.lang === 'json')
    .map((sample) => JSON.parse(sample.source) as unknown);
  const schema = at(operation, ['requestBody', ...JSON_CONTENT]) as Json | undefined;
  if (schema?.example !== undefined) samples.push(schema.example);
  return samples;
}

/** Every component example among the v2 operation variants (person, object, delivery). */
function v2ComponentExamples(): Array<[string, unknown]> {
  const schemas = at(docs.track, ['components', 'schemas']) as Record<string, Json>;
  const variants = ['person_operations', 'object_operations', 'delivery_operations'].flatMap((group) => {
    const node = schemas[group];
    if (!node) return [];
    const list = (node.oneOf ?? node.anyOf ?? [{ $ref: `#/components/schemas/${group}` }]) as Json[];
    return list.map((entry) => String(entry.$ref).split('/').pop()!);
  });
  return variants
    .map((name) => [name, schemas[name]?.example] as [string, unknown])
    .filter(([, example]) => example !== undefined);
}

describe('the sandbox against the OpenAPI documents', () => {
  let sandbox: SandboxApp;
  beforeEach(() => {
    sandbox = createSandbox();
  });

  const v1Paths: Array<[string, string, string]> = [
    ['/api/v1/customers/{identifier}', 'put', '/api/v1/customers/user-42'],
    ['/api/v1/customers/{identifier}/events', 'post', '/api/v1/customers/user-42/events'],
    ['/api/v1/events', 'post', '/api/v1/events'],
    ['/api/v1/customers/{identifier}/devices', 'put', '/api/v1/customers/user-42/devices'],
    ['/api/v1/merge_customers', 'post', '/api/v1/merge_customers'],
    ['/api/v2/entity', 'post', '/api/v2/entity'],
    ['/api/v2/batch', 'post', '/api/v2/batch'],
  ];

  it.each(v1Paths)(
    'accepts exactly the documented examples of %s %s that match its schema',
    async (path, method, url) => {
      const examples = documentedExamples(path, method);
      expect(examples.length).toBeGreaterThan(0);
      const validate = requestValidator('track', path, method);
      for (const example of examples) {
        // merge's primary person must exist for the merge to take effect (it is accepted either way)
        const valid = validate(example);
        const response = await request(sandbox.app)
          [method as 'put' | 'post'](url)
          .set('Authorization', basic)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(example));
        const accepted = response.status === 200;
        if (accepted !== valid)
          throw new Error(
            `${JSON.stringify(example)}: schema ${valid ? 'valid' : `invalid (${errorsOf(validate)})`} but answered ${response.status} ${JSON.stringify(response.body)}`,
          );
        expectDocumentedResponse('track', path, method, response);
      }
    },
  );

  it('treats every documented v2 operation example as its schema does', async () => {
    const examples = v2ComponentExamples();
    expect(examples.length).toBeGreaterThanOrEqual(12);
    const validate = requestValidator('track', '/api/v2/entity', 'post');
    const outcomes: string[] = [];
    for (const [name, example] of examples) {
      const valid = validate(example);
      const response = await request(sandbox.app)
        .post('/api/v2/entity')
        .set('Authorization', basic)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(example));
      expectDocumentedResponse('track', '/api/v2/entity', 'post', response);
      if ((response.status === 200) !== valid)
        outcomes.push(`${name}: schema ${valid ? 'valid' : 'invalid'}, answered ${response.status}`);
    }
    expect(outcomes).toEqual([]);
  });

  it('answers a batch with invalid items 207 with per-item errors in the documented shape', async () => {
    const response = await request(sandbox.app)
      .post('/api/v2/batch')
      .set('Authorization', basic)
      .send({
        batch: [
          { type: 'person', identifiers: { id: '1' }, action: 'identify', attributes: { plan: 'x' } },
          { type: 'person', identifiers: { id: '1' }, action: 'fly' },
          { type: 'person', identifiers: { id: '1' }, action: 'event', name: 'n'.repeat(101) },
        ],
      })
      .expect(207);
    expectDocumentedResponse('track', '/api/v2/batch', 'post', response);
    expect(response.body.errors.map((e: { batch_index: number }) => e.batch_index)).toEqual([1, 2]);
  });

  it.each([
    ['/api/v2/batch', '/api/v2/batch', { batch: [] }],
    ['/api/v2/entity', '/api/v2/entity', { type: 'person', identifiers: { id: '1' }, action: 'fly' }],
    ['/api/v1/customers/{identifier}/events', '/api/v1/customers/u/events', { data: {} }],
    ['/api/v1/events', '/api/v1/events', { anonymous_id: 'a' }],
    [
      '/api/v1/customers/{identifier}/devices',
      '/api/v1/customers/u/devices',
      { device: { id: 't', platform: 'tv' } },
    ],
    [
      '/api/v1/merge_customers',
      '/api/v1/merge_customers',
      { primary: { id: '1', email: 'a@b.c' }, secondary: { id: '2' } },
    ],
  ])('answers bad input to %s with the documented 400 body', async (path, url, body) => {
    const method = path.includes('devices') ? 'put' : 'post';
    const response = await request(sandbox.app)
      [method](url)
      .set('Authorization', basic)
      .send(body)
      .expect(400);
    expectDocumentedResponse('track', path, method, response);
  });

  it('answers delete_device 400 in the documented shape for an oversize device id', async () => {
    const response = await request(sandbox.app)
      .delete(`/api/v1/customers/u/devices/${'d'.repeat(151)}`)
      .set('Authorization', basic)
      .expect(400);
    expectDocumentedResponse(
      'track',
      '/api/v1/customers/{identifier}/devices/{device_id}',
      'delete',
      response,
    );
    expect(response.body.meta.errors[0]).toMatch(/device_id exceeds the limit of 150 bytes/);
  });

  it('answers the region lookup and the v1 person calls as documented', async () => {
    const region = await request(sandbox.app)
      .get('/api/v1/accounts/region')
      .set('Authorization', basic)
      .expect(200);
    expectDocumentedResponse('track', '/api/v1/accounts/region', 'get', region);
    for (const [path, method, url] of [
      ['/api/v1/customers/{identifier}', 'delete', '/api/v1/customers/u'],
      ['/api/v1/customers/{identifier}/suppress', 'post', '/api/v1/customers/u/suppress'],
      ['/api/v1/customers/{identifier}/unsuppress', 'post', '/api/v1/customers/u/unsuppress'],
      ['/api/v1/customers/{identifier}/devices/{device_id}', 'delete', '/api/v1/customers/u/devices/t'],
    ] as const) {
      const response = await request(sandbox.app)[method](url).set('Authorization', basic).expect(200);
      expectDocumentedResponse('track', path, method, response);
      const unauthorized = await request(sandbox.app)[method](url).set('Authorization', bearer).expect(401);
      expect(responseSpec('track', path, method, unauthorized.status)).toBe('no-body');
    }
  });

  it('answers transactional sends as documented', async () => {
    const body = {
      transactional_message_id: '3',
      to: 'a@example.com',
      identifiers: { email: 'a@example.com' },
    };
    expect(requestValidator('transactional', '/send/email', 'post')(body)).toBe(true);
    const sent = await request(sandbox.app)
      .post('/v1/send/email')
      .set('Authorization', bearer)
      .send(body)
      .expect(200);
    expectDocumentedResponse('transactional', '/send/email', 'post', sent);
    expect(sent.body).toEqual({ delivery_id: expect.any(String), queued_at: expect.any(Number) });
    const missing = { to: 'a@example.com', identifiers: { id: '1' } };
    expect(requestValidator('transactional', '/send/email', 'post')(missing)).toBe(false);
    const bad = await request(sandbox.app)
      .post('/v1/send/email')
      .set('Authorization', bearer)
      .send(missing)
      .expect(400);
    expect(bad.body.meta.error).toMatch(/transactional_message_id is required/);
    await request(sandbox.app).post('/v1/send/email').set('Authorization', basic).send(body).expect(401);
    expect(responseSpec('transactional', '/send/email', 'post', 401)).toBe('no-body');
  });
});

describe('what customerio-node sends, against the request schemas', () => {
  it('every Track call and sendEmail conform to the documents', async () => {
    const sandbox = await startSandbox();
    try {
      const options = { url: sandbox.trackUrl, retry: { maxRetries: 0 } };
      const track = new TrackClient(DEFAULT_CREDENTIALS.siteId, DEFAULT_CREDENTIALS.apiKey, options);
      const api = new APIClient(DEFAULT_CREDENTIALS.appApiKey, {
        url: sandbox.appUrl,
        retry: { maxRetries: 0 },
      });
      await track.identify('u1', { email: 'u1@example.com', plan: 'pro', created_at: 1716400000 });
      await track.identify('u2', {});
      await track.track('u1', {
        name: 'purchase',
        id: '01HYA5Z8QK8M3V4W5X6Y7Z8A9B',
        data: { price: 1 },
        timestamp: 1,
      });
      await track.trackAnonymous('anon', { name: 'visit', data: {} });
      await track.addDevice('u1', 'tok', 'ios', { last_used: 1716400000, app_version: '2' });
      await track.mergeCustomers(IdentifierType.Id, 'u1', IdentifierType.Email, 'u2@example.com');
      await track.batch([
        { type: 'person', identifiers: { id: 'u1' }, action: 'event', name: 'e', id: 'x1' },
      ]);
      await api.sendEmail(
        new SendEmailRequest({
          to: 'u1@example.com',
          identifiers: { id: 'u1' },
          transactional_message_id: '7',
        }),
      );
      const schemaFor: Record<string, [string, string]> = {
        identify: ['/api/v1/customers/{identifier}', 'put'],
        event: ['/api/v1/customers/{identifier}/events', 'post'],
        add_device: ['/api/v1/customers/{identifier}/devices', 'put'],
        merge: ['/api/v1/merge_customers', 'post'],
      };
      const checked: string[] = [];
      for (const op of sandbox.state.operations) {
        const target =
          op.via === 'v2-batch'
            ? null
            : op.identifiers.anonymous_id !== undefined
              ? (['/api/v1/events', 'post'] as [string, string])
              : schemaFor[op.action];
        if (op.via === 'v2-batch') {
          const validate = requestValidator('track', '/api/v2/batch', 'post');
          expect(validate({ batch: [op.payload] }) || errorsOf(validate)).toBe(true);
        } else if (target) {
          const validate = requestValidator('track', target[0], target[1]);
          expect(validate(op.payload) || `${op.action}: ${errorsOf(validate)}`).toBe(true);
        }
        checked.push(op.action);
      }
      expect(checked).toEqual(['identify', 'identify', 'event', 'event', 'add_device', 'merge', 'event']);
      const validateSend = requestValidator('transactional', '/send/email', 'post');
      expect(validateSend(sandbox.state.sends[0]!.request) || errorsOf(validateSend)).toBe(true);
    } finally {
      await sandbox.close();
    }
  });
});

describe('the webhook sender against the reporting webhook document', () => {
  it('posts the documented examples signed as documented', async () => {
    const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const operation = at(docs.webhooks, ['webhooks', 'reportingWebhook', 'post']) as Json;
      const examples = at(operation, ['requestBody', 'content', 'application/json', 'examples']) as Record<
        string,
        { value: unknown }
      >;
      const headerNames = (operation.parameters as Array<{ name: string; in: string }>)
        .filter((p) => p.in === 'header')
        .map((p) => p.name.toLowerCase());
      expect(headerNames.sort()).toEqual(['x-cio-signature', 'x-cio-timestamp']);
      for (const { value } of Object.values(examples)) {
        const result = await sendWebhook({ url, signingKey: 'whsec', body: value, timestamp: 1613063089 });
        expect(result).toMatchObject({ status: 200, attempts: 1, delivered: true });
        const last = received.at(-1)!;
        expect(JSON.parse(last.body)).toEqual(value);
        expect(last.headers['content-type']).toBe('application/json');
        expect(last.headers['x-cio-timestamp']).toBe('1613063089');
        expect(
          verifyRequestSignature({
            signingSecret: 'whsec',
            timestamp: last.headers['x-cio-timestamp'] as string,
            signature: last.headers['x-cio-signature'] as string,
            body: last.body,
          }),
        ).toBe(true);
      }
      expect(received).toHaveLength(Object.keys(examples).length);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
