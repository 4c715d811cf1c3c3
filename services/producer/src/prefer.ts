/**
 * The seconds a caller asks to wait with `Prefer: wait=N` (RFC 7240), at most
 * `maxSeconds`; undefined when it does not ask or the value is malformed (a malformed
 * preference is ignored, as the RFC advises, and the request is answered as without it).
 */
export function preferredWait(header: string | string[] | undefined, maxSeconds: number): number | undefined {
  if (header === undefined) return undefined;
  const preferences = (Array.isArray(header) ? header.join(',') : header).split(',');
  for (const preference of preferences) {
    // `name=value; parameter...`: only the first token names the preference
    const [token = ''] = preference.split(';');
    const match = /^\s*wait\s*=\s*"?(\d{1,9})"?\s*$/i.exec(token);
    if (!match) continue;
    const seconds = Number(match[1]);
    return seconds >= 1 ? Math.min(seconds, maxSeconds) : undefined;
  }
  return undefined;
}
