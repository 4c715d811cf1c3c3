// A message carrying an email that fails in each way the worker knows (not JSON,
// schema-invalid, rejected by Customer.io) must leave that email in no log line of
// the real worker process and in no dead-letter header.
import { randomBytes } from 'node:crypto';
import {
  buildServices,
  type ServiceProcess,
  spawnService,
  testKafkaBrokers,
  waitFor,
} from '@cio-bridge/testkit';
import { createHarness, credentials, type Harness } from './testing/integration-harness';

jest.setTimeout(180_000);

describe('personal data in the worker logs and dead letters', () => {
  let harness: Harness;
  let worker: ServiceProcess;
  const local = `ada.${randomBytes(4).toString('hex')}`;
  const email = `${local}@example.com`;
  // V8's JSON.parse messages quote about ten characters: look for a short piece of the email.
  const piece = local.slice(0, 8);

  beforeAll(async () => {
    buildServices('cio-worker');
    harness = await createHarness('personal-data');
    worker = await spawnService('cio-worker', {
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_TRACK: harness.topics.track,
      KAFKA_TOPIC_TRANSACTIONAL: harness.topics.transactional,
      KAFKA_TOPIC_DLQ: harness.topics.dlq,
      KAFKA_GROUP_ID: harness.groupId,
      CIO_SITE_ID: harness.siteId,
      CIO_API_KEY: credentials.apiKey,
      CIO_APP_API_KEY: credentials.appApiKey,
      CIO_TRACK_URL: harness.sandbox.url,
      CIO_APP_URL: harness.sandbox.url,
      // Everything the worker would ever write, debug lines included.
      LOG_LEVEL: 'trace',
      WORKER_RETRY_BASE_MS: '50',
      WORKER_RETRY_MAX_MS: '200',
      WORKER_MAX_ATTEMPTS: '2',
    });
  });

  afterAll(async () => {
    await worker?.stop();
    await harness?.close();
  });

  it('writes the email into no log line and no dead-letter header, whichever way the message fails', async () => {
    const notJson = `{"name":"signed_up","identifiers":{"email":"${email}"},"data":{"plan":`;
    const schemaInvalid = JSON.stringify({
      name: 'signed_up',
      identifiers: { email, id: email },
      data: { contact: email },
    });
    await harness.produce(harness.topics.track, [
      { key: email, value: notJson },
      { key: email, value: `${email} is not JSON at all` },
      { key: email, value: schemaInvalid },
    ]);
    await waitFor(async () => (await harness.deadLetters({ count: 3, timeoutMs: 1_000 })).length >= 3, {
      timeoutMs: 30_000,
      what: 'the invalid messages in the dead-letter topic',
    });

    // Customer.io rejects the next one (400: not worth retrying).
    await harness.admin('/faults', { method: 'PUT', body: { status: 400 } });
    await harness.produce(harness.topics.track, [
      {
        key: email,
        value: JSON.stringify({ name: 'signed_up', identifiers: { email }, data: { contact: email } }),
      },
    ]);
    const letters = await waitFor(
      async () => {
        const read = await harness.deadLetters({ count: 4, timeoutMs: 1_000 });
        return read.length >= 4 ? read : undefined;
      },
      { timeoutMs: 90_000, what: 'the rejected message in the dead-letter topic' },
    );

    const classes = letters.map((letter) => String(letter.headers?.['x-dlq-error-class']));
    expect(classes.filter((c) => c === 'validation')).toHaveLength(3);
    expect(classes).toHaveLength(4);
    for (const letter of letters) {
      for (const [name, value] of Object.entries(letter.headers ?? {})) {
        expect(`${name}: ${String(value)}`).not.toContain(piece);
      }
    }
    const messages = letters.map((letter) => String(letter.headers?.['x-dlq-error-message']));
    expect(messages).toEqual(
      expect.arrayContaining([
        `the value is malformed JSON at character ${notJson.length}: unexpected end of input`,
        'the value is malformed JSON at character 0: unexpected character',
      ]),
    );

    const output = worker.output();
    // The worker did log about them (so the check below looks at real lines).
    expect(output).toMatch(/dead-letter|dead letter/i);
    const leaking = output.split('\n').filter((line) => line.includes(piece));
    expect(leaking).toEqual([]);
  });
});
