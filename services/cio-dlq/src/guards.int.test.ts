// The replay guards against the real broker, over dead letters the real cio-worker
// wrote when the Customer.io sandbox answered 400: erasure wins (a later delete or
// suppress, including the SDK's delete-on-mute), and the stale-identify guard
// after a partial replay, with and without operation timestamps.
import { subscriptionOperations } from '@cio-bridge/sdk';
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
const identify = (name: string, person: string, plan: string, timestamp?: string) => ({
  key: person,
  value: op(name, {
    action: 'identify',
    identifiers: { id: person },
    attributes: { plan },
    ...(timestamp ? { timestamp } : {}),
  }),
});
const event = (name: string, person: string) => ({
  key: person,
  value: op(name, { name: 'page_viewed', identifiers: { id: person }, data: {} }),
});
const action = (name: string, person: string, kind: 'delete' | 'suppress') => ({
  key: person,
  value: op(name, { action: kind, identifiers: { id: person } }),
});

ids['mute-identify'] = ulid();
ids['mute-delete'] = ulid();
// The SDK's subscription lifecycle: a new subscribed member (identify), then muted (delete).
const member = 'mute-1';
const [subscribed] = subscriptionOperations({
  member,
  before: undefined,
  after: { email: true, sms: false },
});
const [muted] = subscriptionOperations({
  member,
  before: { email: true, sms: false },
  after: { email: false, sms: false },
});

const delivered = async () =>
  new Set((await h.operations()).map((o) => o.id).filter((id): id is string => id !== null));

const waitDelivered = (names: string[]) =>
  waitFor(
    async () => {
      const seen = await delivered();
      return names.every((n) => seen.has(ids[n]!));
    },
    { timeoutMs: 30_000, what: `the sandbox to receive ${names.join(', ')}` },
  );

async function dryRun(...args: string[]) {
  const result = await h.cli(['replay', '--dry-run', '--json', '--reveal', ...args]);
  expect(result.code).toBe(0);
  return result.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { operationId: string; verdict: string; reason: string | null });
}

const verdicts = async (...args: string[]) =>
  Object.fromEntries((await dryRun(...args)).map((r) => [r.operationId, r.reason ?? r.verdict]));

beforeAll(async () => {
  h = await startHarness('dlq-guards');
  await h.faults({ status: 400, rate: 1 });
  await h.produce([
    identify('del-identify', 'del-1', 'gold'),
    event('del-event', 'del-1'),
    event('sup-event', 'sup-1'),
    identify('sup-identify', 'sup-1', 'gold'),
    { key: member, value: { id: ids['mute-identify'], ...subscribed } },
    identify('ts-a', 'ts-1', 'bronze', '2024-05-22T10:00:00Z'),
    identify('ts-b', 'ts-1', 'gold', '2024-05-22T11:00:00Z'),
    identify('pos-a', 'pos-1', 'bronze'),
    identify('pos-b', 'pos-1', 'gold'),
  ]);
  await h.waitForCount(h.names.dlq, 9, 'nine dead letters after 400s');
  await h.faults(null);
  // Delivered after the failures: the erasures.
  await h.produce([
    action('del-delete', 'del-1', 'delete'),
    action('sup-suppress', 'sup-1', 'suppress'),
    { key: member, value: { id: ids['mute-delete'], ...muted } },
  ]);
  await waitDelivered(['del-delete', 'sup-suppress', 'mute-delete']);
});

afterAll(async () => {
  await h?.close();
});

