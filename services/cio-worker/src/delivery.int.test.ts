import { parseV2Operation } from '@cio-bridge/cio-sandbox';
import { DLQ_HEADERS } from '@cio-bridge/contracts';
import {
  operationExamples,
  personKey,
  seedExamples,
  type TrackOperation,
  transactionalExamples,
  validateTrackOperation,
} from '@cio-bridge/schemas';
import { waitFor } from '@cio-bridge/testkit';
import { derivedOperationId } from './intake/operation';
import {
  createHarness,
  type Harness,
  type SandboxCounters,
  type SandboxOperation,
  waitForOperations,
} from './testing/integration-harness';

jest.setTimeout(90_000);

let sequence = 0;
/** A fresh ULID, as the producer would assign. */
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 0,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

const trackMessage = (op: TrackOperation) => ({ key: personKey(op), value: JSON.stringify(op) });

describe('cio-worker delivering to Customer.io (sandbox)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('delivers every seed event and every action with the payload Customer.io expects, and transactional sends to /send/email', async () => {
    harness = await createHarness('worker-payloads');
    const seeds = seedExamples();
    const ops = operationExamples();
    const sequenceOfOps: TrackOperation[] = [
      ops.identify!,
      ...Object.values(seeds),
      ops.add_device!,
      ops.delete_device!,
      ops.event_with_action!,
      ops.event_unknown_name!,
      ops.unsuppress!,
      ops.suppress!,
      ops.merge!,
      ops.delete!,
    ].map((op) => ({ ...op, id: newId() }));
    await harness.produce(harness.topics.track, sequenceOfOps.map(trackMessage));
    const sends = Object.values(transactionalExamples()).map((send) => ({ ...send, id: newId() }));
    await harness.produce(
      harness.topics.transactional,
      sends.map((send) => ({ key: send.to, value: JSON.stringify(send) })),
    );
    await harness.startWorker();

    const operations = await waitForOperations(
      harness,
      sequenceOfOps.map((op) => op.id!),
    );
    const byId = new Map(operations.map((op) => [op.id, op]));
    for (const op of sequenceOfOps) {
      const received = byId.get(op.id!)!;
      expect(received.action).toBe(op.action ?? 'event');
      expect(received.via).toMatch(/^v2-/);
      // Customer.io's own parser of v2 operations accepts what was sent.
      expect(parseV2Operation(received.payload)).not.toHaveProperty('reason');
    }
    for (const seed of Object.values(seeds)) {
      const sent = sequenceOfOps.find((op) => op.name === seed.name && op.action === undefined)!;
      expect(byId.get(sent.id!)!.payload).toEqual({
        type: 'person',
        action: 'event',
        id: sent.id,
        identifiers: seed.identifiers,
        name: seed.name,
        timestamp: Date.parse(seed.timestamp as string) / 1000,
        attributes: seed.data,
      });
    }
    const payloadOf = (op: TrackOperation) =>
      byId.get(sequenceOfOps.find((o) => o.action === op.action)!.id!)!.payload;
    expect(payloadOf(ops.identify!)).toMatchObject({
      attributes: ops.identify!.attributes,
      timestamp: 1716402912,
    });
    expect(payloadOf(ops.add_device!)).toMatchObject({ device: ops.add_device!.device });
    expect(payloadOf(ops.delete_device!)).toMatchObject({
      device: { token: ops.delete_device!.device!.token },
    });
    expect(payloadOf(ops.merge!)).toMatchObject({
      primary: ops.merge!.primary,
      secondary: ops.merge!.secondary,
    });

    // One person's operations arrived in the order they were produced.
    const user123 = sequenceOfOps.filter((op) => personKey(op) === 'user-123').map((op) => op.id);
    expect(operations.filter((op) => user123.includes(op.id!)).map((op) => op.id)).toEqual(user123);

    const received = await waitFor(
      async () => {
        const list =
          await harness!.admin<
            { transactional_message_id: string | number; to: string; request: Record<string, unknown> }[]
          >('/sends');
        return list.length === sends.length ? list : undefined;
      },
      { what: 'transactional sends' },
    );
    for (const send of sends) {
      const match = received.find((r) => r.transactional_message_id === send.transactional_message_id)!;
      const { id: _id, ...request } = send;
      expect(match.request).toEqual(request);
    }
    expect(await harness.deadLetters({ timeoutMs: 1_000 })).toHaveLength(0);
  });

  it('delivers everything exactly once in effect after Customer.io failed with 500 for a while, and dead-letters nothing', async () => {
    harness = await createHarness('worker-outage');
    await harness.admin('/faults', { method: 'PUT', body: { status: 500, outageMs: 3_000 } });
    const ops = Array.from({ length: 300 }, (_, i) => ({
      name: 'outage_event',
      id: newId(),
      identifiers: { id: `person-${i % 30}` },
      data: { n: i },
    }));
    await harness.produce(harness.topics.track, ops.map(trackMessage));
    await harness.startWorker();

    const operations = await waitForOperations(
      harness,
      ops.map((op) => op.id),
    );
    const counters = await harness.admin<SandboxCounters>('/counters');
    expect(counters.faults_injected).toBeGreaterThan(0);
    // Each id once: redelivered duplicates were recognised by their id.
    const ids = operations.map((op) => op.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(ops.map((op) => op.id).sort());
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  });

  it('stays within its budget where Customer.io enforces the same limit, and backs off where the limit is lower, dead-lettering nothing', async () => {
    harness = await createHarness('worker-429', { rateLimitRps: 20 });
    const ops = Array.from({ length: 400 }, (_, i) => ({
      name: 'limited_event',
      id: newId(),
      identifiers: { id: `person-${i % 80}` },
    }));
    await harness.produce(harness.topics.track, ops.map(trackMessage));
    // Five operations per request: 80 requests, about 4 s at 20 requests/s.
    await harness.startWorker({ rps: 20, tuning: { maxBatchOperations: 5 } });
    await waitForOperations(
      harness,
      ops.map((op) => op.id),
    );
    const within = await harness.admin<SandboxCounters>('/counters');
    expect(within.requests).toBeGreaterThanOrEqual(80);
    expect(within.rate_limited).toBeLessThanOrEqual(Math.ceil(within.requests * 0.05));

    // Customer.io's limit drops below the configured budget: 429s, back-off, still everything delivered.
    await harness.admin('/rate-limit', { method: 'PUT', body: { rps: 5 } });
    const more = Array.from({ length: 200 }, (_, i) => ({
      name: 'limited_event',
      id: newId(),
      identifiers: { id: `person-${i % 80}` },
    }));
    await harness.produce(harness.topics.track, more.map(trackMessage));
    await waitForOperations(
      harness,
      more.map((op) => op.id),
      60_000,
    );
    const after = await harness.admin<SandboxCounters>('/counters');
    const requests = after.requests - within.requests;
    const limited = after.rate_limited - within.rate_limited;
    expect(limited).toBeGreaterThan(0);
    // It slowed down instead of hammering: most requests were accepted.
    expect(limited).toBeLessThan(requests / 2);
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  });

  it('dead-letters the one operation Customer.io rejects with 400, with every header, and delivers the others', async () => {
    harness = await createHarness('worker-400');
    // Customer.io refuses a blank event name; the schema (minLength 1) lets it through.
    const bad = { name: '   ', id: newId(), identifiers: { id: 'person-bad' }, data: { n: 1 } };
    expect(validateTrackOperation(bad).ok).toBe(true);
    const good = Array.from({ length: 50 }, (_, i) => ({
      name: 'fine_event',
      id: newId(),
      identifiers: { id: `person-${i % 10}` },
    }));
    await harness.produce(harness.topics.track, good.slice(0, 25).map(trackMessage));
    const badValue = Buffer.from(JSON.stringify(bad));
    const badAt = await harness.produceOne(harness.topics.track, {
      key: 'person-bad',
      value: badValue,
      headers: { 'x-trace': 'keep-me' },
    });
    await harness.produce(harness.topics.track, good.slice(25).map(trackMessage));
    await harness.startWorker();

    await waitForOperations(
      harness,
      good.map((op) => op.id),
    );
    const letters = await harness.deadLetters({ count: 1, timeoutMs: 20_000, settleMs: 1_500 });
    expect(letters).toHaveLength(1);
    const letter = letters[0]!;
    expect(letter.key?.toString()).toBe('person-bad');
    expect(Buffer.compare(letter.value!, badValue)).toBe(0);
    const headers = Object.fromEntries(Object.entries(letter.headers ?? {}).map(([k, v]) => [k, String(v)]));
    for (const name of Object.values(DLQ_HEADERS)) expect(headers[name]).toMatch(/.+/);
    expect(headers).toMatchObject({
      'x-trace': 'keep-me',
      'x-dlq-original-topic': harness.topics.track,
      'x-dlq-original-partition': String(badAt.partition),
      'x-dlq-original-offset': badAt.offset,
      'x-dlq-consumer-group': harness.groupId,
      'x-dlq-error-class': 'http_4xx',
      'x-dlq-http-status': '400',
      'x-dlq-attempts': '1',
    });
    expect(headers['x-dlq-error-message']).toContain('name');
    expect(Number(headers['x-dlq-original-timestamp'])).toBeGreaterThan(0);
    expect(Date.parse(headers['x-dlq-last-failed-at']!)).toBeGreaterThanOrEqual(
      Date.parse(headers['x-dlq-first-failed-at']!),
    );
    const operations = await harness.admin<SandboxOperation[]>('/operations');
    expect(operations.some((op) => op.id === bad.id)).toBe(false);
  });

  it('keeps each person’s operations in produced order despite random transient failures', async () => {
    harness = await createHarness('worker-order');
    await harness.admin('/faults', { method: 'PUT', body: { status: 503, rate: 0.3 } });
    const people = 60;
    const perPerson = 8;
    const ops: TrackOperation[] = [];
    for (let seq = 0; seq < perPerson; seq++) {
      for (let p = 0; p < people; p++) {
        ops.push({ name: 'ordered_event', id: newId(), identifiers: { id: `person-${p}` }, data: { seq } });
      }
    }
    await harness.produce(harness.topics.track, ops.map(trackMessage));
    await harness.startWorker({ tuning: { maxBatchOperations: 20 } });

    const operations = await waitForOperations(
      harness,
      ops.map((op) => op.id!),
      60_000,
    );
    const counters = await harness.admin<SandboxCounters>('/counters');
    expect(counters.faults_injected).toBeGreaterThan(0);
    const expectedIds = new Map<string, string[]>();
    for (const op of ops) {
      const person = op.identifiers!.id!;
      expectedIds.set(person, [...(expectedIds.get(person) ?? []), op.id!]);
    }
    for (const [person, ids] of expectedIds) {
      const arrived = operations.filter((op) => op.identifiers.id === person).map((op) => op.id);
      expect(arrived).toEqual(ids);
    }
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  });

  it('pauses while Customer.io answers 401, reports not ready, dead-letters nothing, and delivers everything once the credentials work', async () => {
    harness = await createHarness('worker-401');
    await harness.admin('/credentials', { method: 'PUT', body: { apiKey: 'rotated-key' } });
    const ops = Array.from({ length: 100 }, (_, i) => ({
      name: 'auth_event',
      id: newId(),
      identifiers: { id: `person-${i % 20}` },
    }));
    await harness.produce(harness.topics.track, ops.map(trackMessage));
    const worker = await harness.startWorker();
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${worker.port}/readyz`);
      return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
    };

    await waitFor(async () => (await readyz()).status === 503, { what: 'not ready' });
    const notReady = await readyz();
    expect(notReady.body.checks.customerio).toBe('failing');
    await waitFor(async () => (await harness!.admin<SandboxCounters>('/counters')).unauthorized >= 3, {
      what: 'several probes',
    });
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/cio_bridge_worker_auth_failures_total\{[^}]*api="track"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/cio_bridge_worker_credentials_rejected\{[^}]*api="track"[^}]*\} 1/);
    expect((await harness.admin<SandboxCounters>('/counters')).accepted).toBe(0);
    expect(await harness.deadLetters({ timeoutMs: 1_000 })).toHaveLength(0);

    await harness.admin('/credentials', { method: 'PUT', body: { apiKey: 'it-track-key' } });
    await waitForOperations(
      harness,
      ops.map((op) => op.id),
    );
    await waitFor(async () => (await readyz()).status === 200, { what: 'ready again' });
    expect(await harness.deadLetters({ timeoutMs: 1_500 })).toHaveLength(0);
  });
});
