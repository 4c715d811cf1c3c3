import {
  LIMITS,
  operationExamples,
  seedExamples,
  sentOperationBytes,
  toV2Operation,
  transactionalExamples,
} from '@cio-bridge/schemas';
import { ValidationError } from '../errors';
import { decodeTrack, decodeTransactional, derivedOperationId } from './operation';

const at = { topic: 'customerio.track', partition: 3, offset: '42', timestamp: '1716402912000', key: null };
const limits = { maxOperationBytes: 32 * 1024 };
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('toV2Operation', () => {
  it('turns a seed event into a v2 person event: data as attributes, Unix seconds, the id', () => {
    const seed = seedExamples().product_scanned!;
    expect(toV2Operation(seed, '01HZX3J8Q4M7R2V5T9W0YBCDEF')).toEqual({
      type: 'person',
      action: 'event',
      id: '01HZX3J8Q4M7R2V5T9W0YBCDEF',
      identifiers: { id: 'user-123' },
      name: 'product_scanned',
      timestamp: Date.parse('2024-05-22T18:35:12Z') / 1000,
      attributes: seed.data,
    });
  });

  it('maps every action to its v2 shape', () => {
    const ops = operationExamples();
    const id = '01HZX3J8Q4M7R2V5T9W0YBCDEF';
    expect(toV2Operation(ops.identify!, id)).toEqual({
      type: 'person',
      action: 'identify',
      id,
      identifiers: { id: 'user-123' },
      timestamp: 1716402912,
      attributes: ops.identify!.attributes,
    });
    expect(toV2Operation(ops.merge!, id)).toEqual({
      type: 'person',
      action: 'merge',
      id,
      primary: { id: 'user-123' },
      secondary: { email: 'jane.old@example.com' },
    });
    expect(toV2Operation(ops.add_device!, id)).toMatchObject({
      action: 'add_device',
      device: ops.add_device!.device,
    });
    expect(toV2Operation(ops.delete_device!, id)).toEqual({
      type: 'person',
      action: 'delete_device',
      id,
      identifiers: { id: 'user-123' },
      device: { token: 'a83b219c-e756-4c5b-a8e3-d1a5c5b2f3c1' },
    });
    for (const action of ['delete', 'suppress', 'unsuppress'] as const) {
      expect(toV2Operation(ops[action]!, id)).toEqual({
        type: 'person',
        action,
        id,
        identifiers: ops[action]!.identifiers,
      });
    }
  });
});

describe('derivedOperationId', () => {
  it('is a ULID of the message time, the same for the same message and different for another', () => {
    const id = derivedOperationId(at);
    expect(id).toMatch(ULID);
    expect(derivedOperationId(at)).toBe(id);
    expect(derivedOperationId({ ...at, offset: '43' })).not.toBe(id);
    // The first 10 characters encode the timestamp, so ids sort by time.
    expect(derivedOperationId({ ...at, timestamp: '1716402913000' }) > id).toBe(true);
  });

  it('keeps the ids of messages already in the topic across versions (Customer.io de-duplicates on them)', () => {
    expect(derivedOperationId(at)).toBe('01HYGSBYR0C6RYD8KFPRN8F6ZG');
    expect(derivedOperationId({ ...at, timestamp: '' })).toBe('0000000000C6RYD8KFPRN8F6ZG');
  });
});

describe('decodeTrack', () => {
  it("checks Customer.io's limit on what its own output sends, not on the largest form of every output", () => {
    const anonymous = (n: number) => ({
      name: 'big',
      anonymous_id: 'a1',
      id: '01HZX3J8Q4M7R2V5T9W0YBCDEF',
      timestamp: 1716402912,
      data: { blob: 'x'.repeat(n) },
    });
    // the smallest whose Pipelines call is over the limit (the Track API's v1 event is smaller)
    let n = LIMITS.operationBytes - 300;
    while (sentOperationBytes(anonymous(n)) <= LIMITS.operationBytes) n++;
    const value = json(anonymous(n));
    const track = decodeTrack(value, at, { maxOperationBytes: LIMITS.operationBytes });
    expect(track.bytes).toBeLessThanOrEqual(LIMITS.operationBytes);
    expect(() =>
      decodeTrack(
        value,
        at,
        { maxOperationBytes: LIMITS.operationBytes },
        { api: 'pipelines', convertDates: false },
      ),
    ).toThrow(/more than Customer.io's limit/);
  });

  it('keeps the operation id, orders by the Kafka key and sizes the body', () => {
    const op = { ...seedExamples().referral_initiated!, id: '01HZX3J8Q4M7R2V5T9W0YBCDEF' };
    const decoded = decodeTrack(json(op), { ...at, key: Buffer.from('user-123') }, limits);
    expect(decoded).toMatchObject({
      person: 'user-123',
      action: 'event',
      event: 'referral_initiated',
      id: '01HZX3J8Q4M7R2V5T9W0YBCDEF',
    });
    expect(JSON.parse(decoded.body.toString())).toMatchObject({ id: op.id, name: 'referral_initiated' });
    expect(decoded.bytes).toBe(decoded.body.length);
  });

  it('derives an id when the operation has none, and the person from the operation without a key', () => {
    const decoded = decodeTrack(json(operationExamples().merge), at, limits);
    expect(decoded.id).toBe(derivedOperationId(at));
    expect(decoded.person).toBe('user-123');
    expect(decoded.event).toBe('');
  });

  it.each([
    [
      'not JSON',
      Buffer.from('{"name": '),
      /^the value is malformed JSON at character 9: unexpected end of input$/,
    ],
    [
      'not JSON, quoting nothing',
      Buffer.from('ada@example.com'),
      /^the value is malformed JSON at character 0: unexpected character$/,
    ],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /^the value is not valid UTF-8 \(at byte 1\)$/],
    ['empty', null, /no value/],
    ['without a name', json({ identifiers: { id: 'u' } }), /\/name/],
    [
      'with two identifiers',
      json({ name: 'x', identifiers: { id: 'u', email: 'u@example.com' } }),
      /identifiers/,
    ],
  ])('rejects a value %s as a validation error', (_case, value, message) => {
    expect(() => decodeTrack(value, at, limits)).toThrow(ValidationError);
    expect(() => decodeTrack(value, at, limits)).toThrow(message);
  });

  it('rejects an operation above the v2 size limit', () => {
    const op = { name: 'big', identifiers: { id: 'u' }, data: { text: 'x'.repeat(2_000) } };
    expect(() => decodeTrack(json(op), at, { maxOperationBytes: 1_000 })).toThrow(
      /more than Customer.io's limit of 1000/,
    );
  });
});

