// replay, --max-replays, the stale-identify guard, purge and confirmation, over dead
// letters the real cio-worker wrote when the Customer.io sandbox answered 400.
import { headerString, headersToStrings } from '@cio-bridge/kafka';
import { waitFor } from '@cio-bridge/testkit';
import type { AuditRecord } from './state';
import { type Harness, startHarness, ulid } from './testing/harness';

jest.setTimeout(120_000);

let h: Harness;
const ids: Record<string, string> = {};
const op = (name: string, value: Record<string, unknown>) => {
  ids[name] = ulid();
  return { id: ids[name], ...value };
};

async function deliveredIds(): Promise<Set<string>> {
  return new Set((await h.operations()).map((o) => o.id).filter((id): id is string => id !== null));
}

const waitDelivered = (names: string[]) =>
  waitFor(
    async () => {
      const delivered = await deliveredIds();
      return names.every((n) => delivered.has(ids[n]!));
    },
    { timeoutMs: 30_000, what: `Customer.io (the sandbox) to receive ${names.join(', ')}` },
  );

/** Track messages that a replay wrote (they carry x-replayed-from). */
async function replayedCopies() {
  return (await h.readAll(h.names.track)).filter(
    (m) => headerString(m.headers, 'x-replayed-from') !== undefined,
  );
}

async function auditRecords(): Promise<AuditRecord[]> {
  return (await h.readAll(`${h.names.dlq}.audit`)).map((m) => JSON.parse(m.value!.toString()) as AuditRecord);
}

async function listJson(...args: string[]) {
  const { code, stdout } = await h.cli(['list', '--json', '--reveal', ...args]);
  expect(code).toBe(0);
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(
      (line) => JSON.parse(line) as { coordinate: string; key: string; state: string; replayCount: number },
    );
}

beforeAll(async () => {
  h = await startHarness('dlq-replay');
  await h.faults({ status: 400, rate: 1 });
  const event = (name: string, event: string, person: string) => ({
    key: person,
    value: op(name, { name: event, identifiers: { id: person }, data: { n: name } }),
  });
  const identify = (name: string, person: string, timestamp: string, plan: string) => ({
    key: person,
    value: op(name, { action: 'identify', identifiers: { id: person }, attributes: { plan }, timestamp }),
  });
  await h.produce([
    ...['r1', 'r2', 'r3', 'r4', 'r5'].map((n) => event(n, 'replay_me', `r-${n}`)),
    event('m1', 'bounce_me', 'm-1'),
    identify('s1', 's-1', '2024-05-22T10:00:00Z', 'bronze'),
    identify('s2', 's-2', '2024-05-22T10:00:00Z', 'bronze'),
    identify('s3a', 's-3', '2024-05-22T10:00:00Z', 'bronze'),
    identify('s3b', 's-3', '2024-05-22T11:00:00Z', 'gold'),
    event('p1', 'purge_me', 'p-1'),
    event('p2', 'purge_me', 'p-2'),
    event('c1', 'confirm_me', 'c-1'),
    event('t1', 'redirect_me', 't-1'),
    ...['i1', 'i2', 'i3', 'i4', 'i5'].map((n) => event(n, 'interrupt_me', `i-${n}`)),
  ]);
  await h.waitForCount(h.names.dlq, 19, 'nineteen dead letters after 400s');
  await h.faults(null);
  // Delivered after the failures: a newer identify for s-1, and only an event for s-2.
  await h.produce([
    identify('s1-newer', 's-1', '2024-05-22T11:00:00Z', 'gold'),
    event('s2-event', 'logged_in', 's-2'),
  ]);
  await waitDelivered(['s1-newer', 's2-event']);
});

afterAll(async () => {
  await h?.close();
});

