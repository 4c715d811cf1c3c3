import { createTestSchema, type TestSchema, testLogger } from '@cio-bridge/testkit';
import pg from 'pg';
import { runMigrations } from './migrations';
import { collapse, type Prediction } from './prediction';
import { ReportingStore } from './reporting';
import { UsersStore } from './users-store';

let schema: TestSchema;
let pool: pg.Pool;

beforeEach(async () => {
  schema = await createTestSchema('insights_store');
  pool = new pg.Pool({ connectionString: schema.databaseUrl, max: 4 });
});
afterEach(async () => {
  await pool.end();
  await schema.drop();
});

const at = (iso: string) => Date.parse(iso);
const p = (userId: string, predictions: Record<string, unknown>, asOf: string): Prediction => ({
  userId,
  predictions,
  asOf: at(asOf),
});

async function upstreamUsers(ids: number[]): Promise<UsersStore> {
  await pool.query('CREATE TABLE users (id bigint PRIMARY KEY, email text)');
  await pool.query('INSERT INTO users (id) SELECT unnest($1::bigint[])', [ids]);
  await runMigrations({
    databaseUrl: schema.databaseUrl,
    table: 'users',
    keyColumn: 'id',
    logger: testLogger(),
  });
  return UsersStore.open(pool, { table: 'users', keyColumn: 'id' });
}

async function row(id: number | string) {
  const { rows } = await pool.query(
    'SELECT ai_features, ai_features_as_of, ai_features_updated_at FROM users WHERE id = $1',
    [id],
  );
  return rows[0] as { ai_features: unknown; ai_features_as_of: unknown; ai_features_updated_at: Date | null };
}

