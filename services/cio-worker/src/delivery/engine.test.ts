import { setTimeout as sleep } from 'node:timers/promises';
import { testLogger, waitFor } from '@cio-bridge/testkit';
import { Registry } from 'prom-client';
import { DeliveryError, ValidationError } from '../errors';
import { ApiHealth } from '../health/api-health';
import { Faults } from '../health/faults';
import { createWorkerMetrics } from '../metrics';
import { type Channel, type DeadLetter, DeliveryEngine, type EngineOptions, type Item } from './engine';
import type { RequestBudget } from './rate-limit';

interface Sent {
  person: string;
  seq: number;
}

const parse = (body: Buffer): Sent => JSON.parse(body.toString()) as Sent;

function item(person: string, seq: number, settled: Item[], revoked = () => false): Item {
  const source = {
    get revoked() {
      return revoked();
    },
    finish: () => settled.push(it),
  };
  const body = Buffer.from(JSON.stringify({ person, seq }));
  const it: Item = {
    envelope: {
      topic: 't',
      partition: 0,
      offset: String(seq),
      timestamp: '1700000000000',
      key: Buffer.from(person),
      value: body,
      headers: {},
    },
    op: { person, body, bytes: body.length, action: 'event', event: 'e' },
    attempts: 0,
    single: false,
    state: 'queued',
    source,
  };
  return it;
}

class FakeBudget implements RequestBudget {
  throttles: number[] = [];
  async reserve() {
    return 0;
  }
  async throttled(ms: number) {
    this.throttles.push(ms);
  }
  currentRps() {
    return 100;
  }
  pausedUntil() {
    return 0;
  }
  perSecond() {
    return 1_000;
  }
}

/** A channel that records what Customer.io accepted, in order, and answers as `decide` says. */
function fakeChannel(
  decide: {
    batch?: (items: Sent[]) => Map<number, DeliveryError> | DeliveryError | undefined;
    one?: (item: Sent) => DeliveryError | undefined;
  } = {},
) {
  const accepted: Sent[] = [];
  const requests: { kind: 'batch' | 'one'; items: Sent[] }[] = [];
  const channel: Channel = {
    api: 'track',
    async sendBatch(bodies) {
      await new Promise((resolve) => setImmediate(resolve));
      const items = bodies.map(parse);
      requests.push({ kind: 'batch', items });
      const answer = decide.batch?.(items);
      if (answer instanceof DeliveryError) throw answer;
      items.forEach((sent, index) => {
        if (!answer?.has(index)) accepted.push(sent);
      });
      return answer ?? new Map();
    },
    async sendOne(body) {
      await new Promise((resolve) => setImmediate(resolve));
      const sent = parse(body);
      requests.push({ kind: 'one', items: [sent] });
      const failure = decide.one?.(sent);
      if (failure) throw failure;
      accepted.push(sent);
    },
  };
  return { channel, accepted, requests };
}

/** The fault events of the engine's API, as the names the assertions use. */
function faultEvents(events: string[], names: Partial<Record<string, string>>): Faults {
  const faults = new Faults();
  faults.subscribe((event) => {
    const name = names[`${event.kind}:${event.raised ? 'raised' : 'cleared'}`];
    if (name) events.push(name);
  });
  return faults;
}

function engineWith(
  channel: Channel,
  { faults = new Faults(), ...overrides }: Partial<EngineOptions> & { faults?: Faults } = {},
) {
  const letters: DeadLetter[] = [];
  const budget = (overrides.budget as FakeBudget | undefined) ?? new FakeBudget();
  const metrics = createWorkerMetrics(new Registry());
  const logger = testLogger();
  const engine = new DeliveryEngine({
    channel,
    budget,
    deadLetter: async (letter) => {
      letters.push(letter);
    },
    retry: { maxAttempts: 5, maxRetryMs: 60_000, retryBaseMs: 1, retryMaxMs: 5 },
    metrics,
    logger,
    health: new ApiHealth({ api: channel.api, metrics, logger, faults }),
    concurrency: 4,
    maxBatchOperations: 50,
    maxBatchBytes: 500_000,
    authProbeMinMs: 5,
    authProbeMaxMs: 20,
    defaultRetryAfterMs: 5,
    endpointVerdictMs: 20,
    ...overrides,
  });
  engine.start();
  return { engine, letters, budget };
}

const byPerson = (sent: Sent[]) => {
  const out = new Map<string, number[]>();
  for (const s of sent) out.set(s.person, [...(out.get(s.person) ?? []), s.seq]);
  return out;
};

