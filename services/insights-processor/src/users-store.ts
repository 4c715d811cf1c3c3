import type { Pool, PoolClient } from 'pg';
import { MINIMAL_USERS_COMMENT, type UsersTableOptions } from './migrations';
import type { MergeRow } from './prediction';
import { quoteIdent, quoteTable } from './sql';
import { type UserKey, userIdJson, userKeyFor } from './user-key';

/** The users table is not ready for us: missing, or the migrations have not run. */
export class UsersTableError extends Error {
  override name = 'UsersTableError';
  readonly retriable = false;
}

/** One user's features as the read API serves them. */
export interface FeaturesRecord {
  userId: string;
  /** `{"user_id":..,"ai_features":{..},"updated_at":..}`, ready to send */
  body: string;
  /** ai_features_updated_at in epoch microseconds (0 before the first prediction): newer wins in the cache */
  version: number;
}

export interface MergeResult {
  /** users whose ai_features changed, with their new state */
  changed: FeaturesRecord[];
  /** users the batch did not change (nothing newer), with their current state */
  current: FeaturesRecord[];
  /** user ids that are not in the table (only when the table belongs to the upstream app) */
  unknown: string[];
}

type Queryable = Pick<Pool | PoolClient, 'query'>;

// A column that somebody else set to a non-object (e.g. an array) merges as if empty.
const asObject = (column: string) =>
  `(CASE WHEN jsonb_typeof(${column}) = 'object' THEN ${column} ELSE '{}' END)`;
// The `newer` test for one incoming field `e` (key, as_of text): no as_of stored for it
// yet, or a later one. as_of values are always written as JavaScript's toISOString()
// (fixed width, UTC), so byte order ("C" collation) is time order; no casts needed.
const NEWER = `(u.ai_features_as_of ->> e.key) IS NULL OR e.value > (u.ai_features_as_of ->> e.key) COLLATE "C"`;
/**
 * The new (ai_features, ai_features_as_of, ai_features_updated_at) of row `u`, from the
 * incoming values `f` and as_of `a`: one pass over the fields, keeping the newer ones.
 */
const mergedColumns = (f: string, a: string) => `(ai_features, ai_features_as_of, ai_features_updated_at) = (
  SELECT ${asObject('u.ai_features')} || coalesce(n.f, '{}'), ${asObject('u.ai_features_as_of')} || coalesce(n.a, '{}'),
         greatest(clock_timestamp(), u.ai_features_updated_at + interval '1 microsecond')
    FROM (SELECT jsonb_object_agg(e.key, ${f} -> e.key) AS f, jsonb_object_agg(e.key, e.value) AS a
            FROM jsonb_each_text(${a}) e WHERE ${NEWER}) n)`;
const anyNewer = (a: string) => `EXISTS (SELECT 1 FROM jsonb_each_text(${a}) e WHERE ${NEWER})`;
const isoMicros = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const micros = (column: string) => `coalesce((extract(epoch FROM ${column}) * 1000000)::bigint, 0)::text`;

/**
 * Reads and merges `ai_features`. Construct with `UsersStore.open`, which inspects the
 * table once: the key's type, and whether the table is ours (predictions for unknown
 * users create rows) or the upstream app's (they are skipped: we never invent users).
 */
export class UsersStore {
  private readonly mergeSql: string;
  private readonly readSql: string;

  private constructor(
    private readonly db: Queryable,
    readonly table: string,
    readonly key: UserKey,
    /** true on the minimal table this service created */
    readonly upsert: boolean,
    readonly keyColumn: string,
  ) {
    const t = quoteTable(table);
    const k = quoteIdent(keyColumn);
    const returning = `RETURNING u.${k}::text AS k, u.ai_features::text AS f, ${isoMicros('u.ai_features_updated_at')} AS t, ${micros('u.ai_features_updated_at')} AS v`;
    const input = `i AS (SELECT x.k::${key.sqlType} AS k, x.f, x.a FROM jsonb_to_recordset($1::jsonb) AS x(k text, f jsonb, a jsonb))`;
    // Besides the changed rows, the statement returns the current state of the users it
    // left alone (so a redelivered batch still refreshes the cache) and the unknown ones.
    // Only those not changed are looked up again, so the common case costs nothing more.
    const rest = `SELECT 'changed' AS s, k, f, t, v FROM w
        UNION ALL
        SELECT CASE WHEN u.${k} IS NULL THEN 'unknown' ELSE 'current' END, i.k::text, u.ai_features::text,
               ${isoMicros('u.ai_features_updated_at')}, ${micros('u.ai_features_updated_at')}
          FROM i LEFT JOIN ${t} u ON u.${k} = i.k
         WHERE NOT EXISTS (SELECT 1 FROM w WHERE w.k = i.k::text)`;
    // One statement per batch. Every comparison reads `u`, the row being written, so under
    // READ COMMITTED a concurrent writer's newer value is re-checked, never overwritten.
    this.mergeSql = upsert
      ? `WITH ${input}, w AS (
          INSERT INTO ${t} AS u (${k}, ai_features, ai_features_as_of, ai_features_updated_at)
          SELECT i.k, i.f, i.a, clock_timestamp() FROM i
          ON CONFLICT (${k}) DO UPDATE SET ${mergedColumns('excluded.ai_features', 'excluded.ai_features_as_of')}
          WHERE ${anyNewer('excluded.ai_features_as_of')}
          ${returning})
        ${rest}`
      : `WITH ${input}, w AS (
          UPDATE ${t} AS u SET ${mergedColumns('i.f', 'i.a')}
          FROM i
          WHERE u.${k} = i.k AND ${anyNewer('i.a')}
          ${returning})
        ${rest}`;
    this.readSql = `SELECT u.${k}::text AS k, u.ai_features::text AS f, ${isoMicros('u.ai_features_updated_at')} AS t,
      ${micros('u.ai_features_updated_at')} AS v FROM ${t} u WHERE u.${k} = $1::${key.sqlType}`;
  }

