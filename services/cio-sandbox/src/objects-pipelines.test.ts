import request from 'supertest';
import { createSandbox, DEFAULT_CREDENTIALS, type SandboxApp } from './index';

const basic = `Basic ${Buffer.from(`${DEFAULT_CREDENTIALS.siteId}:${DEFAULT_CREDENTIALS.apiKey}`).toString('base64')}`;
const pipelinesAuth = (key = DEFAULT_CREDENTIALS.pipelinesApiKey) =>
  `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

describe('objects, relationships and anonymous activity (Track API)', () => {
  let sandbox: SandboxApp;
  beforeEach(() => {
    sandbox = createSandbox();
  });
  const batch = (ops: unknown[]) =>
    request(sandbox.app).post('/api/v2/batch').set('Authorization', basic).send({ batch: ops });

  it('stores an object and its relationship to a person, and shows both in the state API', async () => {
    await batch([
      { type: 'person', action: 'identify', identifiers: { id: 'u1' }, attributes: { plan: 'pro' } },
      {
        type: 'object',
        action: 'identify',
        identifiers: { object_type_id: '1', object_id: 'acme' },
        attributes: { name: 'Acme' },
        cio_relationships: [{ identifiers: { id: 'u1' }, relationship_attributes: { role: 'admin' } }],
      },
    ]).expect(200, {});
    const objects = (await request(sandbox.app).get('/_sandbox/objects').expect(200)).body;
    expect(objects).toEqual([
      expect.objectContaining({ object_type_id: '1', object_id: 'acme', attributes: { name: 'Acme' } }),
    ]);
    const person = sandbox.state.find({ id: 'u1' })!;
    expect((await request(sandbox.app).get('/_sandbox/relationships').expect(200)).body).toEqual([
      expect.objectContaining({
        object_type_id: '1',
        object_id: 'acme',
        person: { id: 'u1' },
        person_cio_id: person.cio_id,
        attributes: { role: 'admin' },
      }),
    ]);
  });

  it('adds and deletes a person-side relationship, and deleting the object removes its relationships', async () => {
    const rel = { identifiers: { object_type_id: '2', object_id: 'h9' } };
    await batch([
      { type: 'person', action: 'add_relationships', identifiers: { id: 'u1' }, cio_relationships: [rel] },
    ]).expect(200);
    expect(sandbox.state.relationshipList()).toHaveLength(1);
    await batch([
      { type: 'person', action: 'delete_relationships', identifiers: { id: 'u1' }, cio_relationships: [rel] },
    ]).expect(200);
    expect(sandbox.state.relationshipList()).toHaveLength(0);
    await batch([
      {
        type: 'object',
        action: 'add_relationships',
        identifiers: rel.identifiers,
        cio_relationships: [{ identifiers: { id: 'u2' } }],
      },
    ]).expect(200);
    await batch([{ type: 'object', action: 'delete', identifiers: rel.identifiers }]).expect(200);
    expect(sandbox.state.relationshipList()).toHaveLength(0);
    expect(sandbox.state.objects.size).toBe(0);
  });

  it('drops the relationships of a deleted person', async () => {
    await batch([
      { type: 'person', action: 'identify', identifiers: { id: 'u1' }, attributes: {} },
      {
        type: 'person',
        action: 'add_relationships',
        identifiers: { id: 'u1' },
        cio_relationships: [{ identifiers: { object_type_id: '1', object_id: 'acme' } }],
      },
      { type: 'person', action: 'delete', identifiers: { id: 'u1' } },
    ]).expect(200);
    expect(sandbox.state.relationshipList()).toEqual([]);
    expect(sandbox.state.objects.size).toBe(1);
  });

  it('answers 207 for an object without object_type_id', async () => {
    const { body } = await batch([
      { type: 'object', action: 'identify', identifiers: { object_id: 'acme' } },
    ]).expect(207);
    expect(body.errors[0]).toMatchObject({ batch_index: 0, field: 'identifiers.object_type_id' });
  });

  it('merges anonymous events into the person identified with their anonymous_id, also later ones', async () => {
    await request(sandbox.app)
      .post('/api/v1/events')
      .set('Authorization', basic)
      .send({ anonymous_id: 'a-1', name: 'viewed', type: 'page', data: {} })
      .expect(200);
    expect(sandbox.state.events[0]).toMatchObject({ person: null, anonymous_id: 'a-1', type: 'page' });
    await batch([
      { type: 'person', action: 'identify', identifiers: { id: 'u1' }, attributes: { anonymous_id: 'a-1' } },
    ]).expect(200);
    await request(sandbox.app)
      .post('/api/v1/events')
      .set('Authorization', basic)
      .send({ anonymous_id: 'a-1', name: 'late' })
      .expect(200);
    expect(sandbox.state.eventsFor('u1').map((e) => e.name)).toEqual(['viewed', 'late']);
  });
});

describe('Pipelines API', () => {
  let sandbox: SandboxApp;
  beforeEach(() => {
    sandbox = createSandbox();
  });
  const post = (path: string, body: unknown, { strict = true, auth = pipelinesAuth() } = {}) => {
    const req = request(sandbox.app).post(path).set('Authorization', auth);
    if (strict) req.set('X-Strict-Mode', '1');
    return req.send(body as object);
  };

  it('answers 401 to a wrong key in strict mode, and 200 without applying anything otherwise', async () => {
    await post('/v1/identify', { userId: 'u1' }, { auth: pipelinesAuth('wrong') }).expect(401);
    await post('/v1/identify', { userId: 'u1' }, { auth: pipelinesAuth('wrong'), strict: false }).expect(
      200,
      {},
    );
    await post('/v1/identify', { userId: 'u1' }, { auth: basic }).expect(401);
    expect(sandbox.state.people).toEqual([]);
  });

  it('answers 400 naming the field in strict mode and 200 without it', async () => {
    const { body } = await post('/v1/track', { userId: 'u1' }).expect(400);
    expect(body.meta.errors[0]).toMatch(/^event: /);
    await post('/v1/track', { userId: 'u1' }, { strict: false }).expect(200, {});
    expect((await post('/v1/alias', { userId: 'u1' }).expect(400)).body.meta.errors[0]).toMatch(/previousId/);
    expect((await post('/v1/group', { userId: 'u1' }).expect(400)).body.meta.errors[0]).toMatch(/groupId/);
  });

  it('applies a batch to the workspace: people, events, objects, relationships and merged anonymous activity', async () => {
    await post('/v1/batch', {
      batch: [
        {
          type: 'page',
          anonymousId: 'a-1',
          name: '/pricing',
          properties: { url: 'https://x/pricing' },
          messageId: 'm1',
        },
        { type: 'identify', userId: 'u1', anonymousId: 'a-1', traits: { plan: 'pro' }, messageId: 'm2' },
        {
          type: 'group',
          userId: 'u1',
          groupId: 'acme',
          traits: { objectTypeId: '1', name: 'Acme', relationshipAttributes: { role: 'admin' } },
          messageId: 'm3',
        },
        {
          type: 'track',
          userId: 'u1',
          event: 'Relationship Deleted',
          properties: { objectId: 'acme', objectTypeId: '1' },
          messageId: 'm4',
        },
        { type: 'group', userId: 'u1', groupId: 'acme', traits: { objectTypeId: '1' }, messageId: 'm5' },
      ],
    }).expect(200, {});
    expect(sandbox.state.find({ id: 'u1' })?.attributes).toEqual({ plan: 'pro' });
    expect(sandbox.state.eventsFor('u1')).toEqual([
      expect.objectContaining({ name: '/pricing', type: 'page' }),
    ]);
    expect(sandbox.state.objects.get('1:acme')?.attributes).toEqual({ name: 'Acme' });
    expect(sandbox.state.relationshipList()).toEqual([
      expect.objectContaining({ object_id: 'acme', person: { id: 'u1' }, attributes: {} }),
    ]);
    expect(sandbox.state.operations.every((op) => op.via === 'pipelines')).toBe(true);
  });

  it('drops a repeated messageId', async () => {
    await post('/v1/track', { userId: 'u1', event: 'x', messageId: 'm1' }).expect(200);
    await post('/v1/track', { userId: 'u1', event: 'x', messageId: 'm1' }).expect(200);
    expect(sandbox.state.events).toHaveLength(1);
    expect(sandbox.state.counters.duplicates).toBe(1);
  });

  it('refuses a whole batch with an invalid item, and an item above 32 KB', async () => {
    const { body } = await post('/v1/batch', {
      batch: [
        { type: 'track', userId: 'u1', event: 'ok' },
        { userId: 'u1', event: 'x' },
      ],
    }).expect(400);
    expect(body.meta.errors).toEqual([expect.stringMatching(/^batch\[1\]: type:/)]);
    expect(sandbox.state.events).toHaveLength(0);
    const big = { type: 'track', userId: 'u1', event: 'big', properties: { text: 'x'.repeat(33_000) } };
    expect((await post('/v1/batch', { batch: [big] }).expect(400)).body.meta.errors[0]).toMatch(
      /more than the limit of 32768/,
    );
  });

  it('maps the semantic events: delete, suppress, devices and object deletion', async () => {
    await post('/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u1' },
        {
          type: 'track',
          userId: 'u1',
          event: 'Device Created or Updated',
          context: { device: { token: 'tok', type: 'android' } },
        },
        { type: 'group', userId: 'u1', groupId: 'acme' },
        {
          type: 'track',
          anonymousId: 'x',
          event: 'Object Deleted',
          properties: { objectId: 'acme', objectTypeId: '1' },
        },
        { type: 'track', userId: 'u1', event: 'User Deleted' },
      ],
    }).expect(200);
    const person = sandbox.state.find({ id: 'u1' })!;
    expect(person.deleted).toBe(true);
    expect(person.devices.map((d) => d.platform)).toEqual(['android']);
    expect(sandbox.state.objects.size).toBe(0);
    const { body } = await post('/v1/track', { userId: 'u1', event: 'Device Deleted' }).expect(400);
    expect(body.meta.errors[0]).toMatch(/context\.device\.token/);
  });
});
