import { createHash } from 'node:crypto';
import { headerString, type TopicKey, topicEnvVariable } from '@cio-bridge/kafka';
import {
  createTestTopics,
  readMessages,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';
import { runCli } from './cli';
import { Capture } from './testing/harness';

jest.setTimeout(90_000);

const sha256 = (raw: string) => createHash('sha256').update(raw).digest('hex');

describe('cio-dlq reroute: quarantined webhooks through the validation of today', () => {
  const topics = testTopicNames('dlq-reroute');
  let kafka: Kafka;
  let env: NodeJS.ProcessEnv;

  const SIGNED_AT = 1_716_402_912;
  // Quarantined by an older webhook-handler that did not take unknown metrics; valid now.
  const deferred = JSON.stringify({
    event_id: 'evt-deferred-1',
    object_type: 'email',
    metric: 'deferred',
    timestamp: SIGNED_AT,
    data: { identifiers: { id: 'user-9' } },
  });
  const prediction = JSON.stringify({ user_id: 9, predictions: { churn_probability: 0.4 } });
  // Still invalid: stays.
  const outOfRange = JSON.stringify({ user_id: 9, predictions: { churn_probability: 7 } });

  beforeAll(async () => {
    kafka = await testKafka('dlq-reroute');
    await createTestTopics(kafka, topics);
    env = { KAFKA_BROKERS: (await testKafkaBrokers()).join(',') };
    for (const key of Object.keys(topics) as TopicKey[]) env[topicEnvVariable(key)] = topics[key];
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: topics.quarantine,
      acks: -1,
      messages: [deferred, prediction, outOfRange].map((raw) => ({
        key: sha256(raw),
        value: raw,
        headers: {
          'x-cio-timestamp': String(SIGNED_AT),
          'x-cio-signature': 'a'.repeat(64),
          'x-quarantine-reason': 'invalid reporting webhook: /metric must be one of: ...',
          'x-quarantine-received-at': '2024-05-22T18:35:13.000Z',
        },
        partition: 0,
      })),
    });
    await producer.disconnect();
  });

  async function cli(args: string[]) {
    const stdout = new Capture();
    const stderr = new Capture();
    const code = await runCli(args, { env, stdout, stderr });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  it('shows where each would go on a dry run, and publishes nothing', async () => {
    const result = await cli(['reroute', '--dry-run', '--json']);
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { coordinate: '0:0', outcome: 'routed', topics: [topics.reporting] },
      { coordinate: '0:1', outcome: 'routed', topics: [topics.predictions] },
      {
        coordinate: '0:2',
        outcome: 'still_invalid',
        reason: 'invalid prediction webhook: /predictions/churn_probability must be <= 1',
      },
    ]);
    expect(result.stderr).toMatch(
      /dry run: 2 of 3 quarantined webhooks .* pass validation now; 1 still fail/,
    );
    expect(await readMessages(kafka, topics.reporting, { count: 1, timeoutMs: 2_000 })).toHaveLength(0);
  });

  it('refuses to publish without --yes when not on a terminal', async () => {
    const result = await cli(['reroute']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pass --yes/);
  });

  it('publishes what passes to its topic as the webhook-handler would have, and leaves the rest', async () => {
    const result = await cli(['reroute', '--yes']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/re-routed 2 webhooks; 1 still fail validation/);
    const [event] = await readMessages(kafka, topics.reporting, { count: 1, settleMs: 300 });
    expect(event?.key?.toString()).toBe('user-9');
    expect(event?.value?.toString()).toBe(deferred);
    const [routed, ...more] = await readMessages(kafka, topics.predictions, { count: 1, settleMs: 300 });
    expect(more).toHaveLength(0);
    expect(routed?.key?.toString()).toBe('9');
    expect(JSON.parse(String(routed?.value))).toEqual({
      user_id: 9,
      predictions: { churn_probability: 0.4 },
      as_of: new Date(SIGNED_AT * 1000).toISOString(),
      received_at: '2024-05-22T18:35:13.000Z',
      webhook_id: sha256(prediction),
    });
    expect(headerString(routed?.headers, 'x-quarantine-reason')).toBeUndefined();
  });
});
