/**
 * The users table's key column decides what a user id is: a whole number for integer
 * columns, a UUID, or a string. Ids are checked before they reach SQL, so a bad id in
 * one message can never fail a whole batch, and the read API answers 400 for them.
 */
export type UserKeyKind = 'smallint' | 'integer' | 'bigint' | 'uuid' | 'text';

export interface UserKey {
  kind: UserKeyKind;
  /** the column's type as Postgres spells it, for casts */
  sqlType: string;
  /** longest accepted text id, in characters */
  maxLength: number;
}

export type ParsedId = { ok: true; id: string } | { ok: false; reason: string };

const integerRanges: Record<string, [bigint, bigint]> = {
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const controlCharacters = /[\u0000-\u001f\u007f]/;
/** Customer.io's longest identifier; a longer id cannot come from it. */
const TEXT_ID_MAX = 150;

/** The key kind for a column type from `format_type`; throws for types we do not support. */
export function userKeyFor(sqlType: string): UserKey {
  if (sqlType in integerRanges) return { kind: sqlType as UserKeyKind, sqlType, maxLength: 20 };
  if (sqlType === 'uuid') return { kind: 'uuid', sqlType, maxLength: 36 };
  if (sqlType === 'text') return { kind: 'text', sqlType, maxLength: TEXT_ID_MAX };
  const varchar = /^character varying(?:\((\d+)\))?$/.exec(sqlType);
  if (varchar) {
    const length = varchar[1] ? Number(varchar[1]) : TEXT_ID_MAX;
    return { kind: 'text', sqlType, maxLength: Math.min(length, TEXT_ID_MAX) };
  }
  throw new Error(
    `the users key column has type ${sqlType}; supported are smallint, integer, bigint, uuid, text and varchar`,
  );
}

/** Checks and canonicalises an id from a message (string or number) or a URL (string). */
export function parseUserId(key: UserKey, raw: unknown): ParsedId {
  if (key.kind === 'text') {
    if (typeof raw === 'number' && Number.isFinite(raw)) raw = String(raw);
    if (typeof raw !== 'string') return { ok: false, reason: 'must be a string or a number' };
    if (raw.length === 0 || raw.length > key.maxLength) {
      return { ok: false, reason: `must be 1 to ${key.maxLength} characters` };
    }
    if (controlCharacters.test(raw)) return { ok: false, reason: 'must not contain control characters' };
    return { ok: true, id: raw };
  }
  if (key.kind === 'uuid') {
    if (typeof raw !== 'string' || !uuidPattern.test(raw)) return { ok: false, reason: 'must be a UUID' };
    return { ok: true, id: raw.toLowerCase() };
  }
  const [min, max] = integerRanges[key.kind]!;
  let value: bigint;
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) value = BigInt(raw);
  else if (typeof raw === 'string' && /^-?\d{1,20}$/.test(raw)) value = BigInt(raw);
  else return { ok: false, reason: `must be a whole number (${key.kind})` };
  if (value < min || value > max) return { ok: false, reason: `must be a whole number (${key.kind})` };
  return { ok: true, id: value.toString() };
}

/** The id as JSON: a number for integer keys within JavaScript's safe range, else a string. */
export function userIdJson(key: UserKey, id: string): string {
  if (key.kind === 'smallint' || key.kind === 'integer') return id;
  if (key.kind === 'bigint' && Number.isSafeInteger(Number(id))) return id;
  return JSON.stringify(id);
}
