import type { Pool, PoolClient } from 'pg';
import { PENDING_TABLE } from './migrations';
import type { MergeRow } from './prediction';
import { quoteIdent, quoteTable } from './sql';
import type { FeaturesRecord, UsersStore } from './users-store';

interface PendingRow {
  id: string;
  user_id: string;
  predictions: Record<string, unknown>;
  as_of: Record<string, string>;
}

export interface Applied {
  /** the new state of the users that pending predictions changed (for the cache) */
  records: FeaturesRecord[];
  /** pending rows merged and deleted */
  rows: number;
}

/**
 * Folds pending rows into one merge row per user, field by field: the later as_of
 * wins, on equal as_of the older row (they are read in id order). as_of values are
 * toISOString() texts, so text order is time order.
 */
export function combine(rows: readonly PendingRow[]): MergeRow[] {
  const byUser = new Map<string, MergeRow>();
  for (const row of rows) {
    let merged = byUser.get(row.user_id);
    if (!merged) {
      merged = { k: row.user_id, f: Object.create(null), a: Object.create(null) };
      byUser.set(row.user_id, merged);
    }
    for (const field in row.as_of) {
      const asOf = row.as_of[field]!;
      const held = merged.a[field];
      if (held === undefined || asOf > held) {
        merged.f[field] = row.predictions[field];
        merged.a[field] = asOf;
      }
    }
  }
  return [...byUser.values()];
}

/**
 * `ai_features_pending`: predictions for users the upstream app has not created yet.
 * They are merged with the users store's own statement once the user exists, inside a
 * transaction that deletes them, so a row is applied at most once per commit (and a
 * second application would change nothing: the merge is idempotent).
 */
export class PendingStore {
  private readonly t = quoteTable(PENDING_TABLE);
  /**
   * False once a count found the table empty and nothing was added since: spares the
   * lookup per batch while nothing waits (rows added by another instance are applied by
   * the sweep, which counts again).
   */
  mayHoldRows = true;
  private adds = 0;

  constructor(
    private readonly pool: Pool,
    private readonly users: UsersStore,
  ) {}

  /** Keeps the merge rows of users that are not in the users table. */
  async add(rows: readonly MergeRow[]): Promise<void> {
    if (rows.length === 0) return;
    this.mayHoldRows = true;
    this.adds++;
    await this.pool.query(
      `INSERT INTO ${this.t} (user_id, predictions, as_of)
       SELECT x.k, x.f, x.a FROM jsonb_to_recordset($1::jsonb) AS x(k text, f jsonb, a jsonb)`,
      [JSON.stringify(rows)],
    );
  }

  /** Applies what waits for these users (those that exist now). */
  applyFor(userIds: readonly string[]): Promise<Applied> {
    if (userIds.length === 0) return Promise.resolve({ records: [], rows: 0 });
    return this.apply(`WHERE p.user_id = ANY($1::text[]) ORDER BY p.id`, [userIds]);
  }

  /** Applies up to `limit` pending rows whose user exists now (the periodic sweep). */
  applyExisting(limit: number): Promise<Applied> {
    const users = quoteTable(this.users.table);
    const key = quoteIdent(this.users.keyColumn);
    return this.apply(
      `WHERE EXISTS (SELECT 1 FROM ${users} u WHERE u.${key} = p.user_id::${this.users.key.sqlType})
       ORDER BY p.id LIMIT $1`,
      [limit],
    );
  }

  /** Deletes rows older than `ttlMs`; returns how many. */
  async expire(ttlMs: number): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM ${this.t} WHERE created_at < now() - $1::bigint * interval '1 millisecond'`,
      [Math.round(ttlMs)],
    );
    return result.rowCount ?? 0;
  }

  async count(): Promise<number> {
    const adds = this.adds;
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.t}`);
    const n = rows[0]?.n ?? 0;
    if (n === 0 && adds === this.adds) this.mayHoldRows = false;
    return n;
  }

  private async apply(where: string, params: unknown[]): Promise<Applied> {
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // SKIP LOCKED: another instance applying the same rows right now keeps them.
      const { rows } = await client.query<PendingRow>(
        `SELECT p.id::text AS id, p.user_id, p.predictions, p.as_of FROM ${this.t} p ${where}
         FOR UPDATE SKIP LOCKED`,
        params,
      );
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { records: [], rows: 0 };
      }
      const merged = await this.users.merge(combine(rows), client);
      // A user deleted since keeps its rows (until they expire).
      const gone = new Set(merged.unknown);
      const applied = rows.filter((row) => !gone.has(row.user_id)).map((row) => row.id);
      await client.query(`DELETE FROM ${this.t} WHERE id = ANY($1::bigint[])`, [applied]);
      await client.query('COMMIT');
      return { records: [...merged.changed, ...merged.current], rows: applied.length };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}
