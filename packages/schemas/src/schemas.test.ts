import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createAjv,
  EncodeError,
  eventName,
  type FieldError,
  type InvalidFixture,
  identifierOf,
  invalidPredictionFixtures,
  invalidReportingFixtures,
  invalidTrackFixtures,
  invalidTransactionalFixtures,
  jsonWithId,
  LIMITS,
  OBJECT_ACTIONS,
  operationAction,
  operationExamples,
  personKey,
  reportingExamples,
  SCHEMA_ID_BASE,
  SEED_EVENT_NAMES,
  schemaDir,
  seedExamples,
  seedPredictionExamples,
  sentOperationBytes,
  TRACK_ACTIONS,
  type TrackOperation,
  toPipelinesCalls,
  toV2Operation,
  transactionalExamples,
  type Validation,
  validatePredictionWebhook,
  validateReportingWebhook,
  validateTrackOperation,
  validateTrackOperationJson,
  validateTrackOperationSchema,
  validateTransactionalSend,
} from './index';

function errorsOf<T>(result: Validation<T>): FieldError[] {
  if (result.ok) throw new Error('expected the value to be rejected');
  return result.errors;
}

function expectFixtureRejected<T>(
  validate: (value: unknown) => Validation<T>,
  fixture: InvalidFixture,
): void {
  const errors = errorsOf(validate(fixture.value));
  const pointers = errors.map((e) => e.pointer);
  for (const expected of fixture.errors) expect(pointers).toContain(expected.pointer);
  for (const error of errors) expect(error.message.length).toBeGreaterThan(0);
}

describe('seed events', () => {
  const examples = seedExamples();

  it('has a fixture for every seed event name and nothing else', () => {
    expect(Object.keys(examples).sort()).toEqual([...SEED_EVENT_NAMES].sort());
  });

  it.each([...SEED_EVENT_NAMES])('%s validates as given in the seed', (name) => {
    const example = examples[name];
    expect(example?.name).toBe(name);
    const result = validateTrackOperation(example);
    expect(result).toEqual({ ok: true, value: example });
  });

  it('gives a fresh copy on every call', () => {
    const first = seedExamples();
    (first.product_scanned as TrackOperation).name = 'changed';
    expect(seedExamples().product_scanned?.name).toBe('product_scanned');
  });

  it('checks a named seed event against its own schema, an unknown name against the generic one', () => {
    const scan = examples.product_scanned as TrackOperation;
    const renamed = { ...scan, name: 'wishlist_added', data: { anything: true } };
    expect(errorsOf(validateTrackOperation(renamed)).map((e) => e.pointer)).toEqual(
      expect.arrayContaining(['/data/product_snapshot', '/data/user_snapshot']),
    );
    expect(validateTrackOperation({ ...renamed, name: 'something_else' }).ok).toBe(true);
  });

  it('accepts extra fields inside seed event data so the upstream app can add to a snapshot', () => {
    const scan = structuredClone(examples.product_scanned) as TrackOperation & {
      data: Record<string, unknown>;
    };
    scan.data.scan_location = 'store-7';
    expect(validateTrackOperation(scan).ok).toBe(true);
  });
});

describe('every action', () => {
  it.each(Object.entries(operationExamples()))('%s validates', (_name, op) => {
    expect(validateTrackOperation(op)).toEqual({ ok: true, value: op });
  });

  it('covers every action with a valid example', () => {
    const actions = new Set(
      Object.values(operationExamples()).map((op) => `${op.type ?? 'person'} ${operationAction(op)}`),
    );
    expect([...actions].sort()).toEqual(
      [
        ...TRACK_ACTIONS.map((action) => `person ${action}`),
        ...OBJECT_ACTIONS.map((action) => `object ${action}`),
      ].sort(),
    );
  });
});