describe('replay', () => {
  it('delivers to Customer.io with ids unchanged, resumes, and never resends what it replayed', async () => {
    const dlqValues = new Map(
      (await h.readAll(h.names.dlq)).map((m) => [`${h.names.dlq}:${m.partition}:${m.offset}`, m.value!]),
    );
    const first = await h.cli(['replay', '--event', 'replay_me', '--limit', '2', '--rate', '1000', '--yes']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      new RegExp(`^replayed 2 messages to ${h.names.track.replaceAll('.', '\\.')} in `),
    );
    const second = await h.cli(['replay', '--event', 'replay_me', '--yes']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^replayed 3 messages to .*; 2 already replayed or purged in /);
    await waitDelivered(['r1', 'r2', 'r3', 'r4', 'r5']);

    const copies = await replayedCopies();
    expect(copies).toHaveLength(5);
    for (const copy of copies) {
      const headers = headersToStrings(copy.headers);
      expect(headers['x-replay-count']).toBe('1');
      expect(Object.keys(headers).filter((name) => name.startsWith('x-dlq-'))).toEqual([]);
      // the dead letter's value byte for byte, so the operation id is the one Customer.io saw first
      expect(copy.value!.equals(dlqValues.get(headers['x-replayed-from']!)!)).toBe(true);
    }
    const sandboxIds = (await h.operations()).filter((o) => o.name === 'replay_me').map((o) => o.id);
    expect(new Set(sandboxIds)).toEqual(new Set(['r1', 'r2', 'r3', 'r4', 'r5'].map((n) => ids[n])));

    const offsets = await h.endOffsets(h.names.track);
    const third = await h.cli(['replay', '--event', 'replay_me', '--yes']);
    expect(third.code).toBe(0);
    expect(third.stdout).toBe(`nothing to replay in ${h.names.dlq} (5 already replayed or purged)\n`);
    expect(await h.endOffsets(h.names.track)).toEqual(offsets);

    expect(await listJson('--event', 'replay_me')).toEqual([]);
    const all = await listJson('--event', 'replay_me', '--all');
    expect(all.map((r) => r.state)).toEqual(Array(5).fill('replayed'));
    const stats = await h.cli(['stats']);
    expect(stats.stdout).toContain('(not counted: replayed 5; --all counts them)');

    const audits = (await auditRecords()).filter((a) => a.type === 'replay');
    expect(audits.map((a) => a.count)).toEqual([2, 3]);
    expect(audits[0]).toMatchObject({
      who: 'sre-on-call@test',
      dlqTopic: h.names.dlq,
      filter: { event: ['replay_me'], limit: 2 },
      to: h.names.track,
      options: { rate: 1000, maxReplays: 3, force: false },
    });
  });

  it('refuses to replay an operation more often than --max-replays', async () => {
    // Customer.io still refuses it: the worker dead-letters the replayed copy again.
    await h.faults({ status: 400, rate: 1 });
    const replayed = await h.cli(['replay', '--customer', 'm-1', '--yes']);
    expect(replayed.stdout).toMatch(/^replayed 1 message to /);
    await h.waitForCount(h.names.dlq, 20, 'the replayed copy dead-lettered again');
    await h.faults(null);
    const [again] = await listJson('--customer', 'm-1');
    expect(again).toMatchObject({ replayCount: 1, state: 'pending' });

    const offsets = await h.endOffsets(h.names.track);
    const refused = await h.cli(['replay', '--customer', 'm-1', '--max-replays', '1', '--yes']);
    expect(refused.code).toBe(0);
    expect(refused.stdout).toBe(
      `nothing to replay in ${h.names.dlq} (skipped 1: 1 over --max-replays; 1 already replayed or purged)\n`,
    );
    const dry = await h.cli(['replay', '--customer', 'm-1', '--max-replays', '1', '--dry-run']);
    expect(dry.stdout).toContain('skip: replayed 1 time already (--max-replays 1)');
    expect(await h.endOffsets(h.names.track)).toEqual(offsets);

    const allowed = await h.cli(['replay', '--customer', 'm-1', '--max-replays', '2', '--yes']);
    expect(allowed.stdout).toMatch(/^replayed 1 message to /);
    await waitDelivered(['m1']);
    const copies = (await replayedCopies()).filter((m) => m.key!.toString() === 'm-1');
    expect(copies.map((m) => headerString(m.headers, 'x-replay-count'))).toEqual(['1', '2']);
  });
});

