import { preferredWait } from './prefer';

describe('preferredWait (Prefer: wait=N, RFC 7240)', () => {
  it.each([
    ['wait=5', 5],
    ['WAIT=5', 5],
    ['wait="7"', 7],
    ['respond-async, wait=3', 3],
    ['handling=lenient; x=1, wait=2', 2],
    ['wait=30', 30],
  ])('%s -> %s seconds', (header, seconds) => {
    expect(preferredWait(header, 30)).toBe(seconds);
  });

  it('caps a longer wait at the configured maximum', () => {
    expect(preferredWait('wait=600', 30)).toBe(30);
  });

  it.each([
    undefined,
    '',
    'wait',
    'wait=',
    'wait=0',
    'wait=-1',
    'wait=1.5',
    'wait=abc',
    'respond-async',
    'wait=1e3',
  ])('treats %p as absent', (header) => {
    expect(preferredWait(header, 30)).toBeUndefined();
  });

  it('reads several Prefer headers (node gives them as an array)', () => {
    expect(preferredWait(['respond-async', 'wait=4'], 30)).toBe(4);
  });
});
