// The producer checks Customer.io's 32 KB limit with sentOperationBytes, a prediction
// of the size of what this worker sends. These tests tie the prediction to the
// worker's real mapping (toV2Operation): never smaller, exact for the common shapes.
import {
  LIMITS,
  operationExamples,
  sentOperationBytes,
  type TrackOperation,
  validateTrackOperationJson,
} from '@cio-bridge/schemas';
import fc from 'fast-check';
import { decodeTrack, toV2Operation } from './operation';

const ID = '01HZY3J8W6Q2V7K9R4T5X1N0PA';
const at = { topic: 'customerio.track', partition: 0, offset: '7', timestamp: '1716402912000', key: null };
const limits = { maxOperationBytes: LIMITS.operationBytes };
const bytesOf = (text: string) => Buffer.byteLength(text, 'utf8');
const sentBytes = (op: TrackOperation) => bytesOf(JSON.stringify(toV2Operation(op, op.id ?? ID)));

describe('the sent size of an operation, as predicted at the edge', () => {
  it.each(Object.entries(operationExamples()))(
    'is never less than what the worker sends: %s',
    (_name, op) => {
      for (const variant of [op, { ...op, id: undefined }]) {
        const json = JSON.stringify(variant);
        expect(sentOperationBytes(variant, bytesOf(json))).toBeGreaterThanOrEqual(sentBytes(variant));
      }
    },
  );

  it('is exact for events and identifies', () => {
    const data = fc.dictionary(
      fc.string({ maxLength: 10 }),
      fc.oneof(fc.string(), fc.integer(), fc.boolean()),
      {
        maxKeys: 5,
      },
    );
    const operation = fc.oneof(
      fc.record(
        {
          name: fc.string({ minLength: 1, maxLength: 20 }),
          data,
          timestamp: fc
            .date({ min: new Date('1971-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
            .map((date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z')),
        },
        { requiredKeys: ['name'] },
      ),
      fc.record(
        {
          action: fc.constant('identify'),
          attributes: data,
          timestamp: fc.integer({ min: 0, max: 2 ** 31 }),
        },
        { requiredKeys: ['action'] },
      ),
    );
    fc.assert(
      fc.property(operation, fc.boolean(), (fields, withId) => {
        const op = {
          ...fields,
          identifiers: { id: 'person-1' },
          ...(withId ? { id: ID } : {}),
        } as TrackOperation;
        return sentOperationBytes(op, bytesOf(JSON.stringify(op))) === sentBytes(op);
      }),
      { seed: 13, numRuns: 300 },
    );
  });

  it('lets through nothing that the worker then refuses as too large', () => {
    const size = fc.integer({ min: LIMITS.operationBytes - 400, max: LIMITS.operationBytes });
    fc.assert(
      fc.property(size, fc.constantFrom('x', 'é', '"'), fc.boolean(), (length, char, withTime) => {
        const op = {
          name: 'page_viewed',
          identifiers: { email: 'someone@example.com' },
          ...(withTime ? { timestamp: '2026-01-01T00:00:00Z' } : {}),
          data: { blob: char.repeat(Math.floor(length / (char === 'x' ? 1 : 2))) },
        };
        const edge = validateTrackOperationJson(op);
        if (!edge.ok) return true;
        decodeTrack(Buffer.from(edge.json), at, limits);
        return true;
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});
