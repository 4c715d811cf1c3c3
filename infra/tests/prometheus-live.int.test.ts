// The live check of the monitoring: a real Prometheus (Debian's `prometheus` package)
// scrapes the built services, each a real process on its own topics, ports and schema,
// while traffic flows through them (with Customer.io faults from the sandbox: 503s,
// 400s and 429s). Then every Grafana panel query and every alert expression is
// evaluated, and any that does not parse or returns no series fails the test: no dead
// panels, no typos in metric names.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { seedExamples } from '@cio-bridge/schemas';
import {
  createTestSchema,
  createTestTopics,
  type TestSchema,
  testDatabaseUrl,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import { stringify } from 'yaml';
import { type Doc, readYaml, repoPath } from './helpers';

jest.setTimeout(300_000);

const SERVICES = ['cio-sandbox', 'producer', 'cio-worker', 'webhook-handler', 'insights-processor'] as const;
type Service = (typeof SERVICES)[number];
const TOKEN = 'live-check-ingest-token';
const SIGNING_KEY = 'live-check-signing-key';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** The series names of every `sum by ... unless on ... ` operand, its final comparison removed. */
function alertOperands(expr: string): string[] {
  return expr
    .split(/\bunless\s+on\s*\([^)]*\)/)
    .map((part) => part.trim().replace(/\s*(>|<|==|!=|>=|<=)\s*[\d.e+]+\s*$/, ''))
    .filter((part) => part !== '');
}

function panelQueries(): { name: string; expr: string }[] {
  const dir = repoPath('infra', 'grafana', 'dashboards');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .flatMap((file) =>
      (JSON.parse(readFileSync(path.join(dir, file), 'utf8')).panels as Doc[]).flatMap((panel) =>
        ((panel.targets ?? []) as Doc[]).map((target, index) => ({
          name: `panel "${panel.title}" query ${index + 1}`,
          // Grafana's variables as a dashboard showing every deployment sets them
          expr: String(target.expr).replaceAll('$__rate_interval', '1m').replaceAll('$namespace', '.*'),
        })),
      ),
    );
}

function alertQueries(): { name: string; expr: string }[] {
  const groups: Doc[] = readYaml('infra', 'prometheus', 'alerts.yml').groups;
  return groups
    .flatMap((group) => group.rules as Doc[])
    .flatMap((rule) =>
      alertOperands(rule.expr).map((expr, index, all) => ({
        name: `alert ${rule.alert}${all.length > 1 ? ` operand ${index + 1}` : ''}`,
        expr,
      })),
    );
}

const processes: ChildProcess[] = [];
let schema: TestSchema | undefined;
let promDir: string | undefined;

afterAll(async () => {
  await Promise.all(
    processes.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
        }),
    ),
  );
  await schema?.drop();
  if (promDir) rmSync(promDir, { recursive: true, force: true });
});

function start(command: string, args: string[], env: NodeJS.ProcessEnv, logs: string[]): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk: Buffer) => {
    logs.push(String(chunk));
    if (logs.length > 200) logs.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  processes.push(child);
  return child;
}

/** waitFor, with the logs of the process concerned in the error. */
async function until(check: () => Promise<boolean>, timeoutMs: number, explain: () => string): Promise<void> {
  await waitFor(check, { timeoutMs, intervalMs: 300 }).catch((error: Error) => {
    throw new Error(`${error.message}: ${explain()}`);
  });
}

const sign = (body: string) => {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', SIGNING_KEY).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-cio-timestamp': timestamp, 'x-cio-signature': signature };
};

it('the prometheus server is installed (Debian package prometheus, as .ci/run installs it)', () => {
  const version = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  expect(version.error).toBeUndefined();
  expect(`${version.stdout}${version.stderr}`).toMatch(/prometheus, version/);
});

it('splits alert expressions into operands without their threshold', () => {
  expect(alertOperands('sum(a) > 0\nunless on (namespace, job)\nsum(rate(b[5m])) > 0')).toEqual([
    'sum(a)',
    'sum(rate(b[5m]))',
  ]);
  expect(alertOperands('up{job=~"cio-bridge-.+"} == 0')).toEqual(['up{job=~"cio-bridge-.+"}']);
});

