// The edge (producer, SDK) checks Customer.io's 32 KB limit with sentOperationBytes, the
// size of the largest request item the worker sends for an operation, computed with the
// encoders the worker uses. These tests tie it to decodeTrack on every output: the Track
// API (v2 operation or v1 anonymous event) and the Pipelines API, with and without
// WORKER_CONVERT_DATES.
import {
  jsonWithId,
  LIMITS,
  operationExamples,
  sentOperationBytes,
  type TrackOperation,
  validateTrackOperationJson,
} from '@cio-bridge/schemas';
import fc from 'fast-check';
import { ValidationError } from '../errors';
import { decodeTrack, type TrackOutput } from './operation';

const ID = '01HZY3J8W6Q2V7K9R4T5X1N0PA';
// A Kafka message time of 10 digits of seconds, as every time until 2286.
const at = { topic: 'customerio.track', partition: 0, offset: '7', timestamp: '1716402912000', key: null };
const OUTPUTS: TrackOutput[] = [
  { api: 'track', convertDates: false },
  { api: 'track', convertDates: true },
  { api: 'pipelines', convertDates: false },
  { api: 'pipelines', convertDates: true },
];
const TOO_LARGE = /more than Customer.io's limit/;

/** What decodeTrack does with the message under a limit: 'ok', 'too large', or another refusal. */
function decodeUnder(json: string, maxOperationBytes: number, output: TrackOutput): string {
  try {
    decodeTrack(Buffer.from(json), at, { maxOperationBytes }, output);
    return 'ok';
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return TOO_LARGE.test(error.message) ? 'too large' : 'refused';
  }
}

