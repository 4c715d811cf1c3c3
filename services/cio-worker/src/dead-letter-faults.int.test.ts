import { waitFor } from '@cio-bridge/testkit';
import { ConfigResourceTypes } from 'kafkajs';
import { derivedOperationId } from './intake/operation';
import { createHarness, type Harness, waitForOperations } from './testing/integration-harness';

jest.setTimeout(120_000);

let sequence = 0;
const newId = () =>
  derivedOperationId({
    topic: 'ids',
    partition: 4,
    offset: String(sequence++),
    timestamp: String(Date.now()),
    key: null,
  });

async function topicConfig(harness: Harness, topic: string, name: string): Promise<string | undefined> {
  const admin = harness.kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }],
    });
    return resources[0]?.configEntries.find((entry) => entry.configName === name)?.configValue;
  } finally {
    await admin.disconnect();
  }
}

async function setTopicConfig(harness: Harness, topic: string, name: string, value: string) {
  const admin = harness.kafka.admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name, value }] }],
    });
  } finally {
    await admin.disconnect();
  }
}

describe('cio-worker when dead letters cannot be written', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('creates the dead-letter topic to take any message of the track topic plus its failure headers', async () => {
    harness = await createHarness('worker-dlq-size');
    const track = Number(await topicConfig(harness, harness.topics.track, 'max.message.bytes'));
    const dlq = Number(await topicConfig(harness, harness.topics.dlq, 'max.message.bytes'));
    expect(track).toBeGreaterThan(0);
    expect(dlq).toBeGreaterThanOrEqual(track + 2_000);
  });

  it('pauses as a configuration fault while the dead-letter topic refuses a letter as too large, then writes it and goes on', async () => {
    harness = await createHarness('worker-dlq-too-large');
    // Customer.io refuses a blank event name; the padding makes the message large.
    const bad = {
      name: '   ',
      id: newId(),
      identifiers: { id: 'person-bad' },
      data: { pad: 'p'.repeat(4_000) },
    };
    const value = JSON.stringify(bad);
    // A dead-letter topic that takes the message but not its failure headers.
    await setTopicConfig(harness, harness.topics.dlq, 'max.message.bytes', String(value.length + 200));
    await harness.produce(harness.topics.track, [{ key: 'person-bad', value }]);
    // A short verdict: the 400 is the message's own fault whether or not another request succeeds first.
    const worker = await harness.startWorker({ tuning: { endpointVerdictMs: 1_000 } });
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${worker.port}/readyz`);
      return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
    };
    // Another person's operation lets the verdict on the 400 come in (the message's own fault).
    const first = { name: 'fine_event', id: newId(), identifiers: { id: 'person-ok' } };
    await harness.produce(harness.topics.track, [{ key: 'person-ok', value: JSON.stringify(first) }]);
    await waitFor(async () => (await readyz()).status === 503, { what: 'not ready' });
    // /readyz names the check only; the reason (max.message.bytes) goes to the log.
    expect((await readyz()).body.checks.deadLetters).toBe('failing');
    const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
    expect(metrics).toMatch(/cio_bridge_worker_dead_letter_blocked\{[^}]*api="track"[^}]*\} 1/);
    expect(metrics).toMatch(
      /cio_bridge_worker_dead_letter_write_failures_total\{[^}]*reason="too_large"[^}]*\} [1-9]/,
    );

    // The operator raises the topic's limit: the letter is written and consuming resumes.
    await setTopicConfig(harness, harness.topics.dlq, 'max.message.bytes', String(2 * 1024 * 1024));
    const letters = await harness.deadLetters({ count: 1, timeoutMs: 30_000 });
    expect(letters).toHaveLength(1);
    expect(Buffer.compare(letters[0]!.value!, Buffer.from(value))).toBe(0);
    const later = { name: 'fine_event', id: newId(), identifiers: { id: 'person-later' } };
    await harness.produce(harness.topics.track, [{ key: 'person-later', value: JSON.stringify(later) }]);
    await waitForOperations(harness, [first.id, later.id]);
    await waitFor(async () => (await readyz()).status === 200, { what: 'ready again' });
  });
});
