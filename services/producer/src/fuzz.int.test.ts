// Property-based tests of the producer's API, as a real process on the real broker:
// whatever the body, headers, content type, encoding or size, the answer is never a
// 5xx, the process keeps running, a 4xx names the field or header, and nothing but
// what was accepted reaches Kafka.
import { operationExamples, seedExamples, transactionalExamples } from '@cio-bridge/schemas';
import {
  abortedRequest,
  answerProblem,
  buildServices,
  fuzzBodies,
  fuzzRequests,
  fuzzRuns,
  fuzzSeed,
  rawRequest,
  readMessages,
  type ServiceProcess,
  spawnService,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
} from '@cio-bridge/testkit';
import fc from 'fast-check';

jest.setTimeout(300_000);

const TOKEN = 'producer-fuzz-token-0123';
const MAX_BODY_BYTES = 64 * 1024;

const track = [...Object.values(seedExamples()), ...Object.values(operationExamples())].map((op) =>
  JSON.stringify(op),
);
const batches = [JSON.stringify({ batch: Object.values(seedExamples()).slice(0, 3) })];
const sends = Object.values(transactionalExamples()).map((send) => JSON.stringify(send));

const authorization: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Record<string, string>>({ authorization: `Bearer ${TOKEN}` }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Record<string, string>>(
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
      { authorization: 'Bearer' },
      { authorization: `bearer   ${TOKEN}` },
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'grapheme-ascii', maxLength: 40 })
      .map((authorization) => ({ authorization })),
  },
);

describe('producer fuzz', () => {
  let producer: ServiceProcess;
  const topics = testTopicNames('producer-fuzz');

  beforeAll(async () => {
    buildServices('producer');
    producer = await spawnService('producer', {
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_TRACK: topics.track,
      KAFKA_TOPIC_TRANSACTIONAL: topics.transactional,
      INGEST_API_TOKENS: TOKEN,
      PRODUCER_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      PRODUCER_MAX_BATCH_ITEMS: '20',
      LOG_LEVEL: 'warn',
    });
  });

  afterAll(async () => {
    await producer?.stop();
  });

  it('answers every request without a 5xx, naming what is wrong, and publishes only what it accepted', async () => {
    // Ids of every accepted operation, as often as accepted (examples carry ids of their own).
    const accepted: Record<'track' | 'transactional', string[]> = { track: [], transactional: [] };
    const route = fc.constantFrom('track', 'transactional' as const);
    const requests = route.chain((name) =>
      fuzzRequests(
        fuzzBodies(name === 'track' ? [...track, ...batches] : sends, MAX_BODY_BYTES),
        authorization,
      ).map((request) => ({ name, request })),
    );
    await fc.assert(
      fc.asyncProperty(requests, async ({ name, request }) => {
        const answer = await rawRequest(producer.url, {
          path: `/v1/${name}`,
          headers: request.headers,
          body: request.body,
        });
        const problem = answerProblem(answer);
        if (problem) throw new Error(problem);
        if (producer.child.exitCode !== null) throw new Error(`the producer exited: ${producer.output()}`);
        if (answer.status === 202) accepted[name].push(...(JSON.parse(answer.text) as { ids: string[] }).ids);
      }),
      { seed: fuzzSeed(), numRuns: fuzzRuns(250) },
    );

    // Everything on the topics was accepted, and everything accepted is on them.
    const kafka = await testKafka('producer-fuzz-reader');
    for (const name of ['track', 'transactional'] as const) {
      // Waits a little past the expected count, for any message that should not be there.
      const messages = await readMessages(kafka, topics[name], {
        count: accepted[name].length,
        timeoutMs: 20_000,
        settleMs: 500,
      });
      const ids = messages.map((message) => String(message.headers?.['x-operation-id']));
      expect(ids.sort()).toEqual([...accepted[name]].sort());
    }
    expect(accepted.track.length).toBeGreaterThan(0);
    expect(accepted.transactional.length).toBeGreaterThan(0);
    expect((await fetch(`${producer.url}/healthz`)).status).toBe(200);
  });

  it('survives clients that hang up in the middle of a request', async () => {
    const body = Buffer.from(JSON.stringify({ batch: Object.values(seedExamples()) }));
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: body.length }),
        fc.constantFrom('track', 'transactional'),
        async (sent, name) => {
          await abortedRequest(producer.url, {
            path: `/v1/${name}`,
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
            body,
            sent,
          });
          if (producer.child.exitCode !== null) throw new Error(`the producer exited: ${producer.output()}`);
        },
      ),
      { seed: fuzzSeed(), numRuns: fuzzRuns(30) },
    );
    expect((await fetch(`${producer.url}/healthz`)).status).toBe(200);
  });
});
