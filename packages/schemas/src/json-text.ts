import { isUtf8 } from 'node:buffer';
import { LIMITS } from './limits';

/**
 * Why a JSON text was refused. `message` names a position and a reason, never any
 * of the content: V8's own JSON.parse messages quote the input (an email, say),
 * and these messages go to logs, HTTP answers and dead-letter headers.
 */
export type JsonTextError = { kind: 'utf8' | 'syntax' | 'depth'; message: string };

export type ParsedJsonText = { ok: true; value: unknown } | ({ ok: false } & JsonTextError);

/**
 * Parses UTF-8 bytes (or a string) as JSON: refuses invalid UTF-8 (instead of
 * replacing it with U+FFFD), malformed JSON, and nesting deeper than
 * LIMITS.jsonDepth.
 */
export function parseJsonText(input: Buffer | string, maxDepth: number = LIMITS.jsonDepth): ParsedJsonText {
  if (typeof input !== 'string' && !isUtf8(input)) {
    return { ok: false, kind: 'utf8', message: `not valid UTF-8 (at byte ${firstInvalidUtf8Byte(input)})` };
  }
  const text = typeof input === 'string' ? input : input.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const { position, reason } = locateSyntaxError(text);
    return { ok: false, kind: 'syntax', message: `malformed JSON at character ${position}: ${reason}` };
  }
  if (nestsDeeperThan(input, maxDepth)) {
    return { ok: false, kind: 'depth', message: `nested deeper than the limit of ${maxDepth} levels` };
  }
  return { ok: true, value };
}

/**
 * Whether valid JSON text nests objects/arrays deeper than `limit`: one pass, skipping
 * strings; linear, never recursive, however deep the text. On bytes (the usual case:
 * `"` and `\\` never occur inside a multi-byte UTF-8 sequence) it runs about twice as
 * fast as on a string.
 */
function nestsDeeperThan(input: Buffer | string, limit: number): boolean {
  // Each level needs two characters: a short text cannot be too deep.
  if (input.length <= 2 * limit) return false;
  return typeof input === 'string' ? textNestsDeeperThan(input, limit) : bytesNestDeeperThan(input, limit);
}

function bytesNestDeeperThan(bytes: Buffer, limit: number): boolean {
  const n = bytes.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === 0x22) {
      for (i++; i < n; i++) {
        const d = bytes[i];
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function textNestsDeeperThan(text: string, limit: number): boolean {
  const n = text.length;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null'];
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4 = /^[0-9a-fA-F]{4}$/;

/**
 * Where and why a text that JSON.parse refused is not JSON: a small iterative
 * scanner (run only after JSON.parse failed), so the reason comes from us and
 * quotes nothing.
 */
export function locateSyntaxError(text: string): { position: number; reason: string } {
  const n = text.length;
  const stack: ('object' | 'array')[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < n && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const fail = (reason: string) => ({ position: i, reason: i >= n ? 'unexpected end of input' : reason });
  /** Skips a string starting at i; returns a reason when it is malformed. */
  const skipString = (): string | undefined => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return 'control character in a string';
      if (c === 0x5c) {
        const escaped = text.charAt(i + 1);
        if (ESCAPES.has(escaped)) i += 2;
        else if (escaped === 'u' && HEX4.test(text.slice(i + 2, i + 6))) i += 6;
        else return i + 1 >= n ? 'unterminated string' : 'invalid escape in a string';
      } else i++;
    }
    return 'unterminated string';
  };
  let expect: 'value' | 'key' | 'after' = 'value';
  skipSpace();
  for (;;) {
    if (expect === 'value') {
      const c = text.charAt(i);
      if (c === '{' || c === '[') {
        i++;
        skipSpace();
        if (text.charAt(i) === (c === '{' ? '}' : ']')) {
          i++;
          expect = 'after';
        } else {
          stack.push(c === '{' ? 'object' : 'array');
          expect = c === '{' ? 'key' : 'value';
        }
        continue;
      }
      if (c === '"') {
        const start = i;
        const problem = skipString();
        if (problem)
          return problem === 'unterminated string' ? { position: n, reason: problem } : fail(problem);
        if (i <= start) return fail('unexpected character');
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const match = NUMBER.exec(text);
        const next = match ? text.charAt(i + match[0].length) : '';
        if (!match || next === '.' || next === 'e' || next === 'E' || (next >= '0' && next <= '9'))
          return fail('invalid number');
        i += match[0].length;
      } else {
        const literal = LITERALS.find((word) => text.startsWith(word, i));
        if (!literal) return fail('unexpected character');
        i += literal.length;
      }
      expect = 'after';
      continue;
    }
    skipSpace();
    if (expect === 'key') {
      if (text.charAt(i) !== '"') return fail('expected a double-quoted property name');
      const problem = skipString();
      if (problem)
        return problem === 'unterminated string' ? { position: n, reason: problem } : fail(problem);
      skipSpace();
      if (text.charAt(i) !== ':') return fail("expected ':' after a property name");
      i++;
      skipSpace();
      expect = 'value';
      continue;
    }
    const top = stack.at(-1);
    if (top === undefined) {
      if (i < n) return fail('unexpected data after the JSON value');
      // JSON.parse refused what this scanner accepts: say so without guessing a reason.
      return { position: 0, reason: 'not valid JSON' };
    }
    const c = text.charAt(i);
    if (c === ',') {
      i++;
      skipSpace();
      expect = top === 'object' ? 'key' : 'value';
    } else if (c === (top === 'object' ? '}' : ']')) {
      i++;
      stack.pop();
    } else {
      return fail(
        top === 'object'
          ? "expected ',' or '}' after a property value"
          : "expected ',' or ']' after an array element",
      );
    }
  }
}

/** The offset of the first byte that is not part of a well-formed UTF-8 sequence. */
function firstInvalidUtf8Byte(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || !isUtf8(bytes.subarray(i, i + length))) return i;
    i += length;
  }
  return i;
}
