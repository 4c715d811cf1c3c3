import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@cio-bridge/logger';
import knex, { type Knex } from 'knex';
import { quoteIdent, quoteTable } from './sql';

/** Marks a users table this service created; on such a table predictions create rows. */
export const MINIMAL_USERS_COMMENT =
  'cio-bridge insights-processor: minimal users table, rows are created from predictions';

/** Our own bookkeeping tables, named so they never collide with the upstream app's. */
export const MIGRATIONS_TABLE = 'cio_insights_migrations';

export interface UsersTableOptions {
  /** `users` or `schema.users` */
  table: string;
  keyColumn: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
  readonly retriable = false;
}

interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

const rows = async <T>(db: Knex, sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<T[]> =>
  ((await db.raw(sql, bindings)) as { rows: T[] }).rows;

/**
 * 1. `ai_features` (jsonb, not null, default '{}'), `ai_features_as_of` (the as_of of each
 * field, same shape) and `ai_features_updated_at` on the users table, or a minimal users
 * table when there is none. An existing `json` column is converted to `jsonb` and its
 * NULLs become '{}'. Adding a column with a constant default does not rewrite the table.
 */
function usersAiFeatures({ table, keyColumn }: UsersTableOptions): Migration {
  const t = quoteTable(table);
  const key = quoteIdent(keyColumn);
  return {
    // The name records the table: pointing USERS_TABLE at another table later migrates that one too.
    name: `20250101000001_ai_features_on_${table}`,
    async up(db) {
      const [found] = await rows<{ oid: string | null }>(db, 'SELECT to_regclass(?)::text AS oid', [t]);
      if (!found?.oid) {
        await db.raw(`CREATE TABLE ${t} (
          ${key} text PRIMARY KEY,
          ai_features jsonb NOT NULL DEFAULT '{}',
          ai_features_as_of jsonb NOT NULL DEFAULT '{}',
          ai_features_updated_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
        await db.raw(`COMMENT ON TABLE ${t} IS '${MINIMAL_USERS_COMMENT}'`);
        return;
      }
      const columns = await rows<{ name: string; type: string; nullable: boolean }>(
        db,
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, NOT attnotnull AS nullable
           FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped`,
        [t],
      );
      const column = (name: string) => columns.find((c) => c.name === name);
      if (!column(keyColumn)) {
        throw new MigrationError(`USERS_KEY_COLUMN: table ${table} has no column ${keyColumn}`);
      }
      for (const name of ['ai_features', 'ai_features_as_of']) {
        const existing = column(name);
        if (!existing) {
          await db.raw(`ALTER TABLE ${t} ADD COLUMN ${name} jsonb NOT NULL DEFAULT '{}'`);
          continue;
        }
        if (existing.type === 'json') {
          await db.raw(`ALTER TABLE ${t} ALTER COLUMN ${name} TYPE jsonb USING ${name}::jsonb`);
        } else if (existing.type !== 'jsonb') {
          throw new MigrationError(
            `table ${table} has a column ${name} of type ${existing.type}; it must be json or jsonb`,
          );
        }
        await db.raw(`UPDATE ${t} SET ${name} = '{}' WHERE ${name} IS NULL OR ${name} = 'null'::jsonb`);
        await db.raw(
          `ALTER TABLE ${t} ALTER COLUMN ${name} SET DEFAULT '{}', ALTER COLUMN ${name} SET NOT NULL`,
        );
      }
      if (!column('ai_features_updated_at')) {
        await db.raw(`ALTER TABLE ${t} ADD COLUMN ai_features_updated_at timestamptz`);
      }
    },
    // Down drops the minimal table if it is ours; on the upstream app's table it drops our
    // bookkeeping columns but keeps ai_features, which the app may have had (and reads) before.
    async down(db) {
      const [found] = await rows<{ comment: string | null }>(
        db,
        `SELECT obj_description(to_regclass(?), 'pg_class') AS comment`,
        [t],
      );
      if (found?.comment === MINIMAL_USERS_COMMENT) await db.raw(`DROP TABLE ${t}`);
      else {
        await db.raw(
          `ALTER TABLE ${t} DROP COLUMN IF EXISTS ai_features_as_of, DROP COLUMN IF EXISTS ai_features_updated_at`,
        );
      }
    },
  };
}

/**
 * 2. Reporting webhook events, partitioned by day of the event's timestamp. A unique
 * constraint on a partitioned table must contain the partition key, so the primary key
 * is (event_id, occurred_at): a redelivered event has the same id and the same
 * timestamp, so it is still stored once. Partitions are created on demand.
 */
const reportingEvents: Migration = {
  name: '20250101000002_cio_reporting_events',
  async up(db) {
    await db.raw(`CREATE TABLE IF NOT EXISTS cio_reporting_events (
      event_id text NOT NULL,
      occurred_at timestamptz NOT NULL,
      object_type text NOT NULL,
      metric text NOT NULL,
      person_id text,
      event jsonb NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (event_id, occurred_at)
    ) PARTITION BY RANGE (occurred_at)`);
    await db.raw(
      'CREATE INDEX IF NOT EXISTS cio_reporting_events_person ON cio_reporting_events (person_id, occurred_at)',
    );
  },
  async down(db) {
    await db.raw('DROP TABLE IF EXISTS cio_reporting_events');
  },
};

/**
 * 3. Predictions for users not (yet) in the users table wait here until the user
 * exists, then are merged like any prediction; rows older than INSIGHTS_PENDING_TTL are
 * deleted. `user_id` is the canonical user id (user-key.ts) as text.
 */
export const PENDING_TABLE = 'ai_features_pending';
const pendingPredictions: Migration = {
  name: '20250101000003_ai_features_pending',
  async up(db) {
    await db.raw(`CREATE TABLE IF NOT EXISTS ${PENDING_TABLE} (
      id bigserial PRIMARY KEY,
      user_id text NOT NULL,
      predictions jsonb NOT NULL,
      as_of jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await db.raw(`CREATE INDEX IF NOT EXISTS ${PENDING_TABLE}_user ON ${PENDING_TABLE} (user_id)`);
    await db.raw(`CREATE INDEX IF NOT EXISTS ${PENDING_TABLE}_created ON ${PENDING_TABLE} (created_at)`);
  },
  async down(db) {
    await db.raw(`DROP TABLE IF EXISTS ${PENDING_TABLE}`);
  },
};

/** The migrations in code, so they run from `dist` without a migrations directory. */
class InsightsMigrationSource implements Knex.MigrationSource<Migration> {
  constructor(private readonly migrations: Migration[]) {}
  getMigrations(): Promise<Migration[]> {
    return Promise.resolve(this.migrations);
  }
  getMigrationName(migration: Migration): string {
    return migration.name;
  }
  getMigration(migration: Migration): Promise<Knex.Migration> {
    return Promise.resolve({ up: migration.up, down: migration.down });
  }
}

export interface MigrateOptions extends UsersTableOptions {
  databaseUrl: string;
  logger: Logger;
  /** how long to wait for another instance that holds the migration lock */
  lockTimeoutMs?: number;
}

/**
 * Runs the pending migrations (none on a second run) in the schema the URL's search_path
 * names first. Several instances may start at once: one migrates, the others wait.
 * Returns the names of the migrations it ran.
 */
export async function runMigrations(options: MigrateOptions): Promise<string[]> {
  const { databaseUrl, logger, lockTimeoutMs = 60_000 } = options;
  const db = knex({
    client: 'pg',
    connection: databaseUrl,
    pool: { min: 0, max: 1 },
    // knex logs to the console by default; ours are JSON lines.
    log: {
      warn: (message: unknown) => logger.warn({ knex: message }, 'knex warning'),
      error: (message: unknown) => logger.error({ knex: message }, 'knex error'),
      deprecate: (method: string, alternative: string) =>
        logger.warn({ method, alternative }, 'knex deprecation'),
      debug: (message: unknown) => logger.debug({ knex: message }, 'knex debug'),
    },
  });
  const config: Knex.MigratorConfig = {
    tableName: MIGRATIONS_TABLE,
    // A migration done for a previous USERS_TABLE is not in the list any more; that is fine.
    disableMigrationsListValidation: true,
    migrationSource: new InsightsMigrationSource([
      usersAiFeatures(options),
      reportingEvents,
      pendingPredictions,
    ]),
  };
  const deadline = Date.now() + lockTimeoutMs;
  try {
    for (;;) {
      try {
        const [, names] = (await db.migrate.latest(config)) as [number, string[]];
        if (names.length > 0) logger.info({ migrations: names }, 'migrations applied');
        else logger.info('database schema is up to date');
        return names;
      } catch (error) {
        // Another instance holds the lock, or created the bookkeeping tables at the same moment.
        const racing =
          /already locked/i.test((error as Error).message) ||
          ['23505', '42P07'].includes((error as { code?: string }).code ?? '');
        if (!racing || Date.now() > deadline) throw error;
        logger.info('another instance is migrating: waiting');
        await sleep(250 + Math.random() * 250);
      }
    }
  } finally {
    await db.destroy();
  }
}
