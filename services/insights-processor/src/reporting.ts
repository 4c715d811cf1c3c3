import { parseJsonText } from '@cio-bridge/schemas';
import type { Pool } from 'pg';

/** A reporting webhook event as Customer.io sent it (see reporting-webhooks.openapi.json). */
export interface ReportingEvent {
  event_id: string;
  object_type: string;
  metric: string;
  /** unix seconds */
  timestamp: number;
  data?: Record<string, unknown>;
}

/** The row the batch statement writes. */
export interface ReportingRow {
  event_id: string;
  ts: number;
  object_type: string;
  metric: string;
  person_id: string | null;
  event: unknown;
}

export type ParsedReporting = { ok: true; row: ReportingRow } | { ok: false; field: string; reason: string };

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const nonEmpty = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max;
/** 2000-01-01 .. 9999-12-31: partition names have four-digit years. */
const MIN_TS = 946_684_800;
const MAX_TS = 253_402_300_799;

const idOf = (value: unknown): string | null =>
  (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : null;

/** Parses one message value; the reason names the offending field. */
export function parseReporting(value: Buffer | string | null): ParsedReporting {
  if (value === null || value.length === 0) return { ok: false, field: 'value', reason: 'is empty' };
  // The reason names a position, never the content (it is logged).
  const parsed = parseJsonText(value);
  if (!parsed.ok) return { ok: false, field: 'value', reason: `is ${parsed.message}` };
  const event: unknown = parsed.value;
  if (!isPlainObject(event)) return { ok: false, field: 'value', reason: 'must be a JSON object' };
  if (!nonEmpty(event.event_id, 255))
    return { ok: false, field: 'event_id', reason: 'must be a non-empty string' };
  if (!nonEmpty(event.object_type, 100)) {
    return { ok: false, field: 'object_type', reason: 'must be a non-empty string' };
  }
  if (!nonEmpty(event.metric, 100))
    return { ok: false, field: 'metric', reason: 'must be a non-empty string' };
  const ts = event.timestamp;
  if (typeof ts !== 'number' || !Number.isInteger(ts) || ts < MIN_TS || ts > MAX_TS) {
    return { ok: false, field: 'timestamp', reason: 'must be unix seconds from 2000 to 9999' };
  }
  const data = isPlainObject(event.data) ? event.data : {};
  const identifiers = isPlainObject(data.identifiers) ? data.identifiers : {};
  return {
    ok: true,
    row: {
      event_id: event.event_id,
      ts,
      object_type: event.object_type,
      metric: event.metric,
      person_id: idOf(identifiers.id) ?? idOf(data.customer_id) ?? idOf(identifiers.cio_id),
      event,
    },
  };
}

/** `20240522` for the UTC day of unix seconds `ts`. */
export const dayOf = (ts: number): string =>
  new Date(ts * 1000).toISOString().slice(0, 10).replaceAll('-', '');

const PARTITION_LOCK = "hashtext('cio_reporting_events partitions')";

/**
 * Writes reporting events into `cio_reporting_events`, one partition per UTC day,
 * created the first time a day is seen (remembered, so the DDL runs once per day).
 */
export class ReportingStore {
  private readonly knownDays = new Set<string>();

  constructor(private readonly pool: Pool) {}

  /** Creates the missing day partitions; safe against other instances doing the same. */
  async ensurePartitions(days: Iterable<string>): Promise<void> {
    const missing = [...new Set(days)].filter((day) => !this.knownDays.has(day)).sort();
    if (missing.length === 0) return;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // Serialises instances creating partitions; CREATE ... IF NOT EXISTS alone can race.
      await client.query(`SELECT pg_advisory_xact_lock(${PARTITION_LOCK})`);
      for (const day of missing) {
        const from = new Date(`${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00Z`);
        const to = new Date(from.getTime() + 24 * 3600 * 1000);
        await client.query(
          `CREATE TABLE IF NOT EXISTS cio_reporting_events_p${day} PARTITION OF cio_reporting_events
             FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    for (const day of missing) this.knownDays.add(day);
  }

  /**
   * Stores a batch in one statement; returns how many were new. A redelivered event
   * (same event_id and timestamp) is left alone.
   */
  async insert(rows: ReportingRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const days = rows.map((row) => dayOf(row.ts));
    await this.ensurePartitions(days);
    try {
      return await this.insertRows(rows);
    } catch (error) {
      // 23514 "no partition of relation found for row": a partition we knew was dropped
      // (retention); forget what we knew and create it again.
      if ((error as { code?: string }).code !== '23514') throw error;
      this.knownDays.clear();
      await this.ensurePartitions(days);
      return await this.insertRows(rows);
    }
  }

  private async insertRows(rows: ReportingRow[]): Promise<number> {
    const result = await this.pool.query(
      `INSERT INTO cio_reporting_events (event_id, occurred_at, object_type, metric, person_id, event)
       SELECT x.event_id, to_timestamp(x.ts), x.object_type, x.metric, x.person_id, x.event
         FROM jsonb_to_recordset($1::jsonb)
           AS x(event_id text, ts bigint, object_type text, metric text, person_id text, event jsonb)
       ON CONFLICT (event_id, occurred_at) DO NOTHING`,
      [JSON.stringify(rows)],
    );
    return result.rowCount ?? 0;
  }
}
