// stats, list (every filter), show and the dry runs, over dead letters the real
// cio-worker wrote when the Customer.io sandbox refused or failed its requests.

import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildCli, type Harness, startHarness, ulid } from './testing/harness';

jest.setTimeout(120_000);

let h: Harness;
let boundary: number;
let cliPath: string;
const jane = {
  id: ulid(),
  action: 'identify',
  identifiers: { email: 'jane.doe@example.com' },
  attributes: { first_name: 'Jane', plan: 'gold' },
  timestamp: '2024-05-22T10:00:00Z',
};

interface Row {
  coordinate: string;
  person: string | null;
  key: string | null;
  action: string;
  event: string | null;
  errorClass: string;
  httpStatus: number | null;
  operationId: string | null;
  deadLetteredAt: string;
  state: string;
  ageSeconds?: number;
}

const rows = (stdout: string): Row[] =>
  stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Row);

async function list(...args: string[]): Promise<Row[]> {
  const { code, stdout, stderr } = await h.cli(['list', '--json', '--reveal', ...args]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  return rows(stdout);
}

const people = (found: Row[]) => found.map((r) => r.key).sort();

beforeAll(async () => {
  cliPath = buildCli();
  h = await startHarness('dlq-read');
  // Phase 1: Customer.io answers 400 to everything: dead-lettered at once.
  await h.faults({ status: 400, rate: 1 });
  await h.produce([
    { key: 'jane.doe@example.com', value: jane },
    {
      key: 'user-1',
      value: { id: ulid(), name: 'points_adjusted', identifiers: { id: 'user-1' }, data: { by: 5 } },
    },
    {
      key: 'user-2',
      value: { id: ulid(), name: 'points_adjusted', identifiers: { id: 'user-2' }, data: { by: 7 } },
    },
    { key: 'user-3', value: { id: ulid(), name: 'badge_shown', identifiers: { id: 'user-3' } } },
    { key: 'user-4', value: { id: ulid(), action: 'delete', identifiers: { id: 'user-4' } } },
  ]);
  await h.waitForCount(h.names.dlq, 5, 'five dead letters after 400s');
  await sleep(20);
  boundary = Date.now();
  await sleep(20);
  // Phase 2: 503 twice (the worker's attempts): retried, then dead-lettered.
  await h.faults({ status: 503, rate: 1 });
  await h.produce([
    { key: 'user-5', value: { id: ulid(), name: 'badge_shown', identifiers: { id: 'user-5' } } },
    {
      key: 'user-6',
      value: {
        id: ulid(),
        action: 'identify',
        identifiers: { id: 'user-6' },
        attributes: { plan: 'silver' },
      },
    },
  ]);
  await h.waitForCount(h.names.dlq, 7, 'seven dead letters after 503s');
  // Phase 3: Customer.io is fine again; a value that is no operation fails validation.
  await h.faults(null);
  await h.produce([
    { key: 'user-7', value: 'not json at all' },
    { key: 'user-8', value: { id: ulid(), name: 'badge_shown', identifiers: { id: 'user-8' } } },
  ]);
  await h.waitForCount(h.names.dlq, 8, 'eight dead letters after a validation failure');
});

afterAll(async () => {
  await h?.close();
});

describe('stats', () => {
  it('counts by error class, status, action and event, with the oldest and newest message', async () => {
    const { code, stdout } = await h.cli(['stats', '--json']);
    expect(code).toBe(0);
    const stats = JSON.parse(stdout);
    expect(stats).toMatchObject({
      topic: h.names.dlq,
      total: 8,
      byState: { pending: 8 },
      byErrorClass: { http_4xx: 5, http_5xx: 2, validation: 1 },
      byHttpStatus: { '400': 5, '503': 2, none: 1 },
      byAction: { event: 4, identify: 2, delete: 1, unknown: 1 },
      byEvent: { points_adjusted: 2, badge_shown: 2 },
    });
    expect(Date.parse(stats.oldest)).toBeLessThan(boundary);
    expect(Date.parse(stats.newest)).toBeGreaterThan(boundary);
    expect(stats.oldestAgeSeconds).toBeGreaterThanOrEqual(stats.newestAgeSeconds);
  });

  it('prints a readable summary and applies filters', async () => {
    const text = await h.cli(['stats']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${h.names.dlq}: 8 pending messages`);
    expect(text.stdout).toMatch(/ERROR CLASS\s+COUNT\nhttp_4xx\s+5\nhttp_5xx\s+2\nvalidation\s+1/);
    expect(text.stdout).toMatch(/oldest: \d+s ago/);
    const filtered = JSON.parse((await h.cli(['stats', '--json', '--error-class', 'http_5xx'])).stdout);
    expect(filtered).toMatchObject({
      total: 2,
      byAction: { event: 1, identify: 1 },
      byHttpStatus: { '503': 2 },
    });
  });
});

describe('list', () => {
  it('lists every pending message, oldest first', async () => {
    const all = await list();
    expect(all).toHaveLength(8);
    const times = all.map((r) => Date.parse(r.deadLetteredAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(all.every((r) => r.state === 'pending')).toBe(true);
    expect(all.find((r) => r.key === 'jane.doe@example.com')).toMatchObject({
      action: 'identify',
      errorClass: 'http_4xx',
      httpStatus: 400,
      operationId: jane.id,
    });
  });

  it('filters by action, event, error class and status', async () => {
    expect(people(await list('--action', 'identify'))).toEqual(['jane.doe@example.com', 'user-6']);
    expect(people(await list('--action', 'delete,unknown'))).toEqual(['user-4', 'user-7']);
    expect(people(await list('--event', 'badge_shown'))).toEqual(['user-3', 'user-5']);
    expect(people(await list('--error-class', 'http_5xx'))).toEqual(['user-5', 'user-6']);
    expect(people(await list('--error-class', 'validation'))).toEqual(['user-7']);
    expect(await list('--status', '400')).toHaveLength(5);
    expect(people(await list('--status', '5xx'))).toEqual(['user-5', 'user-6']);
    expect(people(await list('--status', 'none'))).toEqual(['user-7']);
    expect(people(await list('--action', 'event', '--status', '4xx'))).toEqual([
      'user-1',
      'user-2',
      'user-3',
    ]);
  });

  it('filters by person, time and count', async () => {
    expect(people(await list('--customer', 'Jane.Doe@example.com'))).toEqual(['jane.doe@example.com']);
    expect(people(await list('--customer', 'user-5'))).toEqual(['user-5']);
    expect(await list('--customer', 'nobody')).toEqual([]);
    const iso = new Date(boundary).toISOString();
    expect(people(await list('--until', iso))).toEqual([
      'jane.doe@example.com',
      'user-1',
      'user-2',
      'user-3',
      'user-4',
    ]);
    expect(people(await list('--since', iso))).toEqual(['user-5', 'user-6', 'user-7']);
    expect(await list('--since', '1h')).toHaveLength(8);
    expect(await list('--until', '1h')).toEqual([]);
    // Two runs a second apart may see ages differ by a second: compare without them.
    const withoutAge = (entries: Row[]) => entries.map(({ ageSeconds: _age, ...rest }) => rest);
    const all = await list();
    const first3 = await list('--limit', '3');
    expect(withoutAge(first3)).toEqual(withoutAge(all.slice(0, 3)));
  });

  it('prints a table with emails masked unless --reveal', async () => {
    const table = await h.cli(['list', '--action', 'identify']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PARTITION:OFFSET\s+AGE\s+ACTION\s+EVENT\s+PERSON\s+ERROR\s+STATUS\s+MESSAGE$/);
    expect(lines).toHaveLength(3);
    expect(table.stdout).toContain('j***@example.com');
    expect(table.stdout).not.toContain('jane.doe');
    const json = await h.cli(['list', '--json', '--customer', 'jane.doe@example.com']);
    expect(json.stdout).not.toContain('jane.doe');
    expect(rows(json.stdout)[0]).toMatchObject({ person: 'j***@example.com', key: 'j***@example.com' });
    const revealed = await h.cli(['list', '--reveal', '--action', 'identify']);
    expect(revealed.stdout).toContain('jane.doe@example.com');
  });
});

describe('show', () => {
  it('shows the whole message with every header, personal data masked', async () => {
    const [row] = await list('--customer', 'jane.doe@example.com');
    const { code, stdout } = await h.cli(['show', row!.coordinate]);
    expect(code).toBe(0);
    expect(stdout).toContain(`message:       ${h.names.dlq} ${row!.coordinate}`);
    expect(stdout).toContain('state:         pending');
    expect(stdout).toMatch(new RegExp(`x-dlq-original-topic\\s+${h.names.track.replaceAll('.', '\\.')}`));
    for (const header of [
      'x-dlq-original-partition',
      'x-dlq-original-offset',
      'x-dlq-original-timestamp',
      'x-dlq-consumer-group',
      'x-dlq-error-message',
      'x-dlq-attempts',
      'x-dlq-first-failed-at',
      'x-dlq-last-failed-at',
    ])
      expect(stdout).toContain(header);
    expect(stdout).toMatch(/x-dlq-error-class\s+http_4xx/);
    expect(stdout).toMatch(/x-dlq-http-status\s+400/);
    expect(stdout).toContain('"email": "j***@example.com"');
    expect(stdout).toContain('"first_name": "***"');
    expect(stdout).not.toContain('jane.doe');
    expect(stdout).not.toContain('Jane');
  });

  it('gives the original key and value with --reveal --json', async () => {
    const [row] = await list('--customer', 'jane.doe@example.com');
    const { code, stdout } = await h.cli(['show', row!.coordinate, '--json', '--reveal']);
    expect(code).toBe(0);
    const shown = JSON.parse(stdout);
    expect(shown.key).toBe('jane.doe@example.com');
    expect(shown.value).toEqual(jane);
    expect(shown.headers['x-dlq-consumer-group']).toMatch(/^dlq-read-worker-/);
    expect(shown.headers['x-dlq-attempts']).toBe('1');
    expect(shown.state).toEqual({ status: 'pending' });
  });

  it('fails with one line for a message that is not there', async () => {
    const { code, stderr } = await h.cli(['show', '0:999999']);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(
        `^cio-dlq: no message 0:999999 in ${h.names.dlq.replaceAll('.', '\\.')} \\(partition 0 .*\\)\\n$`,
      ),
    );
  });
});

describe('dry runs', () => {
  it('replay --dry-run shows what would happen and changes nothing', async () => {
    const before = await h.endOffsets(h.names.track);
    const operations = (await h.operations()).length;
    const { code, stdout } = await h.cli(['replay', '--dry-run']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1 + 8 + 1);
    expect(stdout).toContain(`replay to ${h.names.track} (x-replay-count 1)`);
    expect(stdout).toContain(`dry run: would replay 8 messages to ${h.names.track}. Nothing was changed.`);
    expect(await h.endOffsets(h.names.track)).toEqual(before);
    expect(await h.reader.exists(`${h.names.dlq}.handled`)).toBe(false);
    expect(await h.reader.exists(`${h.names.dlq}.audit`)).toBe(false);
    expect(await list()).toHaveLength(8);
    expect((await h.operations()).length).toBe(operations);
  });

  it('purge --dry-run lists what would be purged and changes nothing', async () => {
    const { code, stdout } = await h.cli(['purge', '--dry-run', '--error-class', 'http_5xx']);
    expect(code).toBe(0);
    expect(stdout).toContain(`dry run: would purge 2 messages from ${h.names.dlq}. Nothing was changed.`);
    expect(await h.reader.exists(`${h.names.dlq}.handled`)).toBe(false);
    expect(await list('--error-class', 'http_5xx')).toHaveLength(2);
  });
});

describe('the cio-dlq binary', () => {
  const run = (args: string[], env: Record<string, string> = {}) => {
    const result = spawnSync(process.execPath, [cliPath, ...args], {
      env: { PATH: process.env.PATH, ...h.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const oneLine = (text: string) => {
    expect(text.trimEnd().split('\n')).toHaveLength(1);
    expect(text).not.toMatch(/\n\s+at /);
    return text.trimEnd();
  };

  it('exits 0 and prints JSON lines', () => {
    const { code, stdout, stderr } = run(['list', '--json', '--error-class', 'http_5xx']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(rows(stdout).map((r) => r.errorClass)).toEqual(['http_5xx', 'http_5xx']);
  });

  it('exits 2 with one line for a bad argument', () => {
    const { code, stdout, stderr } = run(['list', '--status', 'teapot']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(oneLine(stderr)).toBe(
      'cio-dlq: --status must be an HTTP status (429), a class (5xx) or none; got "teapot"',
    );
  });

  it('exits 1 with one line for an unknown broker, an unreachable cluster and a missing topic', () => {
    const unknown = run(['stats'], { KAFKA_BROKERS: 'kafka.does-not-exist.invalid:9092' });
    expect(unknown.code).toBe(1);
    expect(oneLine(unknown.stderr)).toMatch(
      /^cio-dlq: cannot reach Kafka at kafka\.does-not-exist\.invalid:9092: .*(ENOTFOUND|EAI_AGAIN)/,
    );
    const closed = run(['list'], { KAFKA_BROKERS: '127.0.0.1:1' });
    expect(closed.code).toBe(1);
    expect(oneLine(closed.stderr)).toMatch(/^cio-dlq: cannot reach Kafka at 127\.0\.0\.1:1: .*ECONNREFUSED/);
    const missing = run(['stats', '--dlq-topic', `${h.names.dlq}-missing`]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing.stderr)).toBe(
      `cio-dlq: topic ${h.names.dlq}-missing does not exist on the cluster (KAFKA_BROKERS=${h.env.KAFKA_BROKERS})`,
    );
  });
});