describe('the stale-identify guard', () => {
  it('skips an identify older than a newer one delivered since, unless --force', async () => {
    const dry = await h.cli(['replay', '--action', 'identify', '--dry-run', '--json', '--reveal']);
    expect(dry.code).toBe(0);
    const verdicts = Object.fromEntries(
      dry.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .map((r) => [r.operationId, [r.verdict, r.reason]]),
    );
    expect(verdicts).toEqual({
      // a newer identify for s-1 was delivered after it failed
      [ids.s1!]: ['skip', 'stale-identify'],
      // only an event came later for s-2
      [ids.s2!]: ['replay', null],
      // the newer identify for s-3 failed too: both go, in order
      [ids.s3a!]: ['replay', null],
      [ids.s3b!]: ['replay', null],
    });
    expect(dry.stdout).toContain(`newer identify ${ids['s1-newer']} at ${h.names.track}`);

    const offsets = await h.endOffsets(h.names.track);
    const skipped = await h.cli(['replay', '--action', 'identify', '--customer', 's-1', '--yes']);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toBe(
      `nothing to replay in ${h.names.dlq} (skipped 1: 1 stale identify (--force replays them))\n`,
    );
    expect(await h.endOffsets(h.names.track)).toEqual(offsets);

    const rest = await h.cli(['replay', '--action', 'identify', '--yes']);
    expect(rest.stdout).toMatch(/^replayed 3 messages to .*; skipped 1: 1 stale identify/);
    await waitDelivered(['s2', 's3a', 's3b']);
    const s3 = (await h.operations('s-3')).map((o) => o.id);
    expect(s3.indexOf(ids.s3a!)).toBeLessThan(s3.indexOf(ids.s3b!));
    expect((await deliveredIds()).has(ids.s1!)).toBe(false);

    const forced = await h.cli(['replay', '--action', 'identify', '--customer', 's-1', '--force', '--yes']);
    expect(forced.stdout).toMatch(/^replayed 1 message to /);
    await waitDelivered(['s1']);
  });
});

describe('purge', () => {
  it('marks messages handled after confirmation and writes an audit record', async () => {
    const started = Date.now();
    const coordinates = (await listJson('--event', 'purge_me')).map((r) => r.coordinate);
    expect(coordinates).toHaveLength(2);
    const declined = await h.cli(['purge', '--event', 'purge_me'], {
      terminal: true,
      confirm: async () => false,
    });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain('aborted: nothing was purged');
    expect(await listJson('--event', 'purge_me')).toHaveLength(2);

    const purged = await h.cli(['purge', '--event', 'purge_me', '--yes', '--reason', 'known bad batch']);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toMatch(
      new RegExp(
        `^purged 2 messages from ${h.names.dlq.replaceAll('.', '\\.')} \\(run \\S+; audit record in `,
      ),
    );
    expect(await listJson('--event', 'purge_me')).toEqual([]);
    expect((await listJson('--event', 'purge_me', '--all')).map((r) => r.state)).toEqual([
      'purged',
      'purged',
    ]);
    const shown = await h.cli(['show', coordinates[0]!]);
    expect(shown.stdout).toMatch(/state:\s+purged by sre-on-call@test at /);

    const [audit] = (await auditRecords()).filter((a) => a.type === 'purge');
    expect(audit).toMatchObject({
      who: 'sre-on-call@test',
      dlqTopic: h.names.dlq,
      filter: { event: ['purge_me'] },
      count: 2,
      reason: 'known bad batch',
    });
    expect(Date.parse(audit!.when)).toBeGreaterThanOrEqual(started - 1_000);

    const offsets = await h.endOffsets(h.names.track);
    const replay = await h.cli(['replay', '--event', 'purge_me', '--yes']);
    expect(replay.stdout).toBe(`nothing to replay in ${h.names.dlq} (2 already replayed or purged)\n`);
    expect(await h.endOffsets(h.names.track)).toEqual(offsets);
  });
});

