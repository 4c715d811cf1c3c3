import fc from 'fast-check';
import { parseJsonText } from './json-text';
import { LIMITS } from './limits';

const EMAIL = 'ada.lovelace@example.com';

const failure = (input: string | Buffer) => {
  const result = parseJsonText(input);
  if (result.ok) throw new Error(`expected ${String(input)} to fail`);
  return result;
};

describe('parseJsonText', () => {
  it('parses JSON text and bytes', () => {
    expect(parseJsonText('{"a":[1,{"b":"c"}]}')).toEqual({ ok: true, value: { a: [1, { b: 'c' }] } });
    expect(parseJsonText(Buffer.from(' "é" '))).toEqual({ ok: true, value: 'é' });
  });

  it.each([
    [EMAIL, 0, 'unexpected character'],
    [`{"email":"${EMAIL}" 1}`, 36, "expected ',' or '}' after a property value"],
    [`{"email":"${EMAIL}"`, 35, 'unexpected end of input'],
    [`{"email":"${EMAIL}"}x`, 36, 'unexpected data after the JSON value'],
    [`{"email":"${EMAIL}",}`, 36, 'expected a double-quoted property name'],
    [`{"email" "${EMAIL}"}`, 9, "expected ':' after a property name"],
    [`["${EMAIL}" 1]`, 28, "expected ',' or ']' after an array element"],
    [`{"email":"${EMAIL}\u0001"}`, 34, 'control character in a string'],
    [`{"email":"\\q${EMAIL}"}`, 10, 'invalid escape in a string'],
    [`{"email":"${EMAIL}`, 34, 'unterminated string'],
    [`{"n":-${EMAIL}}`, 5, 'invalid number'],
    [`{"ok":tru}`, 6, 'unexpected character'],
    ['', 0, 'unexpected end of input'],
    ['[1,', 3, 'unexpected end of input'],
  ])('names the position and the reason for %j, never the content', (input, position, reason) => {
    const { message } = failure(input);
    expect(message).toBe(`malformed JSON at character ${position}: ${reason}`);
    expect(message).not.toContain('ada');
    expect(message).not.toContain('example.com');
  });

  it('rejects invalid UTF-8 instead of replacing it', () => {
    const bytes = Buffer.concat([
      Buffer.from(`{"email":"${EMAIL}`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    expect(failure(bytes).message).toBe('not valid UTF-8 (at byte 34)');
  });

  it(`rejects nesting deeper than ${LIMITS.jsonDepth} levels, naming the limit`, () => {
    const deep = `${'['.repeat(LIMITS.jsonDepth + 1)}${']'.repeat(LIMITS.jsonDepth + 1)}`;
    expect(failure(deep).message).toBe(`nested deeper than the limit of ${LIMITS.jsonDepth} levels`);
    expect(failure(Buffer.from(deep)).message).toBe(
      `nested deeper than the limit of ${LIMITS.jsonDepth} levels`,
    );
    expect(parseJsonText(Buffer.from(JSON.stringify({ s: '['.repeat(1_000), t: '\\"[[[' }))).ok).toBe(true);
    const deepest = `${'{"a":'.repeat(LIMITS.jsonDepth - 1)}[]${'}'.repeat(LIMITS.jsonDepth - 1)}`;
    expect(parseJsonText(deepest).ok).toBe(true);
    // Brackets inside strings do not nest.
    expect(parseJsonText(JSON.stringify({ s: '['.repeat(1_000), t: '\\"[[[' })).ok).toBe(true);
  });

  it('survives a million levels of nesting without a RangeError', () => {
    expect(failure(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`).message).toMatch(/nested deeper/);
    expect(failure('['.repeat(1_000_000)).message).toBe(
      'malformed JSON at character 1000000: unexpected end of input',
    );
  });

  it('locates every JSON.parse failure of mutated JSON text (the scanner agrees with V8)', () => {
    const mutated = fc
      .tuple(
        fc.json({ maxDepth: 4 }),
        fc.nat(),
        fc.constantFrom('', '"', '\\', ',', '}', ']', '{', 'x', '\u0001', ' '),
      )
      .map(([json, at, insert]) => {
        const cut = at % (json.length + 1);
        return at % 2 === 0 ? json.slice(0, cut) + insert + json.slice(cut) : json.slice(0, cut);
      });
    fc.assert(
      fc.property(mutated, (text) => {
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        const result = parseJsonText(text);
        // Bytes and text take different scanners: they must agree.
        if (parseJsonText(Buffer.from(text, 'utf8')).ok !== result.ok && !/[\ud800-\udfff]/.test(text))
          return false;
        if (valid) return result.ok;
        if (result.ok) return false;
        const match = /^malformed JSON at character (\d+): (.+)$/.exec(result.message);
        return match !== null && Number(match[1]) <= text.length && match[2] !== 'not valid JSON';
      }),
      { seed: 13, numRuns: Number(process.env.FUZZ_RUNS ?? 2_000) },
    );
  });
});
