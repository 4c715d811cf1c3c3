import { verifyRequestSignature } from 'customerio-node';
import { computeSignature, signatureMatches, verifyWebhook, webhookId } from './signature';

const key = 'whsec-current-0f3a9c';
const otherKey = 'whsec-previous-77b2e1';
const timestamp = '1716402912';
const body = '{"user_id":123,"predictions":{"churn_probability":0.78,"recommended_segment":"high_risk"}}';
const valid = computeSignature(key, timestamp, body);

interface Case {
  name: string;
  key?: string;
  timestamp?: string;
  body?: string;
  signature: string;
  expected: boolean;
}

// Every case is decided by customerio-node's verifyRequestSignature too: both must agree.
const cases: Case[] = [
  { name: 'a valid signature', signature: valid, expected: true },
  { name: 'the wrong key', key: otherKey, signature: valid, expected: false },
  { name: 'a tampered body', body: body.replace('0.78', '0.79'), signature: valid, expected: false },
  {
    name: 'the same JSON re-serialized',
    body: JSON.stringify(JSON.parse(body), null, 2),
    signature: valid,
    expected: false,
  },
  {
    name: 'the same JSON with keys reordered',
    body: '{"predictions":{"churn_probability":0.78,"recommended_segment":"high_risk"},"user_id":123}',
    signature: valid,
    expected: false,
  },
  { name: 'another timestamp', timestamp: '1716402913', signature: valid, expected: false },
  { name: 'an upper-case hex signature', signature: valid.toUpperCase(), expected: false },
  { name: 'a truncated signature', signature: valid.slice(0, 63), expected: false },
  { name: 'a signature with a prefix', signature: `sha256=${valid}`, expected: false },
  { name: 'an empty signature', signature: '', expected: false },
  { name: 'a signature of the body alone', signature: computeSignature(key, '', body), expected: false },
  {
    name: 'a non-ASCII body',
    body: '{"user_id":"ü-1","predictions":{"next_best_action":"späti 🌿"}}',
    signature: computeSignature(
      key,
      timestamp,
      '{"user_id":"ü-1","predictions":{"next_best_action":"späti 🌿"}}',
    ),
    expected: true,
  },
  { name: 'an empty body', body: '', signature: computeSignature(key, timestamp, ''), expected: true },
];

describe('webhook signature', () => {
  it.each(cases)('agrees with customerio-node on $name', (c) => {
    const raw = Buffer.from(c.body ?? body, 'utf8');
    const ts = c.timestamp ?? timestamp;
    const theirs = verifyRequestSignature({
      signingSecret: c.key ?? key,
      timestamp: ts,
      body: raw,
      signature: c.signature,
    });
    const ours = signatureMatches([c.key ?? key], ts, raw, c.signature);
    expect(theirs).toBe(c.expected);
    expect(ours).toBe(theirs);
  });

  it('accepts a signature made with any of the keys (rotation), and no other', () => {
    const raw = Buffer.from(body);
    const byOld = computeSignature(otherKey, timestamp, raw);
    const byNew = computeSignature(key, timestamp, raw);
    expect(signatureMatches([key, otherKey], timestamp, raw, byOld)).toBe(true);
    expect(signatureMatches([key, otherKey], timestamp, raw, byNew)).toBe(true);
    // After the rotation the old key is removed: its signatures stop working.
    expect(signatureMatches([key], timestamp, raw, byOld)).toBe(false);
    expect(signatureMatches([key, otherKey], timestamp, raw, computeSignature('third', timestamp, raw))).toBe(
      false,
    );
  });

  it('identifies a webhook by the sha256 of its raw body', () => {
    expect(webhookId(Buffer.from('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('verifyWebhook', () => {
  const nowMs = Number(timestamp) * 1000;
  const raw = Buffer.from(body);
  const check = (over: Partial<Parameters<typeof verifyWebhook>[0]>) =>
    verifyWebhook({
      keys: [key],
      toleranceSeconds: 300,
      timestampHeader: timestamp,
      signatureHeader: valid,
      body: raw,
      nowMs,
      ...over,
    });
  const signedAt = (offsetSeconds: number) => {
    const ts = String(Number(timestamp) + offsetSeconds);
    return { timestampHeader: ts, signatureHeader: computeSignature(key, ts, raw) };
  };

  it('accepts a valid, fresh request and returns its signed time', () => {
    expect(check({})).toEqual({ ok: true, timestamp: Number(timestamp) });
  });

  it.each([
    ['no signature header', { signatureHeader: undefined }, /missing X-CIO-Signature/],
    ['an empty signature header', { signatureHeader: '' }, /missing X-CIO-Signature/],
    ['a repeated signature header', { signatureHeader: [valid, valid] }, /missing X-CIO-Signature/],
    ['no timestamp header', { timestampHeader: undefined }, /missing X-CIO-Timestamp/],
    ['a timestamp that is not unix seconds', { timestampHeader: '2024-05-22T18:35:12Z' }, /unix time/],
    ['a wrong signature', { signatureHeader: computeSignature(otherKey, timestamp, raw) }, /does not match/],
  ])('rejects %s as a bad signature', (_name, over, reason) => {
    const result = check(over);
    expect(result).toMatchObject({ ok: false, outcome: 'bad_signature' });
    expect(result.ok || result.reason).toMatch(reason);
  });

  it.each([
    ['in the past', -301],
    ['in the future', 301],
  ])('rejects a correctly signed timestamp more than the tolerance %s as stale', (_name, offset) => {
    const result = check(signedAt(offset));
    expect(result).toMatchObject({ ok: false, outcome: 'stale' });
  });

  it.each([
    ['past', -300],
    ['future', 300],
  ])('accepts a timestamp exactly at the tolerance in the %s', (_name, offset) => {
    expect(check(signedAt(offset))).toEqual({ ok: true, timestamp: Number(timestamp) + offset });
  });

  it('reports an unsigned stale request as a bad signature, not as stale', () => {
    expect(check({ timestampHeader: String(Number(timestamp) - 3600) })).toMatchObject({
      outcome: 'bad_signature',
    });
  });
});
