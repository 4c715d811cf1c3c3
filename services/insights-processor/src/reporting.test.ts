import { dayOf, parseReporting } from './reporting';

describe('reporting events', () => {
  it('parses the documented email event and finds the person', () => {
    const event = {
      metric: 'sent',
      event_id: '01E4C4CT6YDC7Y5M7FE1GWWPQJ',
      object_type: 'email',
      timestamp: 1613063089,
      data: { customer_id: '0200000001', identifiers: { id: '42', cio_id: 'd9c106000001' } },
    };
    expect(parseReporting(JSON.stringify(event))).toEqual({
      ok: true,
      row: {
        event_id: '01E4C4CT6YDC7Y5M7FE1GWWPQJ',
        ts: 1613063089,
        object_type: 'email',
        metric: 'sent',
        person_id: '42',
        event,
      },
    });
  });

  it('falls back to customer_id, then cio_id, then nobody', () => {
    const base = { event_id: 'e', object_type: 'email', metric: 'sent', timestamp: 1613063089 };
    const person = (data: unknown) => {
      const parsed = parseReporting(JSON.stringify({ ...base, data }));
      return parsed.ok ? parsed.row.person_id : 'invalid';
    };
    expect(person({ customer_id: 7 })).toBe('7');
    expect(person({ identifiers: { cio_id: 'c1' } })).toBe('c1');
    expect(person(undefined)).toBeNull();
  });

  it.each([
    ['{"object_type":"email","metric":"sent","timestamp":1613063089}', 'event_id'],
    ['{"event_id":"e","metric":"sent","timestamp":1613063089}', 'object_type'],
    ['{"event_id":"e","object_type":"email","timestamp":1613063089}', 'metric'],
    ['{"event_id":"e","object_type":"email","metric":"sent","timestamp":"2021-02-11"}', 'timestamp'],
    ['{"event_id":"e","object_type":"email","metric":"sent","timestamp":1613063089000}', 'timestamp'],
    ['not json', 'value'],
  ])('rejects %s naming %s', (value, field) => {
    const parsed = parseReporting(value);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? undefined : parsed.field).toBe(field);
  });

  it('names the UTC day of a timestamp', () => {
    expect(dayOf(1613063089)).toBe('20210211');
    expect(dayOf(Date.parse('2024-05-22T23:59:59Z') / 1000)).toBe('20240522');
    expect(dayOf(Date.parse('2024-05-23T00:00:00Z') / 1000)).toBe('20240523');
  });
});
