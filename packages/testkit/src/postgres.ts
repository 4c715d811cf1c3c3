import pg from 'pg';
import { testDatabaseUrl } from './environment';
import { uniqueName } from './topics';

export interface TestSchema {
  schema: string;
  /** the database URL with this schema first on the search_path */
  databaseUrl: string;
  drop(): Promise<void>;
}

/** A Postgres schema of this test's own; `drop` removes it with everything in it. */
export async function createTestSchema(prefix = 'test'): Promise<TestSchema> {
  const baseUrl = await testDatabaseUrl();
  const schema = uniqueName(prefix).replaceAll('-', '_');
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: baseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE SCHEMA "${schema}"`);
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { schema, databaseUrl: url.href, drop: () => run(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`) };
}
