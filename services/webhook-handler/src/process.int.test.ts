import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { signWebhook } from '@cio-bridge/cio-sandbox';
import { headerString } from '@cio-bridge/kafka';
import { reportingExamples } from '@cio-bridge/schemas';
import {
  createTestTopics,
  readMessages,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';

jest.setTimeout(180_000);

const KEY = 'whsec-process';
const repoRoot = join(__dirname, '..', '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sha256 = (raw: string) => createHash('sha256').update(raw).digest('hex');

// The built service as a real process, configured only by its environment.
describe('webhook-handler process: every correctly signed webhook is taken', () => {
  const topics = testTopicNames('webhook-process');
  let kafka: Kafka;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let url: string;
  let base: string;

  beforeAll(async () => {
    execFileSync(
      'bash',
      [
        'scripts/with-node.sh',
        'turbo',
        'run',
        'build',
        '--filter=@cio-bridge/webhook-handler',
        '--output-logs=errors-only',
      ],
      { cwd: repoRoot, stdio: 'ignore' },
    );
    kafka = await testKafka('webhook-process');
    await createTestTopics(kafka, topics);
    const port = await freePort();
    child = spawn(process.execPath, [join(repoRoot, 'services/webhook-handler/dist/main.js')], {
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
        KAFKA_TOPIC_PREDICTIONS: topics.predictions,
        KAFKA_TOPIC_REPORTING: topics.reporting,
        KAFKA_TOPIC_TRACK: topics.track,
        KAFKA_TOPIC_QUARANTINE: topics.quarantine,
        CIO_WEBHOOK_SIGNING_KEYS: KEY,
        WEBHOOK_MAX_BODY_BYTES: '4096',
        PORT: String(port),
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', process.env.TEST_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
    });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    base = `http://127.0.0.1:${port}`;
    url = `${base}/webhooks/customer-io`;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`webhook-handler exited with ${child.exitCode}`);
        return (await fetch(`${base}/readyz`).catch(() => undefined))?.ok;
      },
      { timeoutMs: 60_000, what: 'the webhook-handler process to be ready' },
    );
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });

  function post(raw: string, { key = KEY, ageSeconds = 0 } = {}) {
    const timestamp = String(Math.floor(Date.now() / 1000) - ageSeconds);
    return fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-CIO-Timestamp': timestamp,
        'X-CIO-Signature': signWebhook(key, timestamp, raw),
      },
      body: raw,
    });
  }

  const email = reportingExamples().email_bounced!;

  it('takes reporting events of a metric or an object type it does not know, byte for byte', async () => {
    const unknownMetric = JSON.stringify({ ...email, event_id: 'evt-unknown-metric', metric: 'deferred' });
    const unknownType = JSON.stringify({
      ...email,
      event_id: 'evt-unknown-type',
      object_type: 'in_app_banner',
      metric: 'shown',
      extra_field: { new: true },
    });
    for (const raw of [unknownMetric, unknownType]) {
      const response = await post(raw);
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 200,
        body: { status: 'accepted', webhook_id: sha256(raw) },
      });
    }
    const messages = await readMessages(kafka, topics.reporting, { count: 2, settleMs: 300 });
    expect(messages.map((m) => m.value?.toString()).sort()).toEqual([unknownMetric, unknownType].sort());
  });

  it('quarantines signed but invalid bodies with the raw body, the signature headers and the reason', async () => {
    const noUser = JSON.stringify({ predictions: { churn_probability: 0.5 } });
    const outOfRange = JSON.stringify({ user_id: 7, predictions: { churn_probability: 7 } });
    const notAnObject = '[1,2,3]';
    const sent = new Map<string, { timestamp: string; signature: string }>();
    for (const raw of [noUser, outOfRange, notAnObject]) {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = signWebhook(KEY, timestamp, raw);
      sent.set(sha256(raw), { timestamp, signature });
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-CIO-Timestamp': timestamp,
          'X-CIO-Signature': signature,
        },
        body: raw,
      });
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 200,
        body: { status: 'quarantined', webhook_id: sha256(raw) },
      });
    }
    const messages = await readMessages(kafka, topics.quarantine, { count: 3, settleMs: 300 });
    const byKey = new Map(messages.map((m) => [m.key?.toString() ?? '', m]));
    expect([...byKey.keys()].sort()).toEqual([...sent.keys()].sort());
    for (const [id, headers] of sent) {
      const message = byKey.get(id)!;
      expect(headerString(message.headers, 'x-cio-timestamp')).toBe(headers.timestamp);
      expect(headerString(message.headers, 'x-cio-signature')).toBe(headers.signature);
    }
    const reason = (raw: string) => headerString(byKey.get(sha256(raw))?.headers, 'x-quarantine-reason');
    expect(byKey.get(sha256(noUser))?.value?.toString()).toBe(noUser);
    expect(reason(noUser)).toMatch(/invalid prediction webhook: \/user_id is required/);
    expect(byKey.get(sha256(outOfRange))?.value?.toString()).toBe(outOfRange);
    expect(reason(outOfRange)).toMatch(/\/predictions\/churn_probability must be <= 1/);
    expect(reason(notAnObject)).toMatch(/must be a JSON object/);
    // Nothing of them reached the topics consumers read.
    const predictions = await readMessages(kafka, topics.predictions, { count: 1, timeoutMs: 2_000 });
    expect(predictions).toHaveLength(0);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/cio_bridge_webhook_quarantined_total\{kind="prediction"[^}]*\} 2/);
    expect(metrics).toMatch(/cio_bridge_webhook_quarantined_total\{kind="unreadable"[^}]*\} 1/);
  });

  it('still refuses what is not authentic or cannot be read', async () => {
    const raw = JSON.stringify({ user_id: 'forged', predictions: { churn_probability: 0.1 } });
    expect((await post(raw, { key: 'not-our-key' })).status).toBe(401);
    expect((await post(raw, { ageSeconds: 3600 })).status).toBe(401);
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: raw,
    });
    expect(unsigned.status).toBe(401);
    const notJson = await post('{"user_id": 1, ');
    expect(notJson.status).toBe(400);
    const oversize = await post(JSON.stringify({ ...email, data: { subject: 'x'.repeat(5_000) } }));
    expect(oversize.status).toBe(413);
    const everywhere = await Promise.all(
      [topics.predictions, topics.quarantine].map((topic) =>
        readMessages(kafka, topic, { count: 10, timeoutMs: 2_000 }),
      ),
    );
    expect(everywhere.flat().filter((m) => m.value?.toString().includes('forged'))).toHaveLength(0);
  });
});