describe('merging predictions into ai_features', () => {
  it('merges field by field and never lets an older field overwrite a newer one', async () => {
    const store = await upstreamUsers([1]);
    await store.merge(
      collapse([
        p('1', { churn_probability: 0.78, recommended_segment: 'high_risk' }, '2024-05-22T12:00:00Z'),
      ]),
    );
    // Older churn and segment (arrived late), plus a field not seen before.
    const late = await store.merge(
      collapse([
        p(
          '1',
          { churn_probability: 0.1, recommended_segment: 'old', predicted_ltv: 500.25 },
          '2024-05-22T11:00:00Z',
        ),
      ]),
    );
    expect(late.changed.map((r) => r.userId)).toEqual(['1']);
    // Newer segment only.
    await store.merge(
      collapse([p('1', { recommended_segment: 'concentrate_lover' }, '2024-05-22T13:00:00Z')]),
    );
    expect(await row(1)).toMatchObject({
      ai_features: {
        churn_probability: 0.78,
        recommended_segment: 'concentrate_lover',
        predicted_ltv: 500.25,
      },
      ai_features_as_of: {
        churn_probability: '2024-05-22T12:00:00.000Z',
        recommended_segment: '2024-05-22T13:00:00.000Z',
        predicted_ltv: '2024-05-22T11:00:00.000Z',
      },
    });
  });

  it('changes nothing, not even updated_at, when the same prediction comes twice', async () => {
    const store = await upstreamUsers([1]);
    const prediction = p(
      '1',
      { churn_probability: 0.78, product_affinity_scores: { vapes: 0.6 } },
      '2024-05-22T12:00:00Z',
    );
    const first = await store.merge(collapse([prediction]));
    expect(first.changed).toHaveLength(1);
    const before = await row(1);
    const again = await store.merge(collapse([prediction]));
    expect(again.changed).toEqual([]);
    expect(again.current.map((r) => r.body)).toEqual(first.changed.map((r) => r.body));
    expect(await row(1)).toEqual(before);
  });

  it('applies several predictions for one user in one batch by as_of, not by arrival', async () => {
    const store = await upstreamUsers([1, 2]);
    const result = await store.merge(
      collapse([
        p('1', { churn_probability: 0.9 }, '2024-05-22T12:00:00Z'),
        p('2', { churn_probability: 0.2 }, '2024-05-22T12:00:00Z'),
        p('1', { churn_probability: 0.1, engagement_score: 0.3 }, '2024-05-22T10:00:00Z'),
        p('1', { engagement_score: 0.65 }, '2024-05-22T11:00:00Z'),
      ]),
    );
    expect(result.changed.map((r) => r.userId).sort()).toEqual(['1', '2']);
    expect((await row(1)).ai_features).toEqual({ churn_probability: 0.9, engagement_score: 0.65 });
    expect((await row(2)).ai_features).toEqual({ churn_probability: 0.2 });
  });

  it('replaces a nested field (product_affinity_scores) as a whole', async () => {
    const store = await upstreamUsers([1]);
    await store.merge(
      collapse([p('1', { product_affinity_scores: { vapes: 0.6, flower: 0.4 } }, '2024-05-22T10:00:00Z')]),
    );
    await store.merge(
      collapse([p('1', { product_affinity_scores: { concentrates: 0.85 } }, '2024-05-22T11:00:00Z')]),
    );
    expect((await row(1)).ai_features).toEqual({ product_affinity_scores: { concentrates: 0.85 } });
  });

  it('keeps fields the app wrote itself and lets predictions replace them', async () => {
    const store = await upstreamUsers([1]);
    await pool.query(
      `UPDATE users SET ai_features = '{"manual": true, "churn_probability": 0.5}' WHERE id = 1`,
    );
    await store.merge(collapse([p('1', { churn_probability: 0.7 }, '2024-05-22T10:00:00Z')]));
    expect((await row(1)).ai_features).toEqual({ manual: true, churn_probability: 0.7 });
  });

  it('moves updated_at forward on every change and returns the new state', async () => {
    const store = await upstreamUsers([1]);
    const first = await store.merge(collapse([p('1', { a: 1 }, '2024-05-22T10:00:00Z')]));
    const second = await store.merge(collapse([p('1', { a: 2 }, '2024-05-22T11:00:00Z')]));
    expect(second.changed[0]!.version).toBeGreaterThan(first.changed[0]!.version);
    const body = JSON.parse(second.changed[0]!.body);
    expect(body).toEqual({ user_id: 1, ai_features: { a: 2 }, updated_at: expect.any(String) });
    expect(Date.parse(body.updated_at)).toBe((await row(1)).ai_features_updated_at!.getTime());
  });

  it('skips users that are not in an upstream users table instead of inventing them', async () => {
    const store = await upstreamUsers([1]);
    const result = await store.merge(
      collapse([p('1', { a: 1 }, '2024-05-22T10:00:00Z'), p('404', { a: 1 }, '2024-05-22T10:00:00Z')]),
    );
    expect(result.unknown).toEqual(['404']);
    expect(result.changed.map((r) => r.userId)).toEqual(['1']);
    expect((await pool.query('SELECT id FROM users ORDER BY id')).rows).toEqual([{ id: '1' }]);
  });

  it('creates users in the minimal table it owns, and merges into them afterwards', async () => {
    await runMigrations({
      databaseUrl: schema.databaseUrl,
      table: 'users',
      keyColumn: 'id',
      logger: testLogger(),
    });
    const store = await UsersStore.open(pool, { table: 'users', keyColumn: 'id' });
    const created = await store.merge(
      collapse([p('user-123', { churn_probability: 0.78 }, '2024-05-22T12:00:00Z')]),
    );
    expect(created.changed.map((r) => JSON.parse(r.body).user_id)).toEqual(['user-123']);
    await store.merge(
      collapse([
        p('user-123', { churn_probability: 0.1, engagement_score: 0.65 }, '2024-05-22T11:00:00Z'),
        p('user-9', { churn_probability: 0.2 }, '2024-05-22T11:00:00Z'),
      ]),
    );
    const before = await row('user-123');
    expect(before.ai_features).toEqual({ churn_probability: 0.78, engagement_score: 0.65 });
    const again = await store.merge(
      collapse([p('user-123', { churn_probability: 0.78 }, '2024-05-22T12:00:00Z')]),
    );
    expect(again.changed).toEqual([]);
    expect(await row('user-123')).toEqual(before);
    expect((await pool.query('SELECT id FROM users ORDER BY id')).rows).toEqual([
      { id: 'user-123' },
      { id: 'user-9' },
    ]);
  });

  it('reads one user, or nothing for an unknown one', async () => {
    const store = await upstreamUsers([1, 2]);
    await store.merge(collapse([p('1', { a: 1 }, '2024-05-22T10:00:00Z')]));
    expect(JSON.parse((await store.read('1'))!.body)).toMatchObject({ user_id: 1, ai_features: { a: 1 } });
    expect(await store.read('2')).toEqual({
      userId: '2',
      version: 0,
      body: '{"user_id":2,"ai_features":{},"updated_at":null}',
    });
    expect(await store.read('3')).toBeUndefined();
  });

  it('does not lose a concurrent newer write (two writers on one user)', async () => {
    const store = await upstreamUsers([1]);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.merge(collapse([p('1', { n: i }, `2024-05-22T10:00:${String(i).padStart(2, '0')}Z`)])),
      ),
    );
    expect((await row(1)).ai_features).toEqual({ n: 19 });
  });
});

