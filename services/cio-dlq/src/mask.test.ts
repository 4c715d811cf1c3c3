import { maskEmails, maskValue } from './mask';

describe('cio-dlq masking', () => {
  it('masks emails in text and values, in linear time (see @cio-bridge/logger mask-emails)', () => {
    expect(maskEmails(`${'a'.repeat(100_000)} jane@example.com`)).toBe(
      `${'a'.repeat(100_000)} j***@example.com`,
    );
    expect(maskValue({ contact: 'jane@example.com', first_name: 'Jane', list: ['bob@b.io'] })).toEqual({
      contact: 'j***@example.com',
      first_name: '***',
      list: ['b***@b.io'],
    });
  });
});