describe('the sent size of an operation, as computed at the edge', () => {
  it.each(Object.entries(operationExamples()))(
    'is the largest item the worker sends, on every output: %s',
    (_name, op) => {
      const { timestamp: _t, ...untimed } = op;
      for (const variant of [op, { ...op, id: undefined }, untimed, { ...untimed, id: undefined }]) {
        const json = JSON.stringify(variant);
        const sent = sentOperationBytes(variant as TrackOperation);
        const results = OUTPUTS.map((output) => decodeUnder(json, sent, output));
        expect(results).not.toContain('too large');
        // Exact: one byte less, and some output refuses it as too large.
        const below = OUTPUTS.map((output) => decodeUnder(json, sent - 1, output));
        expect(below).toContain('too large');
      }
    },
  );

  it('lets through nothing that the worker then refuses as too large, on any output', () => {
    const who = fc.oneof(
      fc.record({ identifiers: fc.constant({ id: 'person-1' }) }),
      fc.record({ identifiers: fc.constant({ email: `${'e'.repeat(80)}@example.com` }) }),
      fc.record({ identifiers: fc.constant({ cio_id: 'a3000001' }) }),
    );
    const char = fc.constantFrom('x', 'é', '"', '\u2028', '😀', '\n');
    const timestamp = fc.option(
      fc.oneof(
        fc.constant('2026-01-01T00:00:00Z'),
        fc.constant('2026-01-01T00:00:00.123+02:00'),
        fc.constant(0),
      ),
      { nil: undefined },
    );
    // Attribute values are at most 1000 bytes: `bytes` spread over many of them, some dates.
    const escaped = (c: string) => Buffer.byteLength(JSON.stringify(c)) - 2;
    const values = (bytes: number, c: string) => {
      const per = Math.floor(900 / escaped(c));
      const out: Record<string, unknown> = {
        when: '2026-01-01T00:00Z',
        since: '1999-12-31 23:59:59.5+01:00',
      };
      for (let i = 0; bytes > 0; i++) {
        const n = Math.min(per, Math.ceil(bytes / escaped(c)));
        out[`a${i}`] = c.repeat(n);
        bytes -= n * escaped(c) + 10;
      }
      return out;
    };
    const blob = (bytes: number, c: string) => ({
      when: '2026-01-01T00:00:00Z',
      blob: c.repeat(Math.floor(bytes / escaped(c))),
    });
    const kind = fc.constantFrom(
      'event',
      'page',
      'screen',
      'identify',
      'anonymous_event',
      'anonymous_page',
      'object_identify',
      'object_add_relationships',
      'identify_relationships',
    );
    const relationships = (n: number, bytes: number, c: string) =>
      Array.from({ length: n }, (_, i) => ({
        identifiers: i % 2 === 0 ? { id: `person-${i}` } : { email: `p${i}@example.com` },
        relationship_attributes: values(bytes / n, c),
      }));
    // `pad` (ASCII) fine-tunes the size: it goes into every item the operation becomes.
    const build = (
      k: string,
      base: Record<string, unknown>,
      bytes: number,
      c: string,
      pad: string,
    ): Record<string, unknown> => {
      switch (k) {
        case 'event':
          return { ...base, name: 'page_viewed', data: { ...blob(bytes, c), pad } };
        case 'page':
        case 'screen':
          return { ...base, action: k, name: '/rewards', data: { ...blob(bytes, c), pad } };
        case 'identify':
          return {
            ...base,
            action: 'identify',
            anonymous_id: 'anon-1',
            attributes: { ...values(bytes, c), pad },
          };
        case 'anonymous_event':
          return {
            anonymous_id: 'anon-7f3c',
            timestamp: base.timestamp,
            name: 'viewed',
            data: { ...blob(bytes, c), pad },
          };
        case 'anonymous_page':
          return {
            anonymous_id: 'anon-7f3c',
            action: 'page',
            name: '/pricing',
            data: { ...blob(bytes, c), pad },
          };
        case 'object_identify':
          return {
            type: 'object',
            action: 'identify',
            identifiers: { object_type_id: '1', object_id: 'acme' },
            timestamp: base.timestamp,
            attributes: { ...values(bytes * 0.8, c), pad },
            cio_relationships: relationships(3, bytes * 0.2, c),
          };
        case 'object_add_relationships':
          return {
            type: 'object',
            action: 'add_relationships',
            identifiers: { object_type_id: '2', object_id: 'household-9' },
            cio_relationships: relationships(20, bytes * 0.75, c).map((r) => ({
              ...r,
              relationship_attributes: { ...r.relationship_attributes, pad },
            })),
          };
        default:
          return {
            ...base,
            action: 'identify',
            attributes: { ...values(bytes * 0.47, c), pad },
            cio_relationships: [
              {
                identifiers: { object_type_id: '1', object_id: 'acme' },
                relationship_attributes: values(bytes * 0.47, c),
              },
            ],
          };
      }
    };
    const size = fc.integer({ min: LIMITS.operationBytes - 1200, max: LIMITS.operationBytes - 100 });
    // A few bytes either side of what the edge accepts.
    const slack = fc.integer({ min: -6, max: 6 });
    const sized = (op: Record<string, unknown>) => sentOperationBytes(op as TrackOperation);
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        kind,
        who,
        timestamp,
        size,
        char,
        slack,
        fc.boolean(),
        (k, person, time, bytes, c, off, withId) => {
          const base = { ...person, ...(time === undefined ? {} : { timestamp: time }) };
          const shaped = (pad: number) => {
            const op = build(k, base, bytes, c, 'p'.repeat(pad));
            if (op.timestamp === undefined) delete op.timestamp;
            return op;
          };
          const start = sized(shaped(0));
          const slope = (sized(shaped(100)) - start) / 100;
          const pad = Math.round((LIMITS.operationBytes + off - start) / slope);
          const op = shaped(Math.max(0, Math.min(pad, 950)));
          const edge = validateTrackOperationJson(op);
          if (!edge.ok) {
            refused++;
            return true;
          }
          accepted++;
          const json = withId ? jsonWithId(edge.json, ID) : edge.json;
          for (const output of OUTPUTS) {
            expect([k, output, decodeUnder(json, LIMITS.operationBytes, output)]).not.toEqual([
              k,
              output,
              'too large',
            ]);
          }
          return true;
        },
      ),
      { seed: 13, numRuns: 400 },
    );
    // Near the limit on both sides: the property saw accepted and refused operations.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });
});
