// list, show, stats and purge on any dead-letter-shaped topic (--dlq-topic), such as a
// quarantine topic whose messages carry their own reason header and none of the
// worker's x-dlq-* headers.
import { testKafka, testKafkaBrokers, uniqueName } from '@cio-bridge/testkit';
import { type Kafka, Partitioners } from 'kafkajs';
import { runCli } from './cli';
import { Capture } from './testing/harness';

jest.setTimeout(60_000);

let kafka: Kafka;
let env: Record<string, string>;
const topic = uniqueName('webhooks.quarantine');

async function cli(...args: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli([...args, '--dlq-topic', topic], { env, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

beforeAll(async () => {
  kafka = await testKafka('dlq-other');
  env = { KAFKA_BROKERS: (await testKafkaBrokers()).join(','), CIO_DLQ_OPERATOR: 'sre@test' };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: [
      {
        key: 'delivery-1',
        value: '{"event_id":"e1","metric":"opened"}',
        headers: { 'x-quarantine-reason': 'signature mismatch', 'content-type': 'application/json' },
      },
      { key: 'delivery-2', value: 'not json', headers: { 'x-quarantine-reason': 'unparseable body' } },
    ],
  });
  await producer.disconnect();
});

describe('a dead-letter-shaped topic without the worker headers', () => {
  it('lists its messages with their own reason', async () => {
    const listed = await cli('list', '--json');
    expect(listed.stderr).toBe('');
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((r) => [r.key, r.errorMessage, r.errorClass, r.verdict]).sort()).toEqual([
      ['delivery-1', 'signature mismatch', 'unknown', null],
      ['delivery-2', 'unparseable body', 'unknown', null],
    ]);
  });

  it('shows a message with the headers it has', async () => {
    const listed = await cli('list', '--json', '--customer', 'delivery-1');
    const { coordinate } = JSON.parse(listed.stdout);
    const shown = await cli('show', coordinate);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/x-quarantine-reason\s+signature mismatch/);
    expect(shown.stdout).toMatch(/content-type\s+application\/json/);
    expect(shown.stdout).not.toContain('x-dlq-');
  });

  it('counts them, and purges them with an audit record', async () => {
    const stats = JSON.parse((await cli('stats', '--json')).stdout);
    expect(stats).toMatchObject({ total: 2, byErrorClass: { unknown: 2 }, byHttpStatus: { none: 2 } });
    const purged = await cli('purge', '--customer', 'delivery-2', '--yes', '--reason', 'junk');
    expect(purged.code).toBe(0);
    expect(purged.stdout).toMatch(/^purged 1 message from /);
    expect(JSON.parse((await cli('stats', '--json')).stdout)).toMatchObject({ total: 1 });
  });
});
