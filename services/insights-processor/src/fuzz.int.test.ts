// Property-based tests of the read API, as a real process on the real broker and
// database: any id in the path (long, unicode, malformed percent-encoding), any
// method, any Authorization. Never a 5xx, never a crash, a 4xx names the field or
// header, and no answer without a valid token carries anybody's features.
import {
  answerProblem,
  buildServices,
  createTestSchema,
  fuzzRuns,
  fuzzSeed,
  rawRequest,
  type ServiceProcess,
  spawnService,
  type TestSchema,
  testKafkaBrokers,
  testTopicNames,
} from '@cio-bridge/testkit';
import fc from 'fast-check';
import pg from 'pg';

jest.setTimeout(300_000);

const TOKEN = 'read-api-fuzz-token-0123';
const KNOWN = ['user-1', 'ada@example.com', 'ü-42'];

const authorization = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Record<string, string>>({ authorization: `Bearer ${TOKEN}` }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom<Record<string, string>>(
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` },
      { authorization: 'Bearer ' },
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'grapheme-ascii', maxLength: 60 })
      .map((value) => ({ authorization: value })),
  },
);

/** Path segments for the id: known users, unicode, very long, control characters, bad percent-encoding. */
const id = fc.oneof(
  fc.constantFrom(...KNOWN.map(encodeURIComponent)),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
  fc
    .string({ unit: 'binary', maxLength: 40 })
    .map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, ''))),
  fc.integer({ min: 1, max: 3_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom(
    '%',
    '%zz',
    '%E0%A4',
    '%ED%A0%80',
    '%00',
    '%0A',
    '..',
    '.',
    '%2F',
    '-1',
    '1e9',
    '99999999999999999999999',
  ),
  fc.stringMatching(/^[A-Za-z0-9%._~-]{1,30}$/),
);

describe('read API fuzz', () => {
  let schema: TestSchema;
  let service: ServiceProcess;

  beforeAll(async () => {
    buildServices('insights-processor');
    schema = await createTestSchema('read-fuzz');
    const topics = testTopicNames('read-fuzz');
    service = await spawnService('insights-processor', {
      DATABASE_URL: schema.databaseUrl,
      KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
      KAFKA_TOPIC_PREDICTIONS: topics.predictions,
      KAFKA_TOPIC_REPORTING: topics.reporting,
      INSIGHTS_API_TOKENS: TOKEN,
      LOG_LEVEL: 'warn',
    });
    const db = new pg.Client({ connectionString: schema.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `INSERT INTO users (id, ai_features, ai_features_updated_at) SELECT unnest($1::text[]), '{"churn":0.5}', now()`,
        [KNOWN],
      );
    } finally {
      await db.end();
    }
  });

  afterAll(async () => {
    await service?.stop();
    await schema?.drop();
  });

  it('answers every request without a 5xx, naming what is wrong, and serves features only with a token', async () => {
    const statuses = new Map<number, number>();
    const requests = fc.tuple(
      fc.oneof(
        { weight: 8, arbitrary: fc.constant('GET') },
        { weight: 1, arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'HEAD') },
      ),
      id,
      fc.oneof(
        { weight: 6, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('?x=1', '?id=2&id=3', '?%zz') },
      ),
      authorization,
    );
    await fc.assert(
      fc.asyncProperty(requests, async ([method, userId, query, headers]) => {
        const path = `/v1/users/${userId}/ai-features${query}`;
        const answer = await rawRequest(service.url, { method, path, headers });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        // HEAD answers carry no body to name anything in.
        const problem =
          method === 'HEAD'
            ? answer.status >= 500
              ? `answered ${answer.status}`
              : undefined
            : answerProblem(answer);
        if (problem) throw new Error(`${method} ${path}: ${problem}`);
        if (service.child.exitCode !== null)
          throw new Error(`the insights-processor exited: ${service.output()}`);
        const authorized =
          headers.authorization !== undefined &&
          /^Bearer +read-api-fuzz-token-0123 *$/i.test(headers.authorization);
        if (answer.text.includes('churn') && !authorized)
          throw new Error(`features without a token: ${method} ${path}`);
      }),
      { seed: fuzzSeed(), numRuns: fuzzRuns(300) },
    );
    // The run reached every kind of answer.
    for (const status of [200, 400, 401, 404]) expect(statuses.get(status)).toBeGreaterThan(0);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });
});