describe('objects, relationships and anonymous activity', () => {
  const ops = operationExamples();

  it('keys an object operation by object:<object_type_id>:<object_id>', () => {
    expect(personKey(ops.object_identify as TrackOperation)).toBe('object:1:acme');
    expect(personKey(ops.object_add_relationships as TrackOperation)).toBe('object:2:household-9');
  });

  it('keys an anonymous event by its anonymous_id, and a merging identify by the person', () => {
    expect(personKey(ops.anonymous_event as TrackOperation)).toBe('anonymous:anon-7f3c');
    expect(personKey(ops.identify_merging_anonymous as TrackOperation)).toBe('user-456');
  });

  it('names the field of an object without object_type_id and of an anonymous identify', () => {
    expect(
      errorsOf(
        validateTrackOperation({ type: 'object', action: 'identify', identifiers: { object_id: 'acme' } }),
      ),
    ).toEqual([{ pointer: '/identifiers/object_type_id', message: 'is required' }]);
    expect(
      errorsOf(validateTrackOperation({ action: 'identify', anonymous_id: 'anon-1', attributes: {} })),
    ).toEqual([{ pointer: '/identifiers', message: 'is required' }]);
    expect(
      errorsOf(validateTrackOperation({ name: 'x', identifiers: { id: 'u1' }, anonymous_id: 'anon-1' })),
    ).toEqual([
      {
        pointer: '/identifiers',
        message: 'must not be given with anonymous_id (give one person identifier or an anonymous_id)',
      },
    ]);
    expect(
      errorsOf(
        validateTrackOperation({
          type: 'object',
          action: 'delete',
          identifiers: { object_type_id: 'companies', object_id: 'acme' },
        }),
      ),
    ).toEqual([
      {
        pointer: '/identifiers/object_type_id',
        message: 'must be an object type id: a stringified integer from "1"',
      },
    ]);
  });

  it('rejects an object operation without an action, naming the object actions', () => {
    expect(
      errorsOf(
        validateTrackOperation({ type: 'object', identifiers: { object_type_id: '1', object_id: 'a' } }),
      ),
    ).toEqual([
      {
        pointer: '/action',
        message:
          'is required for an object operation (one of: identify, delete, add_relationships, delete_relationships)',
      },
    ]);
  });
});

