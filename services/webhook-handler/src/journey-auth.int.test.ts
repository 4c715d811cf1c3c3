// Journey webhooks (Customer.io's "send and receive data" action cannot sign): Basic
// credentials in the URL or a secret header, against the built handler as a real
// process and the real broker. The signed path stays exactly as it was.
import { request as httpRequest } from 'node:http';
import { signWebhook } from '@cio-bridge/cio-sandbox';
import { reportingExamples } from '@cio-bridge/schemas';
import {
  buildServices,
  createTestTopics,
  readMessages,
  type ServiceProcess,
  spawnService,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
} from '@cio-bridge/testkit';
import type { Kafka } from 'kafkajs';

jest.setTimeout(180_000);

const KEY = 'whsec-journey-auth';
const OLD = { user: 'customerio', password: 'old-password-0123456789' };
const NEW = { user: 'customerio', password: 'new-password-9876543210' };
const HEADER = { name: 'X-Journey-Secret', value: 'header-secret-0123456789' };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** POSTs as Customer.io does: credentials in the URL become an Authorization: Basic header. */
function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(url),
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const withCredentials = (base: string, { user, password }: { user: string; password: string }) => {
  const url = new URL(`${base}/webhooks/customer-io`);
  url.username = user;
  url.password = password;
  return url.toString();
};

let sequence = 0;
const prediction = () =>
  JSON.stringify({ user_id: 70_000 + sequence++, predictions: { churn_probability: 0.42 } });