const serverError = () => new DeliveryError('http_5xx', 'Customer.io answered 500', true, 500);
const badRequest = (m = 'bad') => new DeliveryError('http_4xx', `Customer.io answered 400: ${m}`, false, 400);

describe('DeliveryEngine', () => {
  let stopEngine: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stopEngine?.();
    stopEngine = undefined;
  });

  it('delivers every operation, many people per request and one operation per person per request', async () => {
    const { channel, accepted, requests } = fakeChannel();
    const { engine, letters } = engineWith(channel);
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    for (let seq = 0; seq < 5; seq++) for (let p = 0; p < 40; p++) engine.add(item(`p${p}`, seq, settled));
    await waitFor(() => settled.length === 200, { what: 'all settled' });
    expect(accepted).toHaveLength(200);
    expect(letters).toHaveLength(0);
    expect(engine.buffered).toBe(0);
    expect(Math.max(...requests.map((r) => r.items.length))).toBeGreaterThan(1);
    for (const request of requests) {
      const persons = request.items.map((s) => s.person);
      expect(new Set(persons).size).toBe(persons.length);
    }
    for (const seqs of byPerson(accepted).values()) expect(seqs).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps each person in order under random transient failures, without dead letters', async () => {
    let n = 0;
    const random = () => {
      // deterministic pseudo-random sequence
      n = (n * 1103515245 + 12345) % 2 ** 31;
      return n / 2 ** 31;
    };
    const { channel, accepted } = fakeChannel({
      batch: (items) => {
        if (random() < 0.3) return serverError();
        const failures = new Map<number, DeliveryError>();
        items.forEach((_, i) => {
          if (random() < 0.1) failures.set(i, new DeliveryError('http_4xx', 'rejected in batch', false, 207));
        });
        return failures;
      },
      one: () => (random() < 0.3 ? new DeliveryError('network', 'ECONNRESET', true) : undefined),
    });
    const { engine, letters } = engineWith(channel, {
      retry: { maxAttempts: 1000, maxRetryMs: 600_000, retryBaseMs: 1, retryMaxMs: 3 },
    });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    for (let seq = 0; seq < 8; seq++) for (let p = 0; p < 30; p++) engine.add(item(`p${p}`, seq, settled));
    await waitFor(() => settled.length === 240, { what: 'all settled', timeoutMs: 20_000 });
    expect(letters).toHaveLength(0);
    const seen = byPerson(accepted);
    expect(seen.size).toBe(30);
    for (const seqs of seen.values()) expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('holds back a person while its earlier operation is retried, and lets others go on', async () => {
    let failuresLeft = 3;
    const { channel, accepted, requests } = fakeChannel({
      batch: (items) => {
        const a0 = items.findIndex((s) => s.person === 'a' && s.seq === 0);
        if (a0 >= 0 && failuresLeft-- > 0) return serverError();
        return undefined;
      },
    });
    const { engine } = engineWith(channel, {
      concurrency: 1,
      retry: { maxAttempts: 10, maxRetryMs: 60_000, retryBaseMs: 20, retryMaxMs: 40 },
    });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    engine.add(item('a', 0, settled));
    engine.add(item('a', 1, settled));
    for (let seq = 0; seq < 3; seq++) engine.add(item('b', seq, settled));
    await waitFor(() => settled.length === 5, { what: 'all settled' });
    // b's operations went through while a's first one was waiting for its retry.
    const a0Delivered = accepted.findIndex((s) => s.person === 'a' && s.seq === 0);
    const b2Delivered = accepted.findIndex((s) => s.person === 'b' && s.seq === 2);
    expect(b2Delivered).toBeLessThan(a0Delivered);
    // a's second operation was never sent before its first was accepted.
    const firstA1Request = requests.findIndex((r) => r.items.some((s) => s.person === 'a' && s.seq === 1));
    const a0Accepted = requests.findIndex(
      (r, i) => i > 2 && r.items.some((s) => s.person === 'a' && s.seq === 0),
    );
    expect(firstA1Request).toBeGreaterThan(a0Accepted);
    expect(byPerson(accepted).get('a')).toEqual([0, 1]);
  });

  it('sends an operation rejected inside a 207 alone, and dead-letters it when it alone is refused', async () => {
    const { channel, accepted, requests } = fakeChannel({
      batch: (items) => {
        const bad = items.findIndex((s) => s.person === 'bad');
        return new Map(bad >= 0 ? [[bad, new DeliveryError('http_4xx', 'name: blank', false, 207)]] : []);
      },
      one: (s) => (s.person === 'bad' ? badRequest('name is required') : undefined),
    });
    const { engine, letters } = engineWith(channel);
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    engine.add(item('bad', 0, settled));
    engine.add(item('bad', 1, settled));
    for (let p = 0; p < 5; p++) engine.add(item(`ok${p}`, 0, settled));
    await waitFor(() => settled.length === 7, { what: 'all settled' });
    expect(letters).toHaveLength(2);
    expect(letters.map((l) => [l.error.errorClass, l.error.status, l.attempts])).toEqual([
      ['http_4xx', 400, 1],
      ['http_4xx', 400, 1],
    ]);
    expect(letters.map((l) => parse(l.item.op!.body).seq)).toEqual([0, 1]);
    expect(requests.filter((r) => r.kind === 'one').map((r) => r.items[0]!.person)).toEqual(['bad', 'bad']);
    expect(accepted.map((s) => s.person).sort()).toEqual(['ok0', 'ok1', 'ok2', 'ok3', 'ok4']);
  });

  it('holds 404s for several people as an endpoint fault, dead-letters none of them, and resumes once a request succeeds', async () => {
    let broken = true;
    const notFound = () => new DeliveryError('http_4xx', 'Customer.io answered 404', false, 404);
    const { channel, accepted } = fakeChannel({
      batch: () => (broken ? notFound() : undefined),
      one: () => (broken ? notFound() : undefined),
    });
    const events: string[] = [];
    const { engine, letters } = engineWith(channel, {
      endpointVerdictMs: 60_000,
      faults: faultEvents(events, { 'endpoint:raised': 'fault', 'endpoint:cleared': 'recovered' }),
    });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    for (let p = 0; p < 6; p++) engine.add(item(`p${p}`, 0, settled));
    await waitFor(() => engine.endpointFaulted !== undefined, { what: 'an endpoint fault' });
    expect(engine.endpointFaulted?.status).toBe(404);
    broken = false;
    await waitFor(() => settled.length === 6, { what: 'all delivered' });
    expect(letters).toHaveLength(0);
    expect(accepted).toHaveLength(6);
    expect(events).toEqual(['fault', 'recovered']);
  });

  it('finds the culprit of a whole batch refused with 400 by sending each operation alone', async () => {
    const { channel, accepted, requests } = fakeChannel({
      batch: (items) => (items.some((s) => s.person === 'bad') ? badRequest() : undefined),
      one: (s) => (s.person === 'bad' ? badRequest() : undefined),
    });
    const { engine, letters } = engineWith(channel, { concurrency: 1 });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    for (let p = 0; p < 4; p++) engine.add(item(`ok${p}`, 0, settled));
    engine.add(item('bad', 0, settled));
    await waitFor(() => settled.length === 5, { what: 'all settled' });
    expect(letters.map((l) => l.item.op!.person)).toEqual(['bad']);
    expect(accepted.map((s) => s.person).sort()).toEqual(['ok0', 'ok1', 'ok2', 'ok3']);
    expect(requests[0]!.kind).toBe('batch');
    expect(requests.slice(1).every((r) => r.kind === 'one')).toBe(true);
  });

  it('dead-letters after the last attempt, with the attempts and failure times, and goes on with the person', async () => {
    const { channel, accepted } = fakeChannel({
      batch: (items) => (items.some((s) => s.person === 'a' && s.seq === 0) ? serverError() : undefined),
    });
    const { engine, letters } = engineWith(channel, { concurrency: 1 });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    engine.add(item('a', 0, settled));
    engine.add(item('a', 1, settled));
    await waitFor(() => settled.length === 2, { what: 'all settled' });
    expect(letters).toHaveLength(1);
    const letter = letters[0]!;
    expect(letter.attempts).toBe(5);
    expect(letter.error.errorClass).toBe('http_5xx');
    expect(letter.lastFailedAt).toBeGreaterThanOrEqual(letter.firstFailedAt);
    expect(accepted).toEqual([{ person: 'a', seq: 1 }]);
  });

  it('dead-letters an invalid message at once', async () => {
    const { channel, requests } = fakeChannel();
    const { engine, letters } = engineWith(channel);
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    const invalid = item('x', 0, settled);
    delete invalid.op;
    invalid.invalid = new ValidationError('invalid Track operation: /name is required');
    engine.add(invalid);
    await waitFor(() => settled.length === 1, { what: 'settled' });
    expect(letters.map((l) => [l.error.errorClass, l.attempts])).toEqual([['validation', 1]]);
    expect(requests).toHaveLength(0);
  });

  it('pauses on 401 without dead-lettering or counting attempts, and resumes when the credentials work', async () => {
    let rejecting = true;
    const { channel, accepted } = fakeChannel({
      batch: () => (rejecting ? new DeliveryError('http_4xx', 'Unauthorized', false, 401) : undefined),
    });
    const events: string[] = [];
    const { engine, letters } = engineWith(channel, {
      retry: { maxAttempts: 1, maxRetryMs: 60_000, retryBaseMs: 1, retryMaxMs: 1 },
      faults: faultEvents(events, { 'credentials:raised': 'rejected', 'credentials:cleared': 'accepted' }),
    });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    for (let p = 0; p < 10; p++) engine.add(item(`p${p}`, 0, settled));
    await waitFor(() => engine.credentialsRejected, { what: 'credentials rejected' });
    // Several probes fail while the key is wrong.
    await sleep(60);
    expect(settled).toHaveLength(0);
    expect(letters).toHaveLength(0);
    rejecting = false;
    await waitFor(() => settled.length === 10, { what: 'all settled' });
    expect(engine.credentialsRejected).toBe(false);
    expect(letters).toHaveLength(0);
    expect(accepted).toHaveLength(10);
    expect(events).toEqual(['rejected', 'accepted']);
  });

  it('backs off the budget on 429 with Retry-After and delivers afterwards', async () => {
    let throttle = 2;
    const { channel, accepted } = fakeChannel({
      batch: () =>
        throttle-- > 0
          ? new DeliveryError('rate_limited', 'Customer.io answered 429', true, 429, 7)
          : undefined,
    });
    const { engine, letters, budget } = engineWith(channel, { concurrency: 1 });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    engine.add(item('a', 0, settled));
    await waitFor(() => settled.length === 1, { what: 'settled' });
    expect(budget.throttles).toEqual([7, 7]);
    expect(letters).toHaveLength(0);
    expect(accepted).toHaveLength(1);
  });

  it('reserves another slot when Customer.io asked to slow down while it waited', async () => {
    const { channel } = fakeChannel();
    const budget = new FakeBudget();
    let reservations = 0;
    const pausedAnswers = [Date.now() + 60_000, 0];
    budget.reserve = async () => {
      reservations++;
      return 0;
    };
    budget.pausedUntil = () => pausedAnswers.shift() ?? 0;
    const { engine } = engineWith(channel, { budget, concurrency: 1 });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    engine.add(item('a', 0, settled));
    await waitFor(() => settled.length === 1, { what: 'settled' });
    expect(reservations).toBe(2);
  });

  it('forgets queued operations of revoked partitions without settling them', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { channel, accepted } = fakeChannel();
    const blocking: Channel = {
      ...channel,
      sendBatch: async (bodies) => {
        await gate;
        return channel.sendBatch!(bodies);
      },
    };
    const { engine } = engineWith(blocking, { concurrency: 1 });
    stopEngine = () => engine.stop(Date.now() + 1000);
    const settled: Item[] = [];
    let revoked = false;
    engine.add(item('a', 0, settled, () => revoked));
    await sleep(10);
    engine.add(item('a', 1, settled, () => revoked));
    engine.add(item('b', 0, settled, () => revoked));
    engine.add(item('c', 0, settled));
    revoked = true;
    expect(engine.dropRevoked()).toBe(2);
    release();
    await waitFor(() => settled.length === 2, { what: 'in flight and c settled' });
    expect(accepted.map((s) => `${s.person}${s.seq}`).sort()).toEqual(['a0', 'c0']);
    expect(engine.buffered).toBe(0);
  });

  it('stops within the deadline and hands back what is queued', async () => {
    const { channel } = fakeChannel({ batch: () => serverError() });
    const { engine } = engineWith(channel, {
      retry: { maxAttempts: 100, maxRetryMs: 60_000, retryBaseMs: 10_000, retryMaxMs: 10_000 },
    });
    const settled: Item[] = [];
    for (let p = 0; p < 5; p++) engine.add(item(`p${p}`, 0, settled));
    await sleep(20);
    await engine.stop(Date.now() + 2_000);
    expect(settled).toHaveLength(0);
    expect(engine.buffered).toBe(5);
  });
});
