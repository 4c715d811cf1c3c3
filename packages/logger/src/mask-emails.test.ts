import fc from 'fast-check';
import { maskEmail, maskEmails } from './mask-emails';

// The masking rule as a regular expression: the reference on short texts. Its
// backtracking takes quadratic time on long runs without an email, which is why
// maskEmails does not use it.
const reference = (text: string) =>
  text.replace(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, (email) =>
    maskEmail(email),
  );

describe('maskEmails', () => {
  it.each([
    ['jane@example.com', 'j***@example.com'],
    ['to jane.doe+x@mail.example.co.uk, cc bob@b.io.', 'to j***@mail.example.co.uk, cc b***@b.io.'],
    ['a@b@c.com', 'a@b***@c.com'],
    ['x@a.com.y@b.com', 'x***@a.com.***@b.com'],
    ['a@b.com@c.com', 'a***@b.com@c.com'],
    ['user@host.com1 user@host.c user@-x.io', 'u***@host.com1 user@host.c u***@-x.io'],
    ['no email here', 'no email here'],
  ])('masks %j', (text, masked) => {
    expect(maskEmails(text)).toBe(masked);
    expect(reference(text)).toBe(masked);
  });

  it('masks exactly what the regular expression masks', () => {
    const alphabet = fc.constantFrom('a', 'B', '7', '.', '-', '_', '+', '@', ' ', ',', 'é', 'x', 'o', 'm');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), (chars) => {
        const text = chars.join('');
        return maskEmails(text) === reference(text);
      }),
      { seed: 13, numRuns: 5_000 },
    );
  });

  it('masks a 1 MB value with emails among long runs of address characters', () => {
    // Long runs of characters that may start an address but never end in one: the
    // regular expression retries each start and takes minutes on this.
    const run = 'a'.repeat(300_000);
    const text = `${run}@${run} jane@example.com ${'b.'.repeat(100_000)}@x ${run}.bob@example.org`;
    expect(text.length).toBeGreaterThan(1_000_000);
    const started = process.hrtime.bigint();
    const masked = maskEmails(text);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(masked).toBe(`${run}@${run} j***@example.com ${'b.'.repeat(100_000)}@x a***@example.org`);
    // A figure for the record, not an assertion: timing is the benchmark's business.
    process.stdout.write(`maskEmails: ${text.length} characters in ${ms.toFixed(1)} ms\n`);
  });
});