describe('reporting events', () => {
  beforeEach(async () => {
    await runMigrations({
      databaseUrl: schema.databaseUrl,
      table: 'users',
      keyColumn: 'id',
      logger: testLogger(),
    });
  });

  const event = (id: string, ts: number) => ({
    event_id: id,
    ts,
    object_type: 'email',
    metric: 'bounced',
    person_id: '42',
    event: { event_id: id, object_type: 'email', metric: 'bounced', timestamp: ts, data: {} },
  });
  const day1 = Date.parse('2024-05-22T23:59:59Z') / 1000;
  const day2 = Date.parse('2024-05-23T00:00:00Z') / 1000;

  it('stores events in a partition per UTC day, created on demand', async () => {
    const store = new ReportingStore(pool);
    expect(await store.insert([event('e1', day1), event('e2', day2), event('e3', day2)])).toBe(3);
    const { rows } = await pool.query(
      `SELECT tableoid::regclass::text AS partition, event_id FROM cio_reporting_events ORDER BY event_id`,
    );
    expect(rows).toEqual([
      { partition: 'cio_reporting_events_p20240522', event_id: 'e1' },
      { partition: 'cio_reporting_events_p20240523', event_id: 'e2' },
      { partition: 'cio_reporting_events_p20240523', event_id: 'e3' },
    ]);
  });

  it('stores a redelivered event once, also within one batch and from another instance', async () => {
    const first = new ReportingStore(pool);
    const second = new ReportingStore(pool);
    expect(await first.insert([event('e1', day1), event('e1', day1)])).toBe(1);
    expect(await second.insert([event('e1', day1), event('e2', day1)])).toBe(1);
    const { rows } = await pool.query(
      'SELECT event_id, person_id, event FROM cio_reporting_events ORDER BY 1',
    );
    expect(rows.map((r) => r.event_id)).toEqual(['e1', 'e2']);
    expect(rows[0].event).toMatchObject({ metric: 'bounced', timestamp: day1 });
  });

  it('creates the same partition from concurrent instances without failing', async () => {
    const stores = Array.from({ length: 4 }, () => new ReportingStore(pool));
    const counts = await Promise.all(stores.map((s, i) => s.insert([event(`c${i}`, day1)])));
    expect(counts).toEqual([1, 1, 1, 1]);
  });

  it('re-creates a partition that was dropped after it was first seen', async () => {
    const store = new ReportingStore(pool);
    await store.insert([event('e1', day1)]);
    await pool.query('DROP TABLE cio_reporting_events_p20240522');
    expect(await store.insert([event('e2', day1)])).toBe(1);
  });
});
