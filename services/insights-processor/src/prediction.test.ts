import { collapse, parsePrediction } from './prediction';
import { userKeyFor } from './user-key';

const key = userKeyFor('bigint');
const message = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify(fields));

describe('prediction messages', () => {
  it('parses the design message', () => {
    const parsed = parsePrediction(
      message({
        user_id: 123,
        predictions: { churn_probability: 0.78 },
        as_of: '2024-05-22T18:35:12Z',
        received_at: '2024-05-22T18:35:13Z',
        webhook_id: 'abc',
      }),
      key,
    );
    expect(parsed).toEqual({
      ok: true,
      prediction: {
        userId: '123',
        predictions: { churn_probability: 0.78 },
        asOf: Date.parse('2024-05-22T18:35:12Z'),
      },
    });
  });

  it.each([
    [null, 'value', 'is empty'],
    ['{', 'value', 'is malformed JSON at character 1: unexpected end of input'],
    ['[]', 'value', 'must be a JSON object'],
    [
      '{"user_id":"abc","predictions":{},"as_of":"2024-05-22T18:35:12Z"}',
      'user_id',
      'must be a whole number (bigint)',
    ],
    ['{"user_id":1,"predictions":[1],"as_of":"2024-05-22T18:35:12Z"}', 'predictions', 'must be an object'],
    ['{"user_id":1,"predictions":{},"as_of":"yesterday"}', 'as_of', 'must be an ISO 8601 time'],
    ['{"user_id":1,"predictions":{},"as_of":1716402912}', 'as_of', 'must be an ISO 8601 time'],
  ])('rejects %s naming %s', (value, field, reason) => {
    expect(parsePrediction(value, key)).toEqual({ ok: false, field, reason });
  });
});

describe('collapse', () => {
  const t = (iso: string) => Date.parse(iso);

  it('keeps, per user and field, the value with the latest as_of regardless of order', () => {
    const rows = collapse([
      { userId: '1', predictions: { churn: 0.9, segment: 'new' }, asOf: t('2024-05-22T12:00:00Z') },
      { userId: '1', predictions: { churn: 0.1 }, asOf: t('2024-05-22T10:00:00Z') },
      { userId: '2', predictions: { churn: 0.5 }, asOf: t('2024-05-22T10:00:00Z') },
      { userId: '1', predictions: { ltv: 500 }, asOf: t('2024-05-22T11:00:00Z') },
    ]);
    expect(rows).toEqual([
      {
        k: '1',
        f: { churn: 0.9, segment: 'new', ltv: 500 },
        a: {
          churn: '2024-05-22T12:00:00.000Z',
          segment: '2024-05-22T12:00:00.000Z',
          ltv: '2024-05-22T11:00:00.000Z',
        },
      },
      { k: '2', f: { churn: 0.5 }, a: { churn: '2024-05-22T10:00:00.000Z' } },
    ]);
  });

  it('keeps the earlier message on equal as_of, and treats __proto__ as a plain field', () => {
    const asOf = t('2024-05-22T12:00:00Z');
    const rows = collapse([
      { userId: '1', predictions: JSON.parse('{"__proto__":{"x":1},"a":"first"}'), asOf },
      { userId: '1', predictions: { a: 'second' }, asOf },
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.f.a).toBe('first');
    expect(Object.keys(rows[0]!.f)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(rows[0]!.f)).toBe('{"__proto__":{"x":1},"a":"first"}');
  });

  it('leaves out users whose predictions are empty', () => {
    expect(collapse([{ userId: '1', predictions: {}, asOf: 0 }])).toEqual([]);
  });
});