  /** Inspects the table; throws `UsersTableError` naming what is missing. */
  static async open(db: Queryable, { table, keyColumn }: UsersTableOptions): Promise<UsersStore> {
    const t = quoteTable(table);
    const { rows } = await db.query<{ name: string; type: string; comment: string | null }>(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              obj_description(a.attrelid, 'pg_class') AS comment
         FROM pg_attribute a
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
      [t],
    );
    if (rows.length === 0) {
      throw new UsersTableError(`table ${table} does not exist: run the migrations (npm run migrate)`);
    }
    const type = (name: string) => rows.find((row) => row.name === name)?.type;
    const keyType = type(keyColumn);
    if (!keyType) throw new UsersTableError(`USERS_KEY_COLUMN: table ${table} has no column ${keyColumn}`);
    for (const [column, expected] of [
      ['ai_features', 'jsonb'],
      ['ai_features_as_of', 'jsonb'],
      ['ai_features_updated_at', 'timestamp with time zone'],
    ] as const) {
      if (type(column) !== expected) {
        throw new UsersTableError(
          `table ${table} has no ${expected} column ${column}: run the migrations (npm run migrate)`,
        );
      }
    }
    let key: UserKey;
    try {
      key = userKeyFor(keyType);
    } catch (error) {
      throw new UsersTableError(`USERS_KEY_COLUMN: ${(error as Error).message}`);
    }
    const upsert = rows[0]?.comment === MINIMAL_USERS_COMMENT;
    return new UsersStore(db, table, key, upsert, keyColumn);
  }

  /** Whether the key column has a unique index (without one, each batch scans the table). */
  async keyIsIndexed(keyColumn: string): Promise<boolean> {
    const { rows } = await this.db.query(
      `SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = to_regclass($1) AND i.indnatts = 1 AND a.attname = $2`,
      [quoteTable(this.table), keyColumn],
    );
    return rows.length > 0;
  }

  /** Applies a batch in one statement (on `db`, e.g. a client inside a transaction). */
  async merge(rows: MergeRow[], db: Queryable = this.db): Promise<MergeResult> {
    if (rows.length === 0) return { changed: [], current: [], unknown: [] };
    const result = await db.query<{ s: string; k: string; f: string; t: string; v: string }>(this.mergeSql, [
      JSON.stringify(rows),
    ]);
    const merged: MergeResult = { changed: [], current: [], unknown: [] };
    for (const row of result.rows) {
      if (row.s === 'unknown') merged.unknown.push(row.k);
      else if (row.s === 'current') merged.current.push(this.record(row));
      else merged.changed.push(this.record(row));
    }
    return merged;
  }

  /** One user's features, or undefined when the user is not in the table. */
  async read(userId: string): Promise<FeaturesRecord | undefined> {
    const { rows } = await this.db.query<{ k: string; f: string; t: string | null; v: string }>(
      this.readSql,
      [userId],
    );
    return rows[0] && this.record(rows[0]);
  }

  private record(row: { k: string; f: string; t: string | null; v: string }): FeaturesRecord {
    const updatedAt = row.t === null ? 'null' : JSON.stringify(row.t);
    return {
      userId: row.k,
      body: `{"user_id":${userIdJson(this.key, row.k)},"ai_features":${row.f},"updated_at":${updatedAt}}`,
      version: Number(row.v),
    };
  }
}
