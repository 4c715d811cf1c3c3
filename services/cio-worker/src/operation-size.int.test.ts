// Customer.io's 32 KB limit applies to what the worker sends (the Track API's v2
// operation or v1 anonymous event, or a Pipelines call, each with an id and a timestamp
// added); the producer checks it on the largest item the worker could send on any output.
// Events just under the limit as received must be refused by the producer (400) or
// delivered: never accepted with 202 and then dead-lettered as invalid by the worker.
import { DEFAULT_CREDENTIALS } from '@cio-bridge/cio-sandbox';
import { LIMITS } from '@cio-bridge/schemas';
import { buildServices, type ServiceProcess, spawnService, testKafkaBrokers } from '@cio-bridge/testkit';
import { createHarness, credentials, type Harness, waitForOperations } from './testing/integration-harness';

jest.setTimeout(120_000);

const TOKEN = 'operation-size-test-token';

/**
 * An event whose JSON text (as the client sends it, without an id) is exactly `bytes`
 * long: of a known person, or anonymous (whose Pipelines call is larger than its v1 event).
 */
function eventOfSize(bytes: number, person: string, anonymous: boolean): string {
  const who = anonymous ? { anonymous_id: person } : { identifiers: { id: person } };
  const base = JSON.stringify({ name: 'page_viewed', ...who, data: { blob: '' } });
  return JSON.stringify({ name: 'page_viewed', ...who, data: { blob: 'x'.repeat(bytes - base.length) } });
}

describe.each(['track', 'pipelines'])(
  'the 32 KB operation limit, from the producer to the worker on CIO_API=%s',
  (api) => {
    let harness: Harness;
    const services: ServiceProcess[] = [];

    beforeAll(async () => {
      buildServices('producer', 'cio-worker');
      harness = await createHarness(`op-size-${api}`);
      const output: Record<string, string> =
        api === 'track'
          ? {}
          : {
              CIO_API: 'pipelines',
              CIO_PIPELINES_API_KEY: DEFAULT_CREDENTIALS.pipelinesApiKey,
              CIO_PIPELINES_URL: harness.sandbox.url,
            };
      const kafka = {
        KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
        KAFKA_TOPIC_TRACK: harness.topics.track,
        KAFKA_TOPIC_TRANSACTIONAL: harness.topics.transactional,
        KAFKA_TOPIC_DLQ: harness.topics.dlq,
      };
      const [producer, worker] = await Promise.all([
        spawnService('producer', { ...kafka, INGEST_API_TOKENS: TOKEN, LOG_LEVEL: 'warn' }),
        spawnService('cio-worker', {
          ...kafka,
          KAFKA_GROUP_ID: harness.groupId,
          CIO_SITE_ID: harness.siteId,
          CIO_API_KEY: credentials.apiKey,
          CIO_APP_API_KEY: credentials.appApiKey,
          CIO_TRACK_URL: harness.sandbox.url,
          CIO_APP_URL: harness.sandbox.url,
          LOG_LEVEL: 'warn',
          ...output,
        }),
      ]);
      services.push(producer!, worker!);
    });

    afterAll(async () => {
      await Promise.all(services.map((service) => service.stop()));
      await harness?.close();
    });

    it('accepts only events that Customer.io accepts, as the worker sends them', async () => {
      const [producer] = services;
      const accepted: string[] = [];
      const refused: string[] = [];
      for (let i = 0; i < 30; i++) {
        const bytes = 32_600 + 10 * (i % 15);
        const anonymous = i >= 15;
        const response = await fetch(`${producer!.url}/v1/track`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: eventOfSize(bytes, `size-${bytes}`, anonymous),
        });
        const body = (await response.json()) as {
          id?: string;
          error?: string;
          details?: { message: string }[];
        };
        if (response.status === 202) accepted.push(body.id!);
        else {
          expect(response.status).toBe(400);
          expect(body.details?.[0]?.message).toMatch(
            new RegExp(`as sent to Customer.io .*more than the limit of ${LIMITS.operationBytes} bytes`),
          );
          refused.push(`${anonymous ? 'anonymous' : 'person'} ${bytes}`);
        }
      }
      // Both sides of the limit are in the range, for both kinds of event.
      for (const kind of ['person', 'anonymous']) {
        expect(refused.filter((r) => r.startsWith(kind)).length).toBeGreaterThan(0);
        expect(refused.filter((r) => r.startsWith(kind)).length).toBeLessThan(15);
      }
      await waitForOperations(harness, accepted);
      const letters = await harness.deadLetters({ count: 1, timeoutMs: 2_000 });
      expect(letters.map((letter) => String(letter.headers?.['x-dlq-error-message']))).toEqual([]);
    });
  },
);
