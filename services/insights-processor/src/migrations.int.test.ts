import { createTestSchema, type TestSchema, testLogger } from '@cio-bridge/testkit';
import pg from 'pg';
import { MIGRATIONS_TABLE, MINIMAL_USERS_COMMENT, runMigrations } from './migrations';
import { UsersStore } from './users-store';

let schema: TestSchema;
let db: pg.Client;
const logger = testLogger();

beforeEach(async () => {
  schema = await createTestSchema('insights_migrate');
  db = new pg.Client({ connectionString: schema.databaseUrl });
  await db.connect();
});
afterEach(async () => {
  await db.end();
  await schema.drop();
});

const migrate = (table = 'users', keyColumn = 'id') =>
  runMigrations({ databaseUrl: schema.databaseUrl, table, keyColumn, logger });

async function columns(table: string) {
  const { rows } = await db.query(
    `SELECT column_name AS name, data_type AS type, is_nullable = 'YES' AS nullable, column_default AS "default"
       FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema.schema, table],
  );
  return rows as { name: string; type: string; nullable: boolean; default: string | null }[];
}

const tablesInSchema = async () =>
  (
    await db.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema.schema],
    )
  ).rows.map((row) => row.table_name);

describe('migrations', () => {
  it('creates a minimal users table and the reporting table when there is none, in the search_path schema', async () => {
    expect(await migrate()).toEqual([
      '20250101000001_ai_features_on_users',
      '20250101000002_cio_reporting_events',
      '20250101000003_ai_features_pending',
    ]);
    expect(await tablesInSchema()).toEqual(
      expect.arrayContaining([
        'ai_features_pending',
        'cio_reporting_events',
        MIGRATIONS_TABLE,
        `${MIGRATIONS_TABLE}_lock`,
        'users',
      ]),
    );
    expect(await columns('users')).toEqual([
      { name: 'id', type: 'text', nullable: false, default: null },
      { name: 'ai_features', type: 'jsonb', nullable: false, default: "'{}'::jsonb" },
      { name: 'ai_features_as_of', type: 'jsonb', nullable: false, default: "'{}'::jsonb" },
      { name: 'ai_features_updated_at', type: 'timestamp with time zone', nullable: true, default: null },
      { name: 'created_at', type: 'timestamp with time zone', nullable: false, default: 'now()' },
    ]);
    const store = await UsersStore.open(db, { table: 'users', keyColumn: 'id' });
    expect(store.upsert).toBe(true);
    expect(store.key.kind).toBe('text');
    const { rows } = await db.query(
      `SELECT c.relkind, pg_get_partkeydef(c.oid) AS key FROM pg_class c
        WHERE c.oid = to_regclass('cio_reporting_events')`,
    );
    expect(rows).toEqual([{ relkind: 'p', key: 'RANGE (occurred_at)' }]);
  });

  it('adds the columns to an existing users table, keeps its rows and never creates rows there', async () => {
    await db.query(`CREATE TABLE app_users (user_id bigint PRIMARY KEY, email text NOT NULL)`);
    await db.query(`INSERT INTO app_users VALUES (1, 'a@example.com'), (2, 'b@example.com')`);
    await migrate('app_users', 'user_id');
    expect((await columns('app_users')).map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['user_id', 'bigint', false],
      ['email', 'text', false],
      ['ai_features', 'jsonb', false],
      ['ai_features_as_of', 'jsonb', false],
      ['ai_features_updated_at', 'timestamp with time zone', true],
    ]);
    const { rows } = await db.query('SELECT user_id, email, ai_features FROM app_users ORDER BY user_id');
    expect(rows).toEqual([
      { user_id: '1', email: 'a@example.com', ai_features: {} },
      { user_id: '2', email: 'b@example.com', ai_features: {} },
    ]);
    const store = await UsersStore.open(db, { table: 'app_users', keyColumn: 'user_id' });
    expect(store.upsert).toBe(false);
    expect(store.key.kind).toBe('bigint');
    expect(await tablesInSchema()).not.toContain('users');
  });

  it('converts an existing nullable json ai_features column to jsonb without losing data', async () => {
    await db.query(`CREATE TABLE users (id bigint PRIMARY KEY, ai_features json)`);
    await db.query(`INSERT INTO users VALUES (1, '{"churn_probability": 0.5}'), (2, NULL), (3, 'null')`);
    await migrate();
    const { rows } = await db.query('SELECT id, ai_features FROM users ORDER BY id');
    expect(rows).toEqual([
      { id: '1', ai_features: { churn_probability: 0.5 } },
      { id: '2', ai_features: {} },
      { id: '3', ai_features: {} },
    ]);
    expect((await columns('users')).find((c) => c.name === 'ai_features')).toEqual({
      name: 'ai_features',
      type: 'jsonb',
      nullable: false,
      default: "'{}'::jsonb",
    });
  });

  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    await migrate();
    await db.query(`INSERT INTO users (id, ai_features) VALUES ('u1', '{"a": 1}')`);
    const before = await columns('users');
    expect(await migrate()).toEqual([]);
    expect(await columns('users')).toEqual(before);
    expect((await db.query('SELECT ai_features FROM users')).rows).toEqual([{ ai_features: { a: 1 } }]);
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${MIGRATIONS_TABLE}`);
    expect(rows).toEqual([{ n: 3 }]);
  });

  it('migrates a second users table when USERS_TABLE changes', async () => {
    await migrate();
    await db.query(`CREATE TABLE members (member_id integer PRIMARY KEY)`);
    expect(await migrate('members', 'member_id')).toEqual(['20250101000001_ai_features_on_members']);
    const store = await UsersStore.open(db, { table: 'members', keyColumn: 'member_id' });
    expect(store.key.kind).toBe('integer');
    expect(await migrate('members', 'member_id')).toEqual([]);
    expect(await migrate()).toEqual([]);
  });

  it('lets instances that start together migrate once', async () => {
    const results = await Promise.all([migrate(), migrate(), migrate()]);
    expect(results.flat().sort()).toEqual([
      '20250101000001_ai_features_on_users',
      '20250101000002_cio_reporting_events',
      '20250101000003_ai_features_pending',
    ]);
  });

  it('names the missing key column', async () => {
    await db.query(`CREATE TABLE users (uid bigint PRIMARY KEY)`);
    await expect(migrate()).rejects.toThrow('USERS_KEY_COLUMN: table users has no column id');
  });

  it('refuses an ai_features column of a type it cannot merge into', async () => {
    await db.query(`CREATE TABLE users (id bigint PRIMARY KEY, ai_features text)`);
    await expect(migrate()).rejects.toThrow('column ai_features of type text; it must be json or jsonb');
  });

  it('marks only the table it created as its own', async () => {
    await migrate();
    const { rows } = await db.query(`SELECT obj_description(to_regclass('users'), 'pg_class') AS comment`);
    expect(rows).toEqual([{ comment: MINIMAL_USERS_COMMENT }]);
  });
});

describe('UsersStore.open', () => {
  it('says to run the migrations when they have not run', async () => {
    await expect(UsersStore.open(db, { table: 'users', keyColumn: 'id' })).rejects.toThrow(
      'table users does not exist: run the migrations (npm run migrate)',
    );
    await db.query(`CREATE TABLE users (id bigint PRIMARY KEY)`);
    await expect(UsersStore.open(db, { table: 'users', keyColumn: 'id' })).rejects.toThrow(
      'table users has no jsonb column ai_features: run the migrations',
    );
  });
});
