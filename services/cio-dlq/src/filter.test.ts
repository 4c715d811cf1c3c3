import { readEntry } from './dlq-entry';
import { UsageError } from './errors';
import { describeFilter, matches, parseFilter } from './filter';
import type { RawMessage } from './kafka/topic-reader';

const NOW = Date.parse('2024-05-22T12:00:00Z');

const entry = (value: unknown, headers: Record<string, string>, time: number, key = 'user-1') =>
  readEntry({
    topic: 'dlq',
    partition: 0,
    offset: '1',
    timestamp: String(time),
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(value)),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
  } satisfies RawMessage);

const identify400 = entry(
  { action: 'identify', identifiers: { email: 'Jane@Example.com' } },
  { 'x-dlq-error-class': 'http_4xx', 'x-dlq-http-status': '400' },
  NOW - 3 * 3_600_000,
  'Jane@Example.com',
);
const scanned503 = entry(
  { name: 'product_scanned', identifiers: { id: 'user-123' } },
  { 'x-dlq-error-class': 'http_5xx', 'x-dlq-http-status': '503' },
  NOW - 10 * 60_000,
  'user-123',
);
const timeout = entry(
  { name: 'reward_redeemed', identifiers: { id: 'user-9' } },
  { 'x-dlq-error-class': 'timeout' },
  NOW - 60_000,
  'user-9',
);
const all = [identify400, scanned503, timeout];

const pick = (options: Parameters<typeof parseFilter>[0]) => {
  const filter = parseFilter(options, NOW);
  return all.filter((e) => matches(filter, e));
};

describe('filters', () => {
  it('passes everything without options', () => {
    expect(pick({})).toEqual(all);
  });

  it('filters by action, event, error class and status', () => {
    expect(pick({ action: 'identify' })).toEqual([identify400]);
    expect(pick({ action: 'event,delete' })).toEqual([scanned503, timeout]);
    expect(pick({ event: 'reward_redeemed' })).toEqual([timeout]);
    expect(pick({ event: 'product_scanned, reward_redeemed' })).toEqual([scanned503, timeout]);
    expect(pick({ errorClass: 'http_5xx,timeout' })).toEqual([scanned503, timeout]);
    expect(pick({ status: '400' })).toEqual([identify400]);
    expect(pick({ status: '5xx' })).toEqual([scanned503]);
    expect(pick({ status: 'none' })).toEqual([timeout]);
    expect(pick({ status: '4XX,503' })).toEqual([identify400, scanned503]);
  });

  it('finds a person by key or identifier, emails in any case', () => {
    expect(pick({ customer: 'jane@example.com' })).toEqual([identify400]);
    expect(pick({ customer: 'user-123' })).toEqual([scanned503]);
    expect(pick({ customer: 'user-12' })).toEqual([]);
  });

  it('filters by dead-letter time, absolute or relative', () => {
    expect(pick({ since: '1h' })).toEqual([scanned503, timeout]);
    expect(pick({ until: '5m' })).toEqual([identify400, scanned503]);
    expect(pick({ since: '2024-05-22T11:00:00Z', until: '2024-05-22T11:55:00Z' })).toEqual([scanned503]);
    expect(pick({ since: '2024-05-22' })).toEqual(all);
  });

  it('keeps the limit for the caller', () => {
    expect(parseFilter({ limit: '25' }, NOW).limit).toBe(25);
  });

  it.each([
    [
      { action: 'fly' },
      '--action must be one of identify, event, page, screen, delete, suppress, unsuppress, add_device, delete_device, merge, add_relationships, delete_relationships, send_email, unknown; got "fly"',
    ],
    [{ action: ' , ' }, '--action needs a value'],
    [
      { errorClass: 'http_4XX' },
      '--error-class must be one of http_4xx, http_5xx, rate_limited, timeout, network, validation, ambiguous, unknown; got "http_4XX"',
    ],
    [{ status: '600' }, '--status must be an HTTP status (429), a class (5xx) or none; got "600"'],
    [{ status: 'bad' }, '--status must be an HTTP status (429), a class (5xx) or none; got "bad"'],
    [{ customer: '  ' }, '--customer needs an identifier or email'],
    [{ event: ',' }, '--event needs an event name'],
    [
      { since: 'yesterday' },
      '--since must be an ISO 8601 time (2024-05-22T18:35:12Z) or a duration ago (30m, 2h, 7d); got "yesterday"',
    ],
    [
      { until: '2024-13-45' },
      '--until must be an ISO 8601 time (2024-05-22T18:35:12Z) or a duration ago (30m, 2h, 7d); got "2024-13-45"',
    ],
    [{ since: '1h', until: '2h' }, '--since must be before --until'],
    [{ limit: '0' }, `--limit must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}; got "0"`],
    [{ limit: '10x' }, `--limit must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}; got "10x"`],
  ])('rejects %j with one line naming the option', (options, message) => {
    let error: unknown;
    try {
      parseFilter(options, NOW);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(message);
  });

  it('describes itself for the audit record', () => {
    expect(
      describeFilter(parseFilter({ action: 'identify', since: '2024-05-22T10:00:00Z', limit: '5' }, NOW)),
    ).toEqual({
      action: ['identify'],
      since: '2024-05-22T10:00:00.000Z',
      limit: 5,
    });
  });
});

describe('objects and anonymous activity', () => {
  const object = entry(
    { type: 'object', action: 'identify', identifiers: { object_type_id: '1', object_id: 'acme' } },
    { 'x-dlq-error-class': 'http_4xx', 'x-dlq-http-status': '400' },
    NOW - 60_000,
    'object:1:acme',
  );
  const anonymous = entry(
    { action: 'page', anonymous_id: 'anon-7', name: '/pricing' },
    { 'x-dlq-error-class': 'timeout' },
    NOW - 60_000,
    'anonymous:anon-7',
  );
  const people = [identify400, scanned503];
  const some = [...people, object, anonymous];
  const pickFrom = (options: Parameters<typeof parseFilter>[0]) => {
    const filter = parseFilter(options, NOW);
    return some.filter((e) => matches(filter, e));
  };

  it('filters by entity: person, object or anonymous', () => {
    expect(pickFrom({ entity: 'object' })).toEqual([object]);
    expect(pickFrom({ entity: 'anonymous' })).toEqual([anonymous]);
    expect(pickFrom({ entity: 'person' })).toEqual(people);
    expect(pickFrom({ entity: 'object,anonymous' })).toEqual([object, anonymous]);
    expect(() => parseFilter({ entity: 'company' }, NOW)).toThrow(
      /--entity must be one of person, object, anonymous/,
    );
  });

  it('finds an object by its key and an anonymous visitor by the anonymous_id, and knows the new actions', () => {
    expect(pickFrom({ customer: 'object:1:acme' })).toEqual([object]);
    expect(pickFrom({ customer: 'anon-7' })).toEqual([anonymous]);
    expect(pickFrom({ action: 'page' })).toEqual([anonymous]);
    expect(object.operation.action).toBe('identify');
  });
});
