// Property-based tests of the webhook receiver, as a real process on the real broker:
// signed and unsigned, valid and mutated bodies, any headers, content types and
// encodings. Never a 5xx, never a crash, a 4xx names the field or header, and only
// accepted webhooks reach Kafka.
import { signWebhook } from '@cio-bridge/cio-sandbox';
import { reportingExamples, seedPredictionExamples, validateTrackOperation } from '@cio-bridge/schemas';
import {
  answerProblem,
  buildServices,
  createTestTopics,
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

const KEY = 'webhook-fuzz-signing-key';
const MAX_BODY_BYTES = 32 * 1024;
const PATHS = ['/webhooks/customer-io', '/api/webhooks/customer-io'];

const bodies = [...Object.values(seedPredictionExamples()), ...Object.values(reportingExamples())].map(
  (example) => JSON.stringify(example),
);

/** How the request is signed: mostly right, so that bodies reach the parser and validation. */
const signing = fc.oneof(
  { weight: 8, arbitrary: fc.constant('valid' as const) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('missing' as const, 'wrong' as const, 'stale' as const, 'garbage' as const),
  },
);

function signatureHeaders(
  mode: 'valid' | 'missing' | 'wrong' | 'stale' | 'garbage',
  plain: Buffer,
): Record<string, string> {
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'valid':
      return { 'x-cio-timestamp': String(now), 'x-cio-signature': signWebhook(KEY, now, plain) };
    case 'missing':
      return {};
    case 'wrong':
      return { 'x-cio-timestamp': String(now), 'x-cio-signature': signWebhook('another-key', now, plain) };
    case 'stale':
      return {
        'x-cio-timestamp': String(now - 3_600),
        'x-cio-signature': signWebhook(KEY, now - 3_600, plain),
      };
    case 'garbage':
      return { 'x-cio-timestamp': 'yesterday', 'x-cio-signature': 'zz' };
  }
}

