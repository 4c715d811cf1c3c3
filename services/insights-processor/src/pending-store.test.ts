import { combine } from './pending-store';

const row = (id: number, userId: string, predictions: Record<string, unknown>, asOf: string) => ({
  id: String(id),
  user_id: userId,
  predictions,
  as_of: Object.fromEntries(Object.keys(predictions).map((field) => [field, asOf])),
});

describe('combine: pending rows into one merge row per user', () => {
  it('keeps the latest as_of of each field, and the older row on a tie', () => {
    const rows = combine([
      row(1, '7', { churn_probability: 0.7, recommended_segment: 'a' }, '2024-05-22T12:00:00.000Z'),
      row(2, '8', { churn_probability: 0.1 }, '2024-05-22T12:00:00.000Z'),
      row(3, '7', { churn_probability: 0.2 }, '2024-05-22T11:00:00.000Z'),
      row(4, '7', { recommended_segment: 'b' }, '2024-05-22T12:00:00.000Z'),
      row(5, '7', { predicted_ltv: 5 }, '2024-05-22T13:00:00.000Z'),
    ]);
    expect(rows.map((r) => ({ k: r.k, f: { ...r.f }, a: { ...r.a } }))).toEqual([
      {
        k: '7',
        f: { churn_probability: 0.7, recommended_segment: 'a', predicted_ltv: 5 },
        a: {
          churn_probability: '2024-05-22T12:00:00.000Z',
          recommended_segment: '2024-05-22T12:00:00.000Z',
          predicted_ltv: '2024-05-22T13:00:00.000Z',
        },
      },
      { k: '8', f: { churn_probability: 0.1 }, a: { churn_probability: '2024-05-22T12:00:00.000Z' } },
    ]);
  });
});
