/** Masks an email address for logs and listings: `j***@example.com`. */
export function maskEmail(value: string): string {
  const at = value.indexOf('@');
  if (at <= 0) return value;
  return `${value[0]}***${value.slice(at)}`;
}

const isLocalChar = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || // a-z
  (c >= 0x41 && c <= 0x5a) || // A-Z
  (c >= 0x30 && c <= 0x39) || // 0-9
  c === 0x2e || // .
  c === 0x5f || // _
  c === 0x25 || // %
  c === 0x2b || // +
  c === 0x2d; // -
const isLabelChar = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d;
const isLetter = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);

/**
 * Where the domain of an address starting at `start` ends, or -1 when there is none:
 * labels of [A-Za-z0-9-] joined by dots, the last one after a dot starting with at
 * least two letters (which end the address). Prefers the most labels, as the regular
 * expression `[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}` does.
 */
function domainEnd(text: string, start: number): number {
  let end = -1;
  let i = start;
  let labels = 0;
  for (;;) {
    const labelStart = i;
    while (i < text.length && isLabelChar(text.charCodeAt(i))) i++;
    if (i === labelStart) return end;
    if (labels > 0) {
      let letters = labelStart;
      while (letters < i && isLetter(text.charCodeAt(letters))) letters++;
      if (letters - labelStart >= 2) end = letters;
    }
    labels++;
    if (text.charCodeAt(i) !== 0x2e) return end;
    i++;
  }
}

/**
 * Masks every email address in a text: `jane@example.com` -> `j***@example.com`.
 * Linear time (a value can be megabytes): each `@` looks left over the local part and
 * right over the domain, and these stretches never overlap, since `@` belongs to neither.
 * It masks exactly what `/[A-Za-z0-9._%+-]+@<domain>/g` would (see mask-emails.test.ts), without
 * that expression's retries at every start of a long run of address characters.
 */
export function maskEmails(text: string): string {
  let out = '';
  let copied = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > copied && isLocalChar(text.charCodeAt(start - 1))) start--;
    if (start === at) continue;
    const end = domainEnd(text, at + 1);
    if (end === -1) continue;
    out += text.slice(copied, start) + maskEmail(text.slice(start, end));
    copied = end;
    at = end - 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
