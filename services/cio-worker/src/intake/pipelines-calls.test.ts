import { callMessageId, operationExamples, seedExamples, toPipelinesCalls } from '@cio-bridge/schemas';
import { ValidationError } from '../errors';
import { decodeTrack } from './operation';

const id = '01HZX3J8Q4M7R2V5T9W0YBCDEF';
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const ops = operationExamples();
const at = { topic: 't', partition: 0, offset: '1', timestamp: '1716402912000', key: null };
const pipelines = { api: 'pipelines', convertDates: false } as const;

describe('toPipelinesCalls', () => {
  it('maps identify, event, page and screen to their calls with messageId and an ISO timestamp', () => {
    expect(toPipelinesCalls(ops.identify!, id)).toEqual([
      {
        type: 'identify',
        userId: 'user-123',
        traits: ops.identify!.attributes,
        messageId: id,
        timestamp: '2024-05-22T18:35:12.000Z',
      },
    ]);
    const seed = seedExamples().product_scanned!;
    expect(toPipelinesCalls(seed, id)).toEqual([
      {
        type: 'track',
        userId: 'user-123',
        event: 'product_scanned',
        properties: seed.data,
        messageId: id,
        timestamp: '2024-05-22T18:35:12.000Z',
      },
    ]);
    expect(toPipelinesCalls(ops.page!, id)[0]).toMatchObject({
      type: 'page',
      userId: 'user-123',
      name: '/rewards',
      properties: ops.page!.data,
    });
    expect(toPipelinesCalls(ops.screen!, id)[0]).toMatchObject({ type: 'screen', name: 'RewardsScreen' });
  });

  it('sends anonymous events with anonymousId and merges them on identify', () => {
    expect(toPipelinesCalls(ops.anonymous_event!, id)[0]).toMatchObject({
      type: 'track',
      anonymousId: 'anon-7f3c',
      event: 'product_viewed',
    });
    expect(toPipelinesCalls(ops.identify_merging_anonymous!, id)[0]).toMatchObject({
      type: 'identify',
      userId: 'user-456',
      anonymousId: 'anon-7f3c',
    });
  });

  it('maps objects and relationships to one group call per person-object pair', () => {
    const calls = toPipelinesCalls(ops.object_add_relationships!, id);
    expect(calls).toEqual([
      expect.objectContaining({
        type: 'group',
        userId: 'user-123',
        groupId: 'household-9',
        traits: { objectTypeId: '2' },
        messageId: id,
      }),
      expect.objectContaining({
        type: 'group',
        userId: 'sam@example.com',
        groupId: 'household-9',
        traits: { objectTypeId: '2', relationshipAttributes: { role: 'member' } },
      }),
    ]);
    expect(calls[1]!.messageId).toMatch(ULID);
    expect(calls[1]!.messageId).not.toBe(id);
    expect(callMessageId(id, 1)).toBe(calls[1]!.messageId);
    const identify = toPipelinesCalls(ops.identify_with_relationships!, id);
    expect(identify.map((c) => c.type)).toEqual(['identify', 'group']);
    expect(identify[1]).toMatchObject({
      userId: 'user-123',
      groupId: 'acme',
      traits: { objectTypeId: '1', relationshipAttributes: { role: 'admin' } },
    });
    expect(toPipelinesCalls(ops.object_identify!, id)[0]).toMatchObject({
      type: 'group',
      userId: 'user-123',
      groupId: 'acme',
      traits: { name: 'Acme Dispensaries', objectTypeId: '1', relationshipAttributes: { role: 'admin' } },
    });
  });

  it('maps deletions, suppressions, devices and merge to the documented semantic events and alias', () => {
    const event = (name: string) => toPipelinesCalls(ops[name]!, id)[0];
    expect(event('delete')).toMatchObject({ type: 'track', event: 'User Deleted', userId: 'user-123' });
    expect(event('suppress')).toMatchObject({ event: 'User Suppressed', userId: 'bounced@example.com' });
    expect(event('unsuppress')).toMatchObject({ event: 'User Unsuppressed' });
    expect(event('add_device')).toMatchObject({
      event: 'Device Created or Updated',
      context: { device: { token: ops.add_device!.device!.token, type: ops.add_device!.device!.platform } },
    });
    expect(event('delete_device')).toMatchObject({
      event: 'Device Deleted',
      context: { device: { token: ops.delete_device!.device!.token } },
    });
    expect(event('delete_relationships')).toMatchObject({
      event: 'Relationship Deleted',
      userId: 'user-123',
      properties: { objectId: 'acme', objectTypeId: '1' },
    });
    expect(event('object_delete')).toMatchObject({
      event: 'Object Deleted',
      anonymousId: expect.any(String),
      properties: { objectId: 'acme', objectTypeId: '1' },
    });
    expect(event('merge')).toMatchObject({
      type: 'alias',
      userId: 'user-123',
      previousId: 'jane.old@example.com',
    });
  });

  it('refuses a cio_id identifier, which has no Pipelines form', () => {
    expect(() =>
      decodeTrack(
        Buffer.from(JSON.stringify(ops.event_unknown_name)),
        at,
        { maxOperationBytes: 32768 },
        pipelines,
      ),
    ).toThrow(ValidationError);
  });

  it('joins the calls of one operation into one body of batch items', () => {
    const decoded = decodeTrack(
      Buffer.from(JSON.stringify({ ...ops.identify_with_relationships, id })),
      at,
      { maxOperationBytes: 32768 },
      pipelines,
    );
    const items = JSON.parse(`[${decoded.body.toString()}]`);
    expect(items.map((item: { type: string }) => item.type)).toEqual(['identify', 'group']);
    expect(items[0].timestamp).toBe('2024-05-22T18:35:12.000Z');
  });
});