describe('invalid track operations', () => {
  it.each(Object.entries(invalidTrackFixtures()))('%s is rejected naming the field', (_name, fixture) => {
    expectFixtureRejected(validateTrackOperation, fixture);
  });

  it('explains a doubled identifier, a missing field and a wrong type in plain words', () => {
    const errors = errorsOf(
      validateTrackOperation({
        name: 'product_scanned',
        identifiers: { id: 'user-123', email: 'jane@example.com' },
        data: { product_snapshot: { identity: { product_id: '45' } } },
        timestamp: '2024-05-22T18:35:12Z',
      }),
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        { pointer: '/identifiers', message: 'must name exactly one of id, email or cio_id' },
        { pointer: '/data/user_snapshot', message: 'is required' },
        { pointer: '/data/product_snapshot/identity/product_id', message: 'must be an integer' },
      ]),
    );
  });

  it('counts identifier limits in UTF-8 bytes, not characters', () => {
    const at = (id: string) => validateTrackOperation({ action: 'delete', identifiers: { id } });
    expect(at('é'.repeat(75)).ok).toBe(true); // 150 bytes
    expect(errorsOf(at('é'.repeat(76)))).toEqual([
      { pointer: '/identifiers/id', message: 'must be at most 150 bytes (is 152)' },
    ]);
  });

  it('allows exactly the documented limits and not one byte more', () => {
    const attrs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, i]));
    const identify = (attributes: Record<string, unknown>) =>
      validateTrackOperation({ action: 'identify', identifiers: { id: 'u' }, attributes });
    expect(identify(attrs(LIMITS.attributes)).ok).toBe(true);
    expect(identify(attrs(LIMITS.attributes + 1)).ok).toBe(false);
    expect(identify({ bio: 'b'.repeat(LIMITS.attributeValueBytes) }).ok).toBe(true);
    expect(identify({ bio: 'b'.repeat(LIMITS.attributeValueBytes + 1) }).ok).toBe(false);
    expect(identify({ ['n'.repeat(LIMITS.attributeNameBytes)]: 1 }).ok).toBe(true);
    expect(errorsOf(identify({ ['n'.repeat(LIMITS.attributeNameBytes + 1)]: 1 }))).toEqual([
      { pointer: `/attributes/${'n'.repeat(151)}`, message: 'name must be at most 150 bytes (is 151)' },
    ]);
    const event = (name: string) => validateTrackOperation({ name, identifiers: { id: 'u' } });
    expect(event('e'.repeat(LIMITS.eventNameBytes)).ok).toBe(true);
    expect(event('e'.repeat(LIMITS.eventNameBytes + 1)).ok).toBe(false);
  });

  it('rejects an operation above 32 KB as sent: the largest of the Track v2 operation and the Pipelines call', () => {
    const base = { name: 'big', identifiers: { id: 'u' }, data: { blob: '' } };
    // Without an id and a timestamp the worker adds a 26-character id and the message's
    // time: the edge counts the longest (10 digits of seconds, 24 characters as ISO 8601).
    const id = '0'.repeat(26);
    const v2 = {
      type: 'person',
      action: 'event',
      id,
      identifiers: { id: 'u' },
      name: 'big',
      timestamp: 9_999_999_999,
      attributes: { blob: '' },
    };
    const pipelines = {
      type: 'track',
      userId: 'u',
      event: 'big',
      properties: { blob: '' },
      messageId: id,
      timestamp: '2286-11-20T17:46:39.000Z',
    };
    const overhead = Math.max(JSON.stringify(v2).length, JSON.stringify(pipelines).length);
    expect(overhead).toBe(JSON.stringify(v2).length);
    const fits = { ...base, data: { blob: 'x'.repeat(LIMITS.operationBytes - overhead) } };
    expect(sentOperationBytes(fits)).toBe(LIMITS.operationBytes);
    expect(validateTrackOperation(fits).ok).toBe(true);
    const over = { ...base, data: { blob: 'x'.repeat(LIMITS.operationBytes - overhead + 1) } };
    expect(errorsOf(validateTrackOperation(over))).toEqual([
      {
        pointer: '',
        message: `is ${LIMITS.operationBytes + 1} bytes as sent to Customer.io (the largest request item the worker sends for it, on the Track or the Pipelines API), more than the limit of ${LIMITS.operationBytes} bytes`,
      },
    ]);
    // With its own id and timestamp, the operation is sized exactly as sent.
    const timed = { ...fits, id: '01HZY3J8W6Q2V7K9R4T5X1N0PA', timestamp: 1716402912 };
    expect(sentOperationBytes(timed)).toBe(LIMITS.operationBytes);
    // For an anonymous event the Pipelines call is the larger (the v1 event is compact).
    const anonymous = { name: 'big', anonymous_id: 'a1', data: { blob: 'x'.repeat(30_000) } };
    const v1 = { anonymous_id: 'a1', name: 'big', id, timestamp: 9_999_999_999, data: anonymous.data };
    const call = { ...pipelines, anonymousId: 'a1', userId: undefined, properties: anonymous.data };
    expect(JSON.stringify(call).length).toBeGreaterThan(JSON.stringify(v1).length);
    expect(sentOperationBytes(anonymous)).toBe(JSON.stringify(call).length);
    // The received form alone above the limit still fails the schema's own check.
    const huge = { ...base, data: { blob: 'x'.repeat(LIMITS.operationBytes) } };
    expect(errorsOf(validateTrackOperation(huge))[0]?.message).toMatch(
      /^must be at most 32768 bytes as JSON/,
    );
  });

  it('sizes an operation that one output cannot encode on the others, without throwing', () => {
    // A cio_id has no Pipelines form, and a time past the year 275760 no ISO 8601 form.
    const cioId = { name: 'e', identifiers: { cio_id: 'a3000001' }, data: { blob: 'x' } };
    const farFuture = { name: 'e', identifiers: { id: 'u' }, timestamp: 10 ** 15 };
    expect(sentOperationBytes(cioId)).toBe(
      JSON.stringify(toV2Operation(cioId, '0'.repeat(26), { fallbackTimestamp: 9_999_999_999 })).length,
    );
    expect(() => toPipelinesCalls(farFuture, '0'.repeat(26))).toThrow(EncodeError);
    expect(validateTrackOperation(farFuture).ok).toBe(true);
  });

  it('names the unknown action and lists the valid ones', () => {
    expect(errorsOf(validateTrackOperation({ action: 'upsert', identifiers: { id: 'u' } }))).toEqual([
      {
        pointer: '/action',
        message:
          'must be one of: identify, event, page, screen, delete, suppress, unsuppress, add_device, delete_device, merge, add_relationships, delete_relationships',
      },
    ]);
  });

  it.each([null, 'text', 42, []])('rejects %p as not an object', (value) => {
    expect(errorsOf(validateTrackOperation(value))).toEqual([
      { pointer: '', message: 'must be an object (a Track operation)' },
    ]);
  });
});