describe('on a terminal', () => {
  it('asks before replaying and shows progress', async () => {
    const questions: string[] = [];
    const offsets = await h.endOffsets(h.names.track);
    const declined = await h.cli(['replay', '--event', 'confirm_me'], {
      terminal: true,
      confirm: async (question) => {
        questions.push(question);
        return false;
      },
    });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toBe('aborted: nothing was replayed\n');
    expect(questions).toEqual([`Replay 1 message from ${h.names.dlq} to ${h.names.track}?`]);
    expect(await h.endOffsets(h.names.track)).toEqual(offsets);

    const accepted = await h.cli(['replay', '--event', 'confirm_me'], {
      terminal: true,
      confirm: async () => true,
    });
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toContain('replaying [');
    expect(accepted.stdout).toMatch(/^replayed 1 message to /);
    await waitDelivered(['c1']);
  });
});

describe('replay --to', () => {
  it('publishes to another topic, which must exist', async () => {
    const missing = await h.cli([
      'replay',
      '--event',
      'redirect_me',
      '--to',
      `${h.names.track}-nope`,
      '--yes',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`cio-dlq: --to topic ${h.names.track}-nope does not exist on the cluster\n`);

    const target = `${h.names.track}-redirect`;
    const admin = h.kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: target, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const redirected = await h.cli(['replay', '--event', 'redirect_me', '--to', target, '--yes']);
    expect(redirected.stdout).toMatch(
      new RegExp(`^replayed 1 message to ${target.replaceAll('.', '\\.')} in `),
    );
    const [copy, ...more] = await h.readAll(target);
    expect(more).toEqual([]);
    expect(copy!.key!.toString()).toBe('t-1');
    expect(JSON.parse(copy!.value!.toString()).id).toBe(ids.t1);
    expect(headerString(copy!.headers, 'x-replay-count')).toBe('1');
  });
});

describe('Ctrl-C during a replay', () => {
  it('stops cleanly, and the next run replays exactly the rest', async () => {
    const interrupted = await h.cli(['replay', '--event', 'interrupt_me', '--rate', '10', '--yes'], {
      // Ctrl-C as soon as replaying starts
      onInterrupt: (handler) => {
        setImmediate(handler);
        return () => {};
      },
    });
    expect(interrupted.code).toBe(1);
    const done = Number(
      // --yes streams: it publishes while reading, without counting first
      /interrupted after (\d) messages? \(run \S+\); run the same command again/.exec(
        interrupted.stderr,
      )?.[1],
    );
    expect(done).toBeLessThan(5);
    expect(interrupted.stderr.trimEnd().split('\n').at(-1)).toMatch(/^cio-dlq: interrupted after /);

    const rest = await h.cli(['replay', '--event', 'interrupt_me', '--yes']);
    expect(rest.code).toBe(0);
    expect(rest.stdout).toMatch(new RegExp(`^replayed ${5 - done} messages? to `));
    const copies = (await replayedCopies()).filter((m) => m.key!.toString().startsWith('i-'));
    expect(copies.map((m) => m.key!.toString()).sort()).toEqual(['i-i1', 'i-i2', 'i-i3', 'i-i4', 'i-i5']);
    const audit = (await auditRecords()).filter(
      (a) => a.filter.event && (a.filter.event as string[])[0] === 'interrupt_me',
    );
    expect(audit.map((a) => [a.count, a.options?.interrupted ?? false])).toEqual([
      [done, true],
      [5 - done, false],
    ]);
  });
});
