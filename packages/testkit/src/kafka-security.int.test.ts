// Every way a managed or private cluster secures Kafka, against a real broker secured
// that way (one per mode, with a CA and certificates generated here): the services,
// built and started as processes, connect through the one shared client factory, and
// refused credentials end start-up with one line, exit 1 and no secret in the output.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCertificates, type TestCertificates } from './certificates';
import { createTestSchema, type TestSchema } from './postgres';
import {
  type KafkaSecurityMode,
  type SecuredBroker,
  type SecuredEndpoint,
  startSecuredKafkaBroker,
} from './secured-broker';
import { buildServices, type ServiceProcess, spawnService } from './service-process';
import { startTokenEndpoint, type TokenEndpoint } from './token-endpoint';
import { waitFor } from './wait-for';

jest.setTimeout(180_000);

const repoRoot = join(__dirname, '..', '..', '..');
const INGEST_TOKEN = 'kafka-security-ingest-token';
const READ_TOKEN = 'kafka-security-read-token';
const SIGNING_KEY = 'kafka-security-signing-key';
const cio = { apiKey: 'security-track-key', appApiKey: 'security-app-key', siteId: 'security-site' };

/** Besides the producer and the worker, each mode starts one more of the services. */
const modes: Array<[KafkaSecurityMode, 'webhook-handler' | 'insights-processor' | 'cio-dlq']> = [
  ['tls', 'webhook-handler'],
  ['mutual-tls', 'insights-processor'],
  ['sasl-plain', 'cio-dlq'],
  ['sasl-scram-sha-512', 'webhook-handler'],
  ['sasl-oauthbearer', 'insights-processor'],
];