describe('validateTrackOperationJson', () => {
  it('gives the JSON text of a valid operation, and jsonWithId the text of the operation plus its id', () => {
    for (const op of [...Object.values(seedExamples()), ...Object.values(operationExamples())]) {
      const result = validateTrackOperationJson(op);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      expect(result.json).toBe(JSON.stringify(op));
      const { id: _id, ...withoutId } = op;
      const json = JSON.stringify(withoutId);
      expect(jsonWithId(json, '01HZX3J8Q4M7R2V5T9W0YBCDEF')).toBe(
        JSON.stringify({ ...withoutId, id: '01HZX3J8Q4M7R2V5T9W0YBCDEF' }),
      );
    }
    expect(jsonWithId('{}', 'X')).toBe('{"id":"X"}');
    expect(() => jsonWithId('[]', 'X')).toThrow(TypeError);
  });

  it('reports the same errors as validateTrackOperation', () => {
    for (const fixture of Object.values(invalidTrackFixtures())) {
      const result = validateTrackOperationJson(fixture.value);
      expect(result).toEqual(validateTrackOperation(fixture.value));
    }
  });

  it('without the sent size (validateTrackOperationSchema) refuses what the schemas refuse, and leaves the 32 KB as sent to the worker', () => {
    for (const fixture of Object.values(invalidTrackFixtures())) {
      const full = validateTrackOperationJson(fixture.value);
      const schema = validateTrackOperationSchema(fixture.value);
      if (!full.ok && full.errors[0]?.message.includes('as sent to Customer.io')) continue;
      expect(schema).toEqual(full);
    }
    // Just under 32 KB as received, over it as sent: only the full check refuses it.
    const op = {
      name: 'big',
      identifiers: { id: 'u' },
      data: { blob: 'x'.repeat(LIMITS.operationBytes - 60) },
    };
    expect(validateTrackOperationJson(op).ok).toBe(false);
    const schema = validateTrackOperationSchema(op);
    expect(schema.ok && schema.json).toBe(JSON.stringify(op));
  });

  it('rejects a value that cannot be JSON instead of throwing', () => {
    const cyclic: Record<string, unknown> = { name: 'x', identifiers: { id: 'u' } };
    cyclic.data = { self: cyclic };
    const result = validateTrackOperationJson(cyclic);
    expect(result.ok).toBe(false);
    expect(errorsOf(result)[0]?.pointer).toBe('');
    expect(
      errorsOf(validateTrackOperation({ name: 'x', identifiers: { id: 'u' }, data: { n: 1n } }))[0]?.message,
    ).toMatch(/^must be JSON/);
  });

  it('checks every byte limit also when parts are near their limits but the whole is small', () => {
    // attribute value 1,001 bytes inside an operation that is otherwise tiny
    const op = { action: 'identify', identifiers: { id: 'u' }, attributes: { a: 'é'.repeat(501) } };
    expect(errorsOf(validateTrackOperation(op))).toEqual([
      { pointer: '/attributes/a', message: 'must be at most 1000 bytes (is 1002)' },
    ]);
  });
});

