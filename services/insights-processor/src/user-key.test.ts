import { parseUserId, userIdJson, userKeyFor } from './user-key';

describe('user ids', () => {
  const bigint = userKeyFor('bigint');
  const integer = userKeyFor('integer');
  const uuid = userKeyFor('uuid');
  const text = userKeyFor('text');

  it('accepts whole numbers as numbers or strings and canonicalises them', () => {
    expect(parseUserId(bigint, 123)).toEqual({ ok: true, id: '123' });
    expect(parseUserId(bigint, '0123')).toEqual({ ok: true, id: '123' });
    expect(parseUserId(bigint, '9223372036854775807')).toEqual({ ok: true, id: '9223372036854775807' });
    expect(parseUserId(integer, -5)).toEqual({ ok: true, id: '-5' });
  });

  it('rejects what is not a whole number in the column range', () => {
    for (const bad of ['abc', '12a', '', 1.5, '9223372036854775808', null, {}, Number.MAX_SAFE_INTEGER + 2]) {
      expect(parseUserId(bigint, bad)).toEqual({ ok: false, reason: 'must be a whole number (bigint)' });
    }
    expect(parseUserId(integer, 2 ** 31).ok).toBe(false);
  });

  it('accepts UUIDs in any case and stores them lower-case', () => {
    expect(parseUserId(uuid, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toEqual({
      ok: true,
      id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    });
    expect(parseUserId(uuid, 'not-a-uuid')).toEqual({ ok: false, reason: 'must be a UUID' });
  });

  it('accepts text ids up to the column length and Customer.io limit, without control characters', () => {
    expect(parseUserId(text, 'user-123')).toEqual({ ok: true, id: 'user-123' });
    expect(parseUserId(text, 123)).toEqual({ ok: true, id: '123' });
    expect(parseUserId(text, 'x'.repeat(151)).ok).toBe(false);
    expect(parseUserId(text, '')).toEqual({ ok: false, reason: 'must be 1 to 150 characters' });
    expect(parseUserId(text, 'a\u0000b')).toEqual({
      ok: false,
      reason: 'must not contain control characters',
    });
    expect(parseUserId(userKeyFor('character varying(8)'), 'user-1234').ok).toBe(false);
  });

  it('rejects key column types it cannot compare safely', () => {
    expect(() => userKeyFor('numeric(10,2)')).toThrow('has type numeric(10,2)');
  });

  it('writes integer ids as JSON numbers when safe, others as strings', () => {
    expect(userIdJson(bigint, '123')).toBe('123');
    expect(userIdJson(bigint, '9223372036854775807')).toBe('"9223372036854775807"');
    expect(userIdJson(text, '123')).toBe('"123"');
  });
});
