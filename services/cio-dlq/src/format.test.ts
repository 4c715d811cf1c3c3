import { readEntry } from './dlq-entry';
import { entryJson, Table } from './format';
import { maskEmails, maskValue } from './mask';
import { formatAge, parseTime, toMillis } from './time';

const NOW = Date.parse('2024-05-22T12:00:00Z');
const entry = readEntry({
  topic: 'customerio.dlq',
  partition: 1,
  offset: '42',
  timestamp: String(NOW - 2 * 3_600_000 - 5 * 60_000),
  key: Buffer.from('jane.doe@example.com'),
  value: Buffer.from(
    JSON.stringify({ id: '01HX', action: 'identify', identifiers: { email: 'jane.doe@example.com' } }),
  ),
  headers: {
    'x-dlq-error-class': Buffer.from('http_4xx'),
    'x-dlq-http-status': Buffer.from('400'),
    'x-dlq-error-message': Buffer.from('bad attribute for jane.doe@example.com:\n  too long'),
    'x-dlq-original-topic': Buffer.from('customerio.track'),
  },
});

describe('masking', () => {
  it('masks every email in a text', () => {
    expect(maskEmails('from jane.doe@example.com to bob@mail.example.org.')).toBe(
      'from j***@example.com to b***@mail.example.org.',
    );
    expect(maskEmails('user-123 has no email')).toBe('user-123 has no email');
  });

  it('masks emails and personal attributes in a value', () => {
    expect(
      maskValue({
        name: 'product_scanned',
        identifiers: { email: 'jane@example.com' },
        attributes: { first_name: 'Jane', last_name: 'Doe', phone: '+1555', plan: 'gold', tags: ['x@y.io'] },
      }),
    ).toEqual({
      name: 'product_scanned',
      identifiers: { email: 'j***@example.com' },
      attributes: { first_name: '***', last_name: '***', phone: '***', plan: 'gold', tags: ['x***@y.io'] },
    });
  });
});

describe('time', () => {
  it('formats ages compactly', () => {
    expect(formatAge(42_000)).toBe('42s');
    expect(formatAge(5 * 60_000 + 1)).toBe('5m');
    expect(formatAge(3 * 3_600_000)).toBe('3h');
    expect(formatAge(3 * 3_600_000 + 12 * 60_000)).toBe('3h12m');
    expect(formatAge(2 * 86_400_000 + 4 * 3_600_000)).toBe('2d4h');
    expect(formatAge(-5)).toBe('0s');
  });

  it('parses times and durations', () => {
    expect(parseTime('--since', '90s', NOW)).toBe(NOW - 90_000);
    expect(parseTime('--since', '7d', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseTime('--since', '1w', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseTime('--since', '2024-05-22T10:00:00+02:00', NOW)).toBe(Date.parse('2024-05-22T08:00:00Z'));
    expect(toMillis(1716403000)).toBe(1716403000000);
    expect(toMillis('1716403000000')).toBe(1716403000000);
    expect(toMillis('nope')).toBeUndefined();
  });
});

describe('list output', () => {
  it('prints a fixed-column row with the person masked and the message on one line', () => {
    const table = new Table({ reveal: false, now: NOW });
    expect(table.header()).toBe(
      'PARTITION:OFFSET AGE    ACTION        EVENT                  PERSON                   ERROR        STATUS MESSAGE',
    );
    expect(table.row(entry)).toBe(
      '1:42             2h5m   identify      -                      j***@example.com         http_4xx     400    bad attribute for j***@example.com: too long',
    );
  });

  it('reveals on request, adds a state column and cuts at the terminal width', () => {
    const table = new Table({ reveal: true, now: NOW, withState: true, width: 130 });
    const row = table.row(entry);
    expect(row).toHaveLength(130);
    expect(
      row.startsWith(
        '1:42             pending  2h5m   identify      -                      jane.doe@example.com',
      ),
    ).toBe(true);
    expect(row.endsWith('…')).toBe(true);
  });

  it('prints JSON lines with the same masking', () => {
    const masked = entryJson(entry, { reveal: false, now: NOW });
    expect(masked).toMatchObject({
      coordinate: '1:42',
      action: 'identify',
      person: 'j***@example.com',
      key: 'j***@example.com',
      operationId: '01HX',
      errorClass: 'http_4xx',
      httpStatus: 400,
      ageSeconds: 7500,
      state: 'pending',
      originalTopic: 'customerio.track',
    });
    expect(JSON.stringify(masked)).not.toContain('jane.doe@');
    expect(entryJson(entry, { reveal: true, now: NOW }).person).toBe('jane.doe@example.com');
  });
});
