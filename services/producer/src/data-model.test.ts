import { operationExamples } from '@cio-bridge/schemas';
import request from 'supertest';
import { buildApp, TOKEN } from './testing/app';

const post = (app: ReturnType<typeof buildApp>['app'], body: unknown) =>
  request(app)
    .post('/v1/track')
    .set({ Authorization: `Bearer ${TOKEN}` })
    .send(body as object);

describe('POST /v1/track: objects, relationships, anonymous activity, page views', () => {
  it('keys object operations by object:<type>:<id>, anonymous activity by anonymous:<id>', async () => {
    const { app, publisher } = buildApp();
    const ops = operationExamples();
    await post(app, {
      batch: [
        ops.object_identify,
        ops.anonymous_page,
        ops.identify_merging_anonymous,
        ops.page,
        ops.add_relationships,
      ],
    }).expect(202);
    expect(publisher.messages.map((m) => m.key)).toEqual([
      'object:1:acme',
      'anonymous:anon-7f3c',
      'user-456',
      'user-123',
      'user-123',
    ]);
  });

  it.each([
    [
      'an object without object_type_id',
      { type: 'object', action: 'identify', identifiers: { object_id: 'acme' } },
      '/identifiers/object_type_id',
    ],
    [
      'an anonymous identify',
      { action: 'identify', anonymous_id: 'anon-1', attributes: { plan: 'pro' } },
      '/identifiers',
    ],
    [
      'an event with identifiers and anonymous_id',
      { name: 'x', identifiers: { id: 'u1' }, anonymous_id: 'a' },
      '/identifiers',
    ],
    ['a page view without a name', { action: 'page', anonymous_id: 'a', data: {} }, '/name'],
    [
      'an object action that objects do not have',
      { type: 'object', action: 'merge', identifiers: { object_type_id: '1', object_id: 'a' } },
      '/action',
    ],
  ])('rejects %s with 400 naming the field', async (_name, body, pointer) => {
    const { app, publisher } = buildApp();
    const res = await post(app, body).expect(400);
    expect(res.body.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ index: 0, pointer })]),
    );
    expect(publisher.messages).toHaveLength(0);
  });
});
