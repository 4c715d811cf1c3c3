import type { Logger } from '@cio-bridge/logger';
import pg from 'pg';
import type { UsersTableOptions } from './migrations';
import { ReportingStore } from './reporting';
import { UsersStore } from './users-store';

/** A pool that survives Postgres going away: idle connections that die are only logged. */
export function createPool(databaseUrl: string, max: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    query_timeout: 60_000,
    application_name: 'insights-processor',
  });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection lost'));
  return pool;
}

/** Opens the stores on a migrated database; warns when the users key has no unique index. */
export async function openStores(
  pool: pg.Pool,
  usersTable: UsersTableOptions,
  logger: Logger,
): Promise<{ users: UsersStore; reporting: ReportingStore }> {
  const users = await UsersStore.open(pool, usersTable);
  if (!(await users.keyIsIndexed(usersTable.keyColumn))) {
    logger.warn(usersTable, 'the users key column has no index of its own: every batch scans the table');
  }
  logger.info(
    { ...usersTable, keyType: users.key.sqlType, unknownUsers: users.upsert ? 'created' : 'skipped' },
    'users table inspected',
  );
  return { users, reporting: new ReportingStore(pool) };
}