describe('erasure wins', () => {
  it('does not re-create a person deleted after the dead letter (dry run, list, stats, replay)', async () => {
    expect(await verdicts('--customer', 'del-1')).toEqual({
      [ids['del-identify']!]: 'erased-later',
      [ids['del-event']!]: 'erased-later',
    });
    const dry = await h.cli(['replay', '--dry-run', '--customer', 'del-1']);
    expect(dry.stdout).toContain(`skip: later delete ${ids['del-delete']} at ${h.names.track} `);
    expect(dry.stdout).toContain(
      'skipped 2: 2 erased later (a later delete or suppress; --force replays them)',
    );

    const listed = await h.cli(['list', '--json', '--customer', 'del-1']);
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).verdict),
    ).toEqual(['erased-later', 'erased-later']);
    const table = await h.cli(['list', '--customer', 'del-1']);
    expect(table.stdout).toContain('[erased-later]');
    const stats = await h.cli(['stats', '--json', '--customer', 'del-1']);
    expect(JSON.parse(stats.stdout).byVerdict).toEqual({ 'erased-later': 2 });

    const offsets = await h.endOffsets(h.names.track);
    const replay = await h.cli(['replay', '--customer', 'del-1', '--yes']);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toBe(
      `nothing to replay in ${h.names.dlq} (skipped 2: 2 erased later (a later delete or suppress; --force replays them))\n`,
    );
    expect(await h.endOffsets(h.names.track)).toEqual(offsets);
    expect((await delivered()).has(ids['del-identify']!)).toBe(false);
  });

  it('skips what a later suppress erased', async () => {
    expect(await verdicts('--customer', 'sup-1')).toEqual({
      [ids['sup-event']!]: 'erased-later',
      [ids['sup-identify']!]: 'erased-later',
    });
    const offsets = await h.endOffsets(h.names.track);
    const replay = await h.cli(['replay', '--customer', 'sup-1', '--yes']);
    expect(replay.stdout).toMatch(/^nothing to replay in \S+ \(skipped 2: 2 erased later/);
    expect(await h.endOffsets(h.names.track)).toEqual(offsets);
  });

  it('skips the identify of a member the SDK deleted on mute; only --force replays it, audited', async () => {
    expect(await verdicts('--customer', member)).toEqual({ [ids['mute-identify']!]: 'erased-later' });
    const offsets = await h.endOffsets(h.names.track);
    const replay = await h.cli(['replay', '--customer', member, '--yes']);
    expect(replay.stdout).toMatch(/^nothing to replay in \S+ \(skipped 1: 1 erased later/);
    expect(await h.endOffsets(h.names.track)).toEqual(offsets);

    const forced = await h.cli(['replay', '--customer', member, '--force', '--yes', '--reason', 'asked']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^replayed 1 message to \S+ \(--force: 1 erased-later\) in /);
    await waitDelivered(['mute-identify']);
    const audits = (await h.readAll(`${h.names.dlq}.audit`)).map(
      (m) => JSON.parse(m.value!.toString()) as AuditRecord,
    );
    expect(audits.at(-1)).toMatchObject({
      count: 1,
      reason: 'asked',
      options: { force: true, forced: { 'erased-later': 1 } },
    });
  });
});

describe('the stale-identify guard after a partial replay', () => {
  it.each([
    ['with operation timestamps', 'ts'],
    ['without operation timestamps', 'pos'],
  ])('replays the newer identify after --limit 1 replayed the older one (%s)', async (_, prefix) => {
    const person = `${prefix}-1`;
    const first = await h.cli(['replay', '--customer', person, '--limit', '1', '--yes']);
    expect(first.stdout).toMatch(/^replayed 1 message to /);
    await waitDelivered([`${prefix}-a`]);
    expect(await verdicts('--customer', person)).toEqual({ [ids[`${prefix}-b`]!]: 'replay' });

    const rest = await h.cli(['replay', '--customer', person, '--yes']);
    expect(rest.code).toBe(0);
    expect(rest.stdout).toMatch(/^replayed 1 message to .*; 1 already replayed or purged in /);
    await waitDelivered([`${prefix}-b`]);
    // Customer.io ends with the newer attributes.
    const seen = (await h.operations(person)).map((o) => o.id);
    expect(seen.lastIndexOf(ids[`${prefix}-b`]!)).toBeGreaterThan(seen.lastIndexOf(ids[`${prefix}-a`]!));
  });
});