describe('webhook-handler fuzz', () => {
  let handler: ServiceProcess;
  const topics = testTopicNames('webhook-fuzz');

  beforeAll(async () => {
    buildServices('webhook-handler');
    const kafka = await testKafka('webhook-fuzz');
    await createTestTopics(kafka, topics);
    handler = await spawnService('webhook-handler', {
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_PREDICTIONS: topics.predictions,
      KAFKA_TOPIC_REPORTING: topics.reporting,
      KAFKA_TOPIC_TRACK: topics.track,
      CIO_WEBHOOK_SIGNING_KEYS: KEY,
      WEBHOOK_SUPPRESS_ON_BOUNCE: 'true',
      WEBHOOK_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      LOG_LEVEL: 'warn',
    });
  });

  afterAll(async () => {
    await handler?.stop();
  });

  it('answers every request without a 5xx, naming what is wrong, and publishes only accepted webhooks', async () => {
    const accepted = { predictions: 0, reporting: 0 };
    const requests = fc.tuple(
      fc.constantFrom(...PATHS),
      signing,
      fuzzRequests(fuzzBodies(bodies, MAX_BODY_BYTES), fc.constant({})),
    );
    await fc.assert(
      fc.asyncProperty(requests, async ([path, mode, request]) => {
        const headers = { ...request.headers, ...signatureHeaders(mode, request.plain) };
        const answer = await rawRequest(handler.url, { path, headers, body: request.body });
        const problem = answerProblem(answer);
        if (problem) throw new Error(problem);
        if (handler.child.exitCode !== null)
          throw new Error(`the webhook-handler exited: ${handler.output()}`);
        if (answer.status === 200 && (JSON.parse(answer.text) as { status: string }).status === 'accepted') {
          // The handler tells predictions from reporting events by these keys.
          const body = JSON.parse(request.plain.toString('utf8')) as object;
          accepted['predictions' in body || 'user_id' in body ? 'predictions' : 'reporting']++;
        }
        if (answer.status === 200 && mode !== 'valid') throw new Error(`accepted a webhook signed ${mode}`);
      }),
      { seed: fuzzSeed(), numRuns: fuzzRuns(200) },
    );

    // Each accepted webhook is one message on predictions or reporting; nothing else is.
    const kafka = await testKafka('webhook-fuzz-reader');
    const read = (topic: string, count: number) =>
      readMessages(kafka, topic, { count, timeoutMs: 20_000, settleMs: 300 });
    const [predictions, reporting] = await Promise.all([
      read(topics.predictions, accepted.predictions),
      read(topics.reporting, accepted.reporting),
    ]);
    expect(predictions).toHaveLength(accepted.predictions);
    expect(reporting).toHaveLength(accepted.reporting);
    // Suppress operations come only from accepted reporting webhooks, and are valid Track operations.
    const suppress = await readMessages(kafka, topics.track, { count: accepted.reporting, timeoutMs: 1_000 });
    expect(suppress.length).toBeLessThanOrEqual(accepted.reporting);
    for (const message of suppress)
      expect(validateTrackOperation(JSON.parse(String(message.value))).ok).toBe(true);
    expect(accepted.predictions).toBeGreaterThan(0);
    expect(accepted.reporting).toBeGreaterThan(0);
    expect((await fetch(`${handler.url}/healthz`)).status).toBe(200);
  });

  describe('with journey credentials (Basic and a secret header)', () => {
    const BASIC = { user: 'customerio', password: 'fuzz-password-0123456789' };
    const SECRET = { name: 'x-journey-secret', value: 'fuzz-header-secret-0123' };
    let journey: ServiceProcess;
    beforeAll(async () => {
      journey = await spawnService('webhook-handler', {
        KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
        KAFKA_TOPIC_PREDICTIONS: topics.predictions,
        KAFKA_TOPIC_REPORTING: topics.reporting,
        KAFKA_TOPIC_TRACK: topics.track,
        CIO_WEBHOOK_SIGNING_KEYS: KEY,
        WEBHOOK_BASIC_AUTH: `${BASIC.user}:${BASIC.password}`,
        WEBHOOK_HEADER_SECRETS: `X-Journey-Secret: ${SECRET.value}`,
        WEBHOOK_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
        LOG_LEVEL: 'warn',
      });
    });
    afterAll(async () => {
      await journey?.stop();
    });

    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    /** The journey credential sent, and whether it is a valid one. */
    const credential = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constant({
          headers: { authorization: basic(BASIC.user, BASIC.password) },
          valid: true,
        }),
      },
      { weight: 2, arbitrary: fc.constant({ headers: { [SECRET.name]: SECRET.value }, valid: true }) },
      { weight: 2, arbitrary: fc.constant({ headers: {}, valid: false }) },
      {
        weight: 3,
        arbitrary: fc
          .tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 60 }))
          .filter(([user, password]) => user !== BASIC.user || password !== BASIC.password)
          .map(([user, password]) => ({ headers: { authorization: basic(user, password) }, valid: false })),
      },
      {
        weight: 2,
        arbitrary: fc
          .string({ unit: 'grapheme-ascii', maxLength: 80 })
          .map((value) => ({ headers: { authorization: value }, valid: false })),
      },
      {
        weight: 2,
        arbitrary: fc
          .string({ unit: 'grapheme-ascii', maxLength: 80 })
          .filter((value) => value.trim() !== SECRET.value)
          .map((value) => ({ headers: { [SECRET.name]: value }, valid: false })),
      },
    );

    it('never answers 5xx, accepts only a valid signature or credential, and reporting only signed', async () => {
      const requests = fc.tuple(
        fc.constantFrom(...PATHS),
        signing,
        credential,
        fuzzRequests(fuzzBodies(bodies, MAX_BODY_BYTES), fc.constant({})),
      );
      await fc.assert(
        fc.asyncProperty(requests, async ([path, mode, sent, request]) => {
          const headers = { ...request.headers, ...sent.headers, ...signatureHeaders(mode, request.plain) };
          const answer = await rawRequest(journey.url, { path, headers, body: request.body });
          const problem = answerProblem(answer);
          if (problem) throw new Error(problem);
          if (journey.child.exitCode !== null)
            throw new Error(`the webhook-handler exited: ${journey.output()}`);
          if (answer.status === 200) {
            if (mode !== 'valid' && !sent.valid)
              throw new Error('accepted a webhook without a valid signature or credential');
            const body = JSON.parse(request.plain.toString('utf8')) as unknown;
            const reporting =
              typeof body === 'object' && body !== null && ('metric' in body || 'object_type' in body);
            if (mode !== 'valid' && reporting) throw new Error('accepted an unsigned reporting webhook');
          }
          if (answer.status === 401 && !String(answer.headers['www-authenticate']).startsWith('Basic '))
            throw new Error('a 401 without WWW-Authenticate: Basic');
        }),
        { seed: fuzzSeed(), numRuns: fuzzRuns(150) },
      );
      const output = journey.output();
      expect(output).not.toContain(BASIC.password);
      expect(output).not.toContain(SECRET.value);
    });
  });
});
