// Shared pieces of the HTTP fuzz tests: raw requests (any bytes, any headers),
// arbitraries that mutate valid bodies, and the property every answer must have.
import { request } from 'node:http';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';

/** Runs per property: a few seconds in all by default; FUZZ_RUNS=N for longer runs. */
export const fuzzRuns = (fallback: number): number => Number(process.env.FUZZ_RUNS ?? fallback);

/** The fixed seed of every fuzz test (FUZZ_SEED=N to explore others). */
export const fuzzSeed = (): number => Number(process.env.FUZZ_SEED ?? 13);

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Sends exactly these bytes and headers (node's fetch would normalise both). */
export function rawRequest(
  url: string,
  {
    method = 'POST',
    path,
    headers = {},
    body,
  }: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request(
      { hostname, port, method, path, headers: { ...headers, connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Announces `body` (Content-Length) but sends only its first `sent` bytes, then hangs
 * up: a client that goes away mid-request. Resolves once the socket is closed.
 */
export function abortedRequest(
  url: string,
  {
    path,
    headers = {},
    body,
    sent,
  }: { path: string; headers?: Record<string, string>; body: Buffer; sent: number },
): Promise<void> {
  return new Promise((resolve) => {
    const { hostname, port } = new URL(url);
    const req = request({
      hostname,
      port,
      method: 'POST',
      path,
      headers: { ...headers, 'content-length': String(body.length) },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(body.subarray(0, Math.min(sent, body.length - 1)), () => {
      setTimeout(() => req.destroy(), 5);
    });
  });
}

/** A JSON value nested `depth` levels deep around `inner`. */
const nest = (inner: string, depth: number, open = '{"a":', close = '}') =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

/**
 * Bodies from valid JSON texts: valid ones, and ones truncated, padded past `maxBytes`,
 * deeply nested, with a field of the wrong type, with invalid UTF-8 bytes, with duplicate
 * keys; plus random JSON and random bytes.
 */
export function fuzzBodies(valid: readonly string[], maxBytes: number): fc.Arbitrary<Buffer> {
  const base = fc.constantFrom(...valid);
  const keyOf = (text: string, n: number) => {
    const keys = [...text.matchAll(/"([A-Za-z_]+)":/g)].map((m) => m[1]!);
    return keys.length > 0 ? keys[n % keys.length]! : 'x';
  };
  const utf8 = (text: string) => Buffer.from(text, 'utf8');
  return fc.oneof(
    { weight: 4, arbitrary: base.map(utf8) },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat()).map(([text, n]) => utf8(text.slice(0, n % text.length))),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(base, fc.integer({ min: 1, max: 2 * maxBytes }))
        .map(([text, n]) => utf8(text.replace(/}\s*$/, `,"padding":"${'x'.repeat(n)}"}`))),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(base, fc.nat(), fc.integer({ min: 1, max: 20_000 }), fc.boolean())
        .map(([text, n, depth, arrays]) => {
          const key = keyOf(text, n);
          const deep = arrays ? nest('1', depth, '[', ']') : nest('1', depth);
          return utf8(text.replace(`"${key}":`, `"${key}":${deep},"${key}_was":`));
        }),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(base, fc.nat(), fc.jsonValue({ maxDepth: 2 })).map(([text, n, value]) => {
        const json = JSON.parse(text) as Record<string, unknown>;
        const keys = Object.keys(json);
        if (keys.length > 0) json[keys[n % keys.length]!] = value;
        return utf8(JSON.stringify(json));
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(base, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }))
        .map(([text, n, bytes]) => {
          const raw = utf8(text);
          const at = n % raw.length;
          const invalid = Buffer.from(bytes.map((b) => 0x80 | b));
          return Buffer.concat([raw.subarray(0, at), invalid, raw.subarray(at)]);
        }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(base, fc.nat(), fc.jsonValue({ maxDepth: 1 })).map(([text, n, value]) => {
        const key = keyOf(text, n);
        return utf8(text.replace(/^\s*{/, `{"${key}":${JSON.stringify(value) ?? 'null'},`));
      }),
    },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }).map(utf8) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  );
}

export interface FuzzRequest {
  headers: Record<string, string>;
  body: Buffer;
  /** the body before any Content-Encoding (what a signature covers) */
  plain: Buffer;
}

/**
 * Headers for a body: Content-Type (mostly JSON, sometimes wrong), Content-Encoding
 * (none, gzip or deflate applied, or claimed but not applied, or unknown) and
 * whatever `extra` adds (authentication).
 */
export function fuzzRequests(
  bodies: fc.Arbitrary<Buffer>,
  extra: fc.Arbitrary<Record<string, string>>,
): fc.Arbitrary<FuzzRequest> {
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant('application/json') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        '',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }) },
  );
  const encoding = fc.oneof(
    { weight: 8, arbitrary: fc.constant('none') },
    {
      weight: 3,
      arbitrary: fc.constantFrom('gzip', 'deflate', 'identity', 'gzip-claimed', 'br-claimed', 'x-unknown'),
    },
  );
  // Headers a client may add, with any printable value.
  const others = fc.dictionary(
    fc.constantFrom(
      'x-forwarded-for',
      'accept',
      'accept-charset',
      'user-agent',
      'x-request-id',
      'forwarded',
      'expect',
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    { maxKeys: 2 },
  );
  const chunked = fc.oneof(
    { weight: 5, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  );
  return fc
    .tuple(bodies, contentType, encoding, extra, others, chunked)
    .map(([plain, type, enc, more, other, chunks]) => {
      const headers: Record<string, string> = { ...other, ...more };
      // `expect` other than 100-continue gets 417 from node itself, before the app.
      if (headers.expect !== undefined) headers.expect = '100-continue';
      if (chunks) headers['transfer-encoding'] = 'chunked';
      if (type !== '') headers['content-type'] = type;
      let body = plain;
      if (enc === 'gzip') body = gzipSync(plain);
      if (enc === 'deflate') body = deflateSync(plain);
      if (enc !== 'none') headers['content-encoding'] = enc.replace('-claimed', '');
      return { headers, body, plain };
    });
}

/** What a 4xx answer's error must name, by status: the field, the header, or the body's problem. */
const NAMES: Record<number, RegExp> = {
  400: /malformed JSON at character \d+: |request body is (not valid UTF-8|nested deeper than the limit of \d+ levels)|request body does not match its Content-Encoding|invalid request|invalid (prediction|reporting) webhook|the body must be a JSON object|malformed user id: id |malformed path/,
  401: /bearer token|Authorization|X-CIO-Signature|X-CIO-Timestamp|signature|timestamp/i,
  404: /^no route for |^no user with id /,
  413: /^request body exceeds the limit of \d+ bytes$/,
  415: /Content-Type must be application\/json|Content-Encoding|content encoding|charset/i,
};

/**
 * The property of every answer: no 5xx, and a 4xx with a JSON error that names
 * the field, the header or the body's problem. Returns why not, or undefined.
 */
export function answerProblem(answer: RawAnswer): string | undefined {
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (answer.status < 400) return undefined;
  let error: unknown;
  let details: unknown;
  try {
    ({ error, details } = JSON.parse(answer.text) as { error?: unknown; details?: unknown });
  } catch {
    return `answered ${answer.status} without a JSON error: ${answer.text.slice(0, 300)}`;
  }
  if (typeof error !== 'string') return `answered ${answer.status} without an error message`;
  const names = NAMES[answer.status];
  if (!names) return `answered ${answer.status} (${error})`;
  if (!names.test(error)) return `answered ${answer.status} with an error that names nothing: ${error}`;
  if (/^invalid /.test(error) && details !== undefined) {
    const fields =
      Array.isArray(details) &&
      details.every((d) => typeof (d as { pointer?: unknown }).pointer === 'string');
    if (!fields)
      return `answered ${answer.status} with details that name no field: ${JSON.stringify(details)}`;
  }
  return undefined;
}