describe('decodeTransactional', () => {
  it('sends the request without cio-bridge’s id and orders by recipient', () => {
    const send = { ...transactionalExamples().password_reset!, id: '01HZX3J8Q4M7R2V5T9W0YBCDEF' };
    const decoded = decodeTransactional(json(send), at);
    const body = JSON.parse(decoded.body.toString());
    expect(body.id).toBeUndefined();
    expect(body.transactional_message_id).toBe(send.transactional_message_id);
    expect(decoded.id).toBe(send.id);
    expect(decoded.action).toBe('send_email');
  });

  it('rejects a send without a recipient', () => {
    expect(() =>
      decodeTransactional(json({ transactional_message_id: 'x', identifiers: { id: 'u' } }), at),
    ).toThrow(/invalid transactional send: .*to/);
  });
});

describe('objects, relationships, anonymous activity and page views (Track)', () => {
  const ops = operationExamples();
  const id = '01HZX3J8Q4M7R2V5T9W0YBCDEF';

  it('maps object operations to v2 object operations, batched like person operations', () => {
    expect(toV2Operation(ops.object_identify!, id)).toEqual({
      type: 'object',
      action: 'identify',
      id,
      identifiers: { object_type_id: '1', object_id: 'acme' },
      attributes: ops.object_identify!.attributes,
      cio_relationships: [{ identifiers: { id: 'user-123' }, relationship_attributes: { role: 'admin' } }],
    });
    expect(toV2Operation(ops.object_delete!, id)).toEqual({
      type: 'object',
      action: 'delete',
      id,
      identifiers: { object_type_id: '1', object_id: 'acme' },
    });
    const decoded = decodeTrack(json(ops.object_add_relationships), at, limits);
    expect(decoded.person).toBe('object:2:household-9');
    expect(JSON.parse(decoded.body.toString())).toMatchObject({
      type: 'object',
      action: 'add_relationships',
    });
  });

  it('sends person relationships and an identify with anonymous_id as the merging attribute', () => {
    expect(toV2Operation(ops.add_relationships!, id)).toEqual({
      type: 'person',
      action: 'add_relationships',
      id,
      identifiers: { id: 'user-123' },
      cio_relationships: ops.add_relationships!.cio_relationships,
    });
    expect(toV2Operation(ops.identify_merging_anonymous!, id)).toMatchObject({
      action: 'identify',
      timestamp: Date.parse('2024-05-22T18:40:00Z') / 1000,
      attributes: { anonymous_id: 'anon-7f3c', email: 'new.member@example.com' },
    });
  });

  it('sends an anonymous event as a v1 anonymous event, and page views with their v2 fields', () => {
    const anonymous = decodeTrack(json(ops.anonymous_event), at, limits);
    expect(anonymous.person).toBe('anonymous:anon-7f3c');
    expect(anonymous.body.toString().startsWith('{"anonymous_id":')).toBe(true);
    expect(JSON.parse(anonymous.body.toString())).toEqual({
      anonymous_id: 'anon-7f3c',
      name: 'product_viewed',
      id: anonymous.id,
      timestamp: 1716402912,
      data: { product_id: 45 },
    });
    expect(JSON.parse(decodeTrack(json(ops.anonymous_page), at, limits).body.toString())).toMatchObject({
      anonymous_id: 'anon-7f3c',
      type: 'page',
      name: '/pricing',
    });
    expect(toV2Operation(ops.page!, id)).toEqual({
      type: 'person',
      action: 'page',
      id,
      identifiers: { id: 'user-123' },
      name: '/rewards',
      timestamp: Date.parse('2024-05-22T18:36:00Z') / 1000,
      attributes: ops.page!.data,
    });
  });

  it('gives an identify without a timestamp its Kafka message time', () => {
    const op = { action: 'identify', identifiers: { id: 'u1' }, attributes: { plan: 'pro' } };
    expect(JSON.parse(decodeTrack(json(op), at, limits).body.toString()).timestamp).toBe(1716402912);
  });

  it('converts ISO 8601 attribute values to Unix seconds only when asked to', () => {
    const op = ops.object_identify!;
    const plain = JSON.parse(decodeTrack(json(op), at, limits).body.toString());
    expect(plain.attributes.founded_at).toBe('2019-03-01T00:00:00Z');
    const converted = JSON.parse(
      decodeTrack(json(op), at, limits, { api: 'track', convertDates: true }).body.toString(),
    );
    expect(converted.attributes.founded_at).toBe(Date.parse('2019-03-01T00:00:00Z') / 1000);
    expect(converted.attributes.name).toBe('Acme Dispensaries');
  });
});