describe('webhook-handler: journey webhook authentication', () => {
  const topics = testTopicNames('webhook-journey');
  let kafka: Kafka;
  let brokers: string;
  const services: ServiceProcess[] = [];
  const start = async (env: Record<string, string>) => {
    const service = await spawnService('webhook-handler', {
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREDICTIONS: topics.predictions,
      KAFKA_TOPIC_REPORTING: topics.reporting,
      KAFKA_TOPIC_TRACK: topics.track,
      KAFKA_TOPIC_QUARANTINE: topics.quarantine,
      ...env,
    });
    services.push(service);
    return service;
  };
  let handler: ServiceProcess;

  beforeAll(async () => {
    buildServices('webhook-handler');
    kafka = await testKafka('webhook-journey');
    await createTestTopics(kafka, topics);
    brokers = (await testKafkaBrokers()).join(',');
    handler = await start({
      CIO_WEBHOOK_SIGNING_KEYS: KEY,
      WEBHOOK_BASIC_AUTH: `${OLD.user}:${OLD.password},${NEW.user}:${NEW.password}`,
      WEBHOOK_HEADER_SECRETS: `${HEADER.name}: ${HEADER.value}`,
      LOG_LEVEL: 'debug',
    });
  });
  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
  });

  it('accepts Basic credentials in the URL and publishes the prediction', async () => {
    const body = prediction();
    const answer = await post(withCredentials(handler.url, NEW), body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).status).toBe('accepted');
    const user = JSON.parse(body).user_id;
    const published = await readMessages(kafka, topics.predictions, { count: 1, timeoutMs: 20_000 });
    const values = published.map((m) => JSON.parse(String(m.value)));
    expect(values.find((v) => v.user_id === user)).toMatchObject({
      predictions: { churn_probability: 0.42 },
    });
  });

  it('accepts both pairs during a rotation', async () => {
    expect((await post(withCredentials(handler.url, OLD), prediction())).status).toBe(200);
    expect((await post(withCredentials(handler.url, NEW), prediction())).status).toBe(200);
  });

  it('refuses a wrong password and a missing credential with 401 and WWW-Authenticate: Basic', async () => {
    const wrong = await post(
      withCredentials(handler.url, { ...NEW, password: `${NEW.password}x` }),
      prediction(),
    );
    expect(wrong.status).toBe(401);
    expect(String(wrong.headers['www-authenticate'])).toMatch(/^Basic /);
    expect(JSON.parse(wrong.body).error).toMatch(/credential does not match/);
    const wrongUser = await post(withCredentials(handler.url, { ...NEW, user: 'someone' }), prediction());
    expect(wrongUser.status).toBe(401);
    const missing = await post(`${handler.url}/webhooks/customer-io`, prediction());
    expect(missing.status).toBe(401);
    expect(String(missing.headers['www-authenticate'])).toMatch(/^Basic /);
    expect(JSON.parse(missing.body).error).toMatch(/missing credentials/);
  });

  it('accepts the secret header, and refuses a wrong value', async () => {
    const url = `${handler.url}/webhooks/customer-io`;
    expect((await post(url, prediction(), { [HEADER.name]: HEADER.value })).status).toBe(200);
    expect((await post(url, prediction(), { [HEADER.name]: `${HEADER.value}-` })).status).toBe(401);
  });

  it('refuses a reporting webhook with Basic but no signature, and takes it signed', async () => {
    const raw = JSON.stringify(reportingExamples().email_bounced);
    const basic = await post(withCredentials(handler.url, NEW), raw);
    expect(basic.status).toBe(401);
    expect(JSON.parse(basic.body).error).toMatch(/reporting webhooks must carry Customer.io's signature/);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signed = await post(`${handler.url}/webhooks/customer-io`, raw, {
      'X-CIO-Timestamp': timestamp,
      'X-CIO-Signature': signWebhook(KEY, timestamp, raw),
    });
    expect(signed.status).toBe(200);
  });

  it('takes a journey webhook’s replay as a replay (keyed on its body)', async () => {
    const body = prediction();
    expect(JSON.parse((await post(withCredentials(handler.url, NEW), body)).body).status).toBe('accepted');
    expect(JSON.parse((await post(withCredentials(handler.url, OLD), body)).body).status).toBe('replayed');
  });

  it('never logs a credential', () => {
    const output = handler.output();
    for (const secret of [OLD.password, NEW.password, HEADER.value, KEY])
      expect(output).not.toContain(secret);
    expect(output).not.toContain(Buffer.from(`${NEW.user}:${NEW.password}`).toString('base64'));
  });

  it('with WEBHOOK_PREDICTIONS_AUTH=signature refuses a journey prediction', async () => {
    const strict = await start({
      CIO_WEBHOOK_SIGNING_KEYS: KEY,
      WEBHOOK_BASIC_AUTH: `${NEW.user}:${NEW.password}`,
      WEBHOOK_PREDICTIONS_AUTH: 'signature',
    });
    const answer = await post(withCredentials(strict.url, NEW), prediction());
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).error).toMatch(/WEBHOOK_PREDICTIONS_AUTH=signature/);
  });

  it('answers 403 from outside WEBHOOK_ALLOWED_SOURCES before reading anything, and honours TRUST_PROXY', async () => {
    const direct = await start({
      WEBHOOK_BASIC_AUTH: `${NEW.user}:${NEW.password}`,
      WEBHOOK_ALLOWED_SOURCES: '203.0.113.0/24, 2001:db8::/32',
    });
    // Valid credentials, but 127.0.0.1 is not allowed; the forwarded address is not trusted.
    const outside = await post(withCredentials(direct.url, NEW), prediction(), {
      'X-Forwarded-For': '203.0.113.7',
    });
    expect(outside.status).toBe(403);
    expect(JSON.parse(outside.body).error).toMatch(/source address is not allowed/);
    // Refused before the body is looked at: not even its content type is checked.
    expect(
      (await post(`${direct.url}/webhooks/customer-io`, 'x', { 'content-type': 'text/plain' })).status,
    ).toBe(403);

    const proxied = await start({
      WEBHOOK_BASIC_AUTH: `${NEW.user}:${NEW.password}`,
      WEBHOOK_ALLOWED_SOURCES: '203.0.113.0/24',
      TRUST_PROXY: 'loopback',
    });
    const allowed = await post(withCredentials(proxied.url, NEW), prediction(), {
      'X-Forwarded-For': '203.0.113.7',
    });
    expect(allowed.status).toBe(200);
    const elsewhere = await post(withCredentials(proxied.url, NEW), prediction(), {
      'X-Forwarded-For': '198.51.100.1',
    });
    expect(elsewhere.status).toBe(403);
  });

  it('refuses to start with neither a signing key nor a journey credential, naming both', async () => {
    const none = await spawnService('webhook-handler', { KAFKA_BROKERS: brokers }, { ready: false });
    services.push(none);
    expect(await none.exited).not.toBe(0);
    expect(none.output()).toMatch(
      /configuration error: CIO_WEBHOOK_SIGNING_KEYS is required unless journey credentials are set \(WEBHOOK_BASIC_AUTH or WEBHOOK_HEADER_SECRETS\)/,
    );
    const weak = await spawnService(
      'webhook-handler',
      { KAFKA_BROKERS: brokers, WEBHOOK_BASIC_AUTH: 'customerio:tooshort' },
      { ready: false },
    );
    services.push(weak);
    expect(await weak.exited).not.toBe(0);
    expect(weak.output()).toContain('WEBHOOK_BASIC_AUTH must hold passwords of at least 16 characters');
    expect(weak.output()).not.toContain('tooshort');
  });
});