it('every dashboard query and alert expression returns series from the running services', async () => {
  const topics = testTopicNames('live');
  const kafka = await testKafka();
  await createTestTopics(kafka, topics);
  schema = await createTestSchema('live');
  const ports = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s, await freePort()])),
  ) as Record<Service, number>;
  const url = (service: Service) => `http://127.0.0.1:${ports[service]}`;
  const sandbox = url('cio-sandbox');
  const common = {
    PATH: process.env.PATH,
    KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
    KAFKA_TOPIC_TRACK: topics.track,
    KAFKA_TOPIC_TRANSACTIONAL: topics.transactional,
    KAFKA_TOPIC_DLQ: topics.dlq,
    KAFKA_TOPIC_PREDICTIONS: topics.predictions,
    KAFKA_TOPIC_REPORTING: topics.reporting,
    LOG_LEVEL: 'warn',
  };
  const credentials = { CIO_SITE_ID: 'live-site', CIO_API_KEY: 'live-key', CIO_APP_API_KEY: 'live-app-key' };
  const envs: Record<Service, NodeJS.ProcessEnv> = {
    'cio-sandbox': { ...credentials, SANDBOX_HOST: '127.0.0.1' },
    producer: { INGEST_API_TOKENS: TOKEN },
    'cio-worker': {
      ...credentials,
      CIO_TRACK_URL: sandbox,
      CIO_APP_URL: sandbox,
      KAFKA_GROUP_ID: `${topics.track}.worker`,
      WORKER_RETRY_BASE_MS: '100',
      WORKER_RETRY_MAX_MS: '500',
      WORKER_MAX_ATTEMPTS: '3',
    },
    'webhook-handler': { CIO_WEBHOOK_SIGNING_KEYS: SIGNING_KEY },
    'insights-processor': {
      DATABASE_URL: schema.databaseUrl,
      KAFKA_GROUP_ID: `${topics.track}.insights`,
      INSIGHTS_API_AUTH: 'none',
    },
  };
  expect(await testDatabaseUrl()).toMatch(/^postgres/);
  const logs: Record<string, string[]> = {};
  for (const service of SERVICES) {
    logs[service] = [];
    start(
      process.execPath,
      [repoPath('services', service, 'dist', 'main.js')],
      { ...common, ...envs[service], PORT: String(ports[service]) },
      logs[service]!,
    );
  }
  for (const service of SERVICES) {
    await until(
      async () => (await fetch(`${url(service)}/readyz`).catch(() => undefined))?.ok === true,
      90_000,
      () => `${service} not ready:\n${logs[service]!.join('')}`,
    );
  }

  // Prometheus scrapes every second, as jobs named the way the alerts expect them.
  promDir = mkdtempSync(path.join(tmpdir(), 'cio-prometheus-'));
  copyFileSync(repoPath('infra', 'prometheus', 'alerts.yml'), path.join(promDir, 'alerts.yml'));
  writeFileSync(
    path.join(promDir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ['alerts.yml'],
      scrape_configs: SERVICES.map((service) => ({
        job_name: `cio-bridge-${service}`,
        static_configs: [{ targets: [`127.0.0.1:${ports[service]}`], labels: { namespace: 'live-check' } }],
      })),
    }),
  );
  const promPort = await freePort();
  const prometheus = `http://127.0.0.1:${promPort}`;
  logs.prometheus = [];
  start(
    'prometheus',
    [
      `--config.file=${path.join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { PATH: process.env.PATH },
    logs.prometheus,
  );
  await until(
    async () => (await fetch(`${prometheus}/-/ready`).catch(() => undefined))?.ok === true,
    60_000,
    () => `prometheus not ready:\n${logs.prometheus!.join('')}`,
  );

  // Traffic: seed events through the producer in phases of Customer.io trouble, signed
  // webhooks, read API calls, and some requests that must be refused.
  const examples = Object.values(seedExamples());
  const post = (target: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const put = (target: string, body: unknown) =>
    fetch(target, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const auth = { authorization: `Bearer ${TOKEN}` };
  let person = 0;
  const sendEvents = async (count: number) => {
    const batch = Array.from({ length: count }, (_, i) => ({
      ...examples[i % examples.length],
      id: undefined,
      identifiers: { id: `live-${person++ % 200}` },
      timestamp: new Date().toISOString(),
    }));
    expect((await post(`${url('producer')}/v1/track`, { batch }, auth)).status).toBe(202);
    expect(
      (
        await post(
          `${url('producer')}/v1/track`,
          { action: 'identify', identifiers: { id: `live-${person}` } },
          auth,
        )
      ).status,
    ).toBe(202);
  };
  const sendWebhooks = async (round: number) => {
    const prediction = JSON.stringify({ user_id: 5000 + round, predictions: { churn_probability: 0.5 } });
    expect(
      (await post(`${url('webhook-handler')}/webhooks/customer-io`, prediction, sign(prediction))).status,
    ).toBe(200);
    const reporting = JSON.stringify({
      event_id: `01J0LIVE${String(round).padStart(18, '0')}`,
      object_type: 'email',
      metric: 'sent',
      timestamp: Math.floor(Date.now() / 1000),
      data: { customer_id: `live-${round}`, delivery_id: `d-${round}`, identifiers: { id: `live-${round}` } },
    });
    await post(`${url('webhook-handler')}/webhooks/customer-io`, reporting, sign(reporting));
    await post(`${url('webhook-handler')}/webhooks/customer-io`, prediction, {
      'x-cio-timestamp': '1',
      'x-cio-signature': 'bad',
    });
    await fetch(`${url('insights-processor')}/v1/users/${5000 + round}/ai-features`);
    await fetch(`${url('insights-processor')}/v1/users/${5000 + round}/ai-features`);
  };
  const phases = [
    { faults: { status: 503, rate: 0.3 } }, // retried
    { faults: { status: 400, rate: 0.3 } }, // dead-lettered
    { rps: 2 }, // answered 429
    {}, // calm
  ];
  let round = 0;
  for (const phase of phases) {
    if ('faults' in phase) await put(`${sandbox}/_sandbox/faults`, phase.faults);
    else await fetch(`${sandbox}/_sandbox/faults`, { method: 'DELETE' });
    await put(`${sandbox}/_sandbox/rate-limit`, { rps: 'rps' in phase ? phase.rps : null });
    for (let i = 0; i < 4; i++) {
      await sendEvents(50);
      await sendWebhooks(round++);
      await sleep(1_000);
    }
  }
  await expect(post(`${url('producer')}/v1/track`, { batch: [{ name: '' }] }, auth)).resolves.toHaveProperty(
    'status',
    400,
  );
  await expect(post(`${url('producer')}/v1/track`, { name: 'x' })).resolves.toHaveProperty('status', 401);
  // Wait until the worker has delivered, retried and dead-lettered, as Prometheus sees it.
  const query = async (expr: string) => {
    const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  };
  await until(
    async () =>
      (
        await query(
          'sum(cio_bridge_worker_operations_dead_lettered_total) > 0 and sum(cio_bridge_worker_operations_retried_total) > 0 and sum(cio_bridge_insights_predictions_persisted_total) > 0',
        )
      ).data?.result.length === 1,
    60_000,
    () => `the worker delivered, retried or dead-lettered nothing:\n${logs['cio-worker']!.join('')}`,
  );
  await sleep(3_000); // a few more scrapes after the last change

  const failures: string[] = [];
  const checked = [...panelQueries(), ...alertQueries()];
  for (const { name, expr } of checked) {
    const answer = await query(expr);
    if (answer.status !== 'success') failures.push(`${name}: does not evaluate: ${answer.error}\n  ${expr}`);
    else if ((answer.data?.result.length ?? 0) === 0) failures.push(`${name}: no series\n  ${expr}`);
  }
  expect(checked.length).toBeGreaterThan(40);
  expect(failures).toEqual([]);

  // Prometheus loaded the very rule file and evaluates every alert without errors.
  const rules = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as Doc;
  const loaded: Doc[] = rules.data.groups.flatMap((group: Doc) => group.rules);
  expect(loaded.map((rule) => rule.name).sort()).toEqual(
    (readYaml('infra', 'prometheus', 'alerts.yml').groups as Doc[])
      .flatMap((g) => g.rules.map((r: Doc) => r.alert))
      .sort(),
  );
  expect(
    loaded.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.lastError}`),
  ).toEqual([]);
});