/** Runs the cio-dlq CLI with `env`; resolves with its exit code and output. */
function cioDlq(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'services/cio-dlq/dist/main.js'), ...args],
      { env: { PATH: process.env.PATH, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

describe('Kafka security modes, services as processes', () => {
  let dir: string;
  let certs: TestCertificates;
  let tokens: TokenEndpoint;
  let sandbox: ServiceProcess;
  let schema: TestSchema;
  let secured: SecuredBroker;

  beforeAll(async () => {
    buildServices(
      'producer',
      'cio-worker',
      'webhook-handler',
      'insights-processor',
      'cio-dlq',
      'cio-sandbox',
    );
    dir = mkdtempSync(join(tmpdir(), 'kafka-security-'));
    certs = createTestCertificates(dir);
    tokens = await startTokenEndpoint();
    sandbox = await spawnService(
      'cio-sandbox',
      {
        CIO_SITE_ID: cio.siteId,
        CIO_API_KEY: cio.apiKey,
        CIO_APP_API_KEY: cio.appApiKey,
        SANDBOX_HOST: '127.0.0.1',
      },
      { ready: '/_sandbox/operations' },
    );
    schema = await createTestSchema('kafka-security');
    secured = await startSecuredKafkaBroker(certs, tokens);
    // building the six services may take minutes on a busy machine
  }, 600_000);

  afterAll(async () => {
    await secured?.close();
    await sandbox?.stop();
    await tokens?.close();
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(modes)('%s', (mode, third) => {
    let broker: SecuredEndpoint;
    const started: ServiceProcess[] = [];
    const env = (security = broker.clientEnv) => ({
      KAFKA_BROKERS: broker.brokers.join(','),
      LOG_LEVEL: 'debug',
      ...security,
    });
    const start = async (
      name: string,
      extra: Record<string, string>,
      { ready = '/readyz' as string | false, security = broker.clientEnv } = {},
    ) => {
      const service = await spawnService(name, { ...env(security), ...extra }, { ready, timeoutMs: 90_000 });
      started.push(service);
      return service;
    };
    const expectNoSecretIn = (output: string) => {
      for (const secret of [...broker.secrets, ...tokens.issued()]) expect(output).not.toContain(secret);
    };

    beforeAll(() => {
      broker = secured.modes[mode];
    });

    // Every mode's services run against the same topics and groups, one mode after the other.
    afterAll(async () => {
      await Promise.all(started.map((service) => service.stop()));
    });

    it(`carries an event from the producer through the worker to Customer.io; ${third} connects too`, async () => {
      const requestsBefore = tokens.requests();
      // Started together: each creates its topics at start-up, safely at the same time.
      const [, producer, other] = await Promise.all([
        start('cio-worker', {
          CIO_SITE_ID: cio.siteId,
          CIO_API_KEY: cio.apiKey,
          CIO_APP_API_KEY: cio.appApiKey,
          CIO_TRACK_URL: sandbox.url,
          CIO_APP_URL: sandbox.url,
        }),
        start('producer', { INGEST_API_TOKENS: INGEST_TOKEN }),
        third === 'cio-dlq'
          ? undefined
          : start(
              third,
              third === 'webhook-handler'
                ? { CIO_WEBHOOK_SIGNING_KEYS: SIGNING_KEY }
                : { DATABASE_URL: schema.databaseUrl, INSIGHTS_API_TOKENS: READ_TOKEN },
            ),
      ]);
      const person = `person-${mode}`;
      const accepted = await fetch(`${producer.url}/v1/track`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'security_checked', identifiers: { id: person }, data: { mode } }),
      });
      expect(accepted.status).toBe(202);
      const { id } = (await accepted.json()) as { id: string };
      await waitFor(
        async () => {
          const operations = (await (await fetch(`${sandbox.url}/_sandbox/operations`)).json()) as Array<{
            id: string | null;
          }>;
          return operations.some((operation) => operation.id === id);
        },
        { timeoutMs: 60_000, what: `the ${mode} event at the sandbox` },
      );

      if (other) {
        const readiness = (await (await fetch(`${other.url}/readyz`)).json()) as {
          checks: { kafka: string };
        };
        expect(readiness.checks.kafka).toBe('ok');
      } else {
        // The CLI reads the dead-letter topic the worker created over the secured listener.
        const { code, output } = await cioDlq(['stats'], env());
        expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('customerio.dlq') });
        expectNoSecretIn(output);
      }
      if (mode === 'sasl-oauthbearer') {
        // Every process holds dozens of connections, each authenticated: one token each.
        expect(tokens.requests() - requestsBefore).toBe(3);
        expect(tokens.lastScope()).toBe('kafka');
      }
      for (const service of started) expectNoSecretIn(service.output());
    });

    if (mode === 'sasl-oauthbearer') {
      it('renews a short-lived token before it expires and keeps producing', async () => {
        tokens.setLifetime(12);
        const producer = await start('producer', { INGEST_API_TOKENS: INGEST_TOKEN });
        const kafkaCheck = async () =>
          ((await (await fetch(`${producer.url}/readyz`)).json()) as { checks: { kafka: string } }).checks
            .kafka;
        const issuedBefore = tokens.issued().length;
        // Renewal at 80% of the lifetime (readiness asks for the token): a second token.
        await waitFor(async () => (await kafkaCheck()) === 'ok' && tokens.issued().length > issuedBefore, {
          timeoutMs: 60_000,
          what: 'a renewed token',
        });
        tokens.setLifetime(3600);
        const accepted = await fetch(`${producer.url}/v1/track`, {
          method: 'POST',
          headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'security_checked', identifiers: { id: 'person-renewed' }, data: {} }),
        });
        expect(accepted.status).toBe(202);
        expectNoSecretIn(producer.output());
      });
    }

    it('ends start-up with one line and exit 1 when the broker refuses the credentials, printing no secret', async () => {
      const producer = await start(
        'producer',
        { INGEST_API_TOKENS: INGEST_TOKEN },
        { ready: false, security: broker.refusedEnv },
      );
      expect(await producer.exited).toBe(1);
      const lines = producer.errors().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^start-up failed: /);
      expectNoSecretIn(producer.output());
    });
  });
});