describe('operation helpers', () => {
  it('reads action, key and event name', () => {
    const scan = seedExamples().product_scanned as TrackOperation;
    expect(operationAction(scan)).toBe('event');
    expect(personKey(scan)).toBe('user-123');
    expect(eventName(scan)).toBe('product_scanned');
    const ops = operationExamples();
    expect(personKey(ops.merge as TrackOperation)).toBe('user-123');
    expect(eventName(ops.identify as TrackOperation)).toBeUndefined();
    expect(operationAction(ops.identify as TrackOperation)).toBe('identify');
    expect(personKey(ops.suppress as TrackOperation)).toBe('bounced@example.com');
    expect(personKey(ops.event_unknown_name as TrackOperation)).toBe('a3000001');
    expect(identifierOf({ cio_id: 'a3000001' })).toEqual({ kind: 'cio_id', value: 'a3000001' });
  });

  it('refuses to key an operation without an identifier', () => {
    expect(() => personKey({ action: 'delete' })).toThrow(/no person identifier/);
  });
});

describe('transactional sends', () => {
  it.each(Object.entries(transactionalExamples()))('%s validates', (_name, send) => {
    expect(validateTransactionalSend(send).ok).toBe(true);
  });
  it.each(Object.entries(invalidTransactionalFixtures()))(
    '%s is rejected naming the field',
    (_name, fixture) => {
      expectFixtureRejected(validateTransactionalSend, fixture);
    },
  );
});

describe('prediction webhooks', () => {
  it('has the three seed predictions', () => {
    const examples = seedPredictionExamples();
    expect(Object.keys(examples).sort()).toEqual(['churn_risk', 'product_affinity', 'purchase_intent']);
    expect(examples.churn_risk?.predictions.churn_probability).toBe(0.78);
    expect(examples.product_affinity?.predictions.product_affinity_scores).toEqual({
      concentrates: 0.85,
      vapes: 0.62,
      flower: 0.41,
    });
    expect(examples.purchase_intent?.predictions.predicted_purchase_value).toBe(85.5);
  });
  it.each(Object.entries(seedPredictionExamples()))('%s validates', (_name, body) => {
    expect(validatePredictionWebhook(body)).toEqual({ ok: true, value: body });
  });
  it('accepts any combination of the three kinds and unknown prediction fields', () => {
    const body = {
      user_id: 7,
      predictions: {
        churn_probability: 0.1,
        purchase_probability: 0.9,
        product_affinity_scores: { vapes: 1 },
        novel: 'x',
      },
    };
    expect(validatePredictionWebhook(body).ok).toBe(true);
  });
  it.each(Object.entries(invalidPredictionFixtures()))(
    '%s is rejected naming the field',
    (_name, fixture) => {
      expectFixtureRejected(validatePredictionWebhook, fixture);
    },
  );
});

describe('reporting webhooks', () => {
  it.each(Object.entries(reportingExamples()))('%s validates', (_name, body) => {
    expect(validateReportingWebhook(body).ok).toBe(true);
  });
  it.each(Object.entries(invalidReportingFixtures()))('%s is rejected naming the field', (_name, fixture) => {
    expectFixtureRejected(validateReportingWebhook, fixture);
  });
});

describe('the shipped schema files', () => {
  // What an app in another language does: load the files and validate with a
  // standard draft 2020-12 validator against track-operation.schema.json.
  const ajv = createAjv();
  const combined = ajv.getSchema(`${SCHEMA_ID_BASE}track-operation.schema.json`);
  if (!combined) throw new Error('track-operation.schema.json not loaded');

  it('lives in schemaDir', () => {
    expect(readFileSync(join(schemaDir, 'track-operation.schema.json'), 'utf8')).toContain('2020-12');
  });

  it('accepts through the combined schema what validateTrackOperation accepts', () => {
    for (const op of [...Object.values(seedExamples()), ...Object.values(operationExamples())]) {
      expect({ op, valid: combined(op) }).toEqual({ op, valid: true });
    }
  });

  it('rejects through the combined schema what validateTrackOperation rejects', () => {
    for (const [name, fixture] of Object.entries(invalidTrackFixtures())) {
      expect({ name, valid: combined(fixture.value) }).toEqual({ name, valid: false });
    }
  });
});
