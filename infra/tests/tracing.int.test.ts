// A real trace across Kafka: an HTTP request carrying a W3C traceparent goes through
// the producer (a real process) into Kafka, the worker (a real process) delivers it to
// the Customer.io sandbox; both export over OTLP/HTTP to a local receiver. One trace
// id from the caller to the Customer.io request, each span the child of the one
// before; and the dead-letter topic carries the trace on.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { seedExamples } from '@cio-bridge/schemas';
import {
  createTestSchema,
  createTestTopics,
  readMessages,
  type TestSchema,
  testKafka,
  testKafkaBrokers,
  testTopicNames,
  waitFor,
} from '@cio-bridge/testkit';
import { repoPath } from './helpers';

jest.setTimeout(180_000);

interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  kind: number;
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, unknown>;
}

type OtlpValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
const attributesOf = (list: { key: string; value: OtlpValue }[] = []): Record<string, unknown> =>
  Object.fromEntries(
    list.map(({ key, value }) => [
      key,
      value.stringValue ??
        (value.intValue === undefined ? (value.boolValue ?? value.doubleValue) : Number(value.intValue)),
    ]),
  );

const TOKEN = 'trace-test-token-0123456789';
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

const processes: ChildProcess[] = [];
let receiver: Server | undefined;
let schema: TestSchema | undefined;
afterAll(async () => {
  await Promise.all(
    processes.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
        }),
    ),
  );
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  await schema?.drop();
});

/** An OTLP/HTTP (JSON) trace receiver: what the services' exporters send, span by span. */
async function startReceiver(spans: ReceivedSpan[]): Promise<string> {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const payload = JSON.parse(body || '{}');
      for (const resourceSpans of payload.resourceSpans ?? []) {
        const service =
          resourceSpans.resource?.attributes?.find((a: { key: string }) => a.key === 'service.name')?.value
            ?.stringValue ?? '';
        for (const scope of resourceSpans.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            spans.push({
              service,
              name: span.name,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId || undefined,
              kind: span.kind,
              links: (span.links ?? []).map((l: { traceId: string; spanId: string }) => ({
                traceId: l.traceId,
                spanId: l.spanId,
              })),
              attributes: attributesOf(span.attributes),
            });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(receiver!.address() as AddressInfo).port}/v1/traces`;
}

function start(service: string, env: NodeJS.ProcessEnv, logs: string[]): void {
  const child = spawn(process.execPath, [repoPath('infra', 'run-service.mjs'), service], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => logs.push(String(chunk)));
  child.stderr?.on('data', (chunk) => logs.push(String(chunk)));
  processes.push(child);
}

const ready = (url: string, logs: string[]) =>
  waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok, { timeoutMs: 90_000 }).catch(
    (error: Error) => {
      throw new Error(`${error.message}: ${logs.join('')}`);
    },
  );

it('one trace from the caller through the producer, Kafka and the worker to Customer.io', async () => {
  const spans: ReceivedSpan[] = [];
  const endpoint = await startReceiver(spans);
  const kafka = await testKafka();
  const topics = testTopicNames('trace');
  await createTestTopics(kafka, topics);
  const ports = { sandbox: await freePort(), producer: await freePort(), worker: await freePort() };
  const sandbox = `http://127.0.0.1:${ports.sandbox}`;
  const credentials = { CIO_SITE_ID: 'trace-site', CIO_API_KEY: 'trace-key', CIO_APP_API_KEY: 'trace-app' };
  const kafkaEnv = {
    KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
    KAFKA_TOPIC_TRACK: topics.track,
    KAFKA_TOPIC_TRANSACTIONAL: topics.transactional,
    KAFKA_TOPIC_DLQ: topics.dlq,
  };
  const otel = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
  const logs: Record<string, string[]> = { sandbox: [], producer: [], worker: [] };
  start(
    'cio-sandbox',
    { ...credentials, PORT: String(ports.sandbox), SANDBOX_HOST: '127.0.0.1' },
    logs.sandbox!,
  );
  start(
    'producer',
    { ...kafkaEnv, ...otel, INGEST_API_TOKENS: TOKEN, PORT: String(ports.producer) },
    logs.producer!,
  );
  start(
    'cio-worker',
    {
      ...kafkaEnv,
      ...otel,
      ...credentials,
      CIO_TRACK_URL: sandbox,
      CIO_APP_URL: sandbox,
      KAFKA_GROUP_ID: `${topics.track}.worker`,
      WORKER_MAX_ATTEMPTS: '1',
      PORT: String(ports.worker),
    },
    logs.worker!,
  );
  await ready(sandbox, logs.sandbox!);
  await ready(`http://127.0.0.1:${ports.producer}`, logs.producer!);
  await ready(`http://127.0.0.1:${ports.worker}`, logs.worker!);

  const caller = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
  const [example] = Object.values(seedExamples());
  const send = (traceId: string, person: string) =>
    fetch(`http://127.0.0.1:${ports.producer}/v1/track`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
        traceparent: `00-${traceId}-${caller.spanId}-01`,
      },
      body: JSON.stringify({ ...example, id: undefined, identifiers: { id: person } }),
    });
  expect((await send(caller.traceId, 'traced-person')).status).toBe(202);

  const inTrace = (traceId: string) => spans.filter((span) => span.traceId === traceId);
  await waitFor(() => inTrace(caller.traceId).some((span) => span.service === 'cio-bridge-cio-worker'), {
    timeoutMs: 60_000,
    what: 'the worker span of the traced operation',
  }).catch((error: Error) => {
    throw new Error(`${error.message}; spans: ${JSON.stringify(spans)}; worker: ${logs.worker!.join('')}`);
  });
  const publish = inTrace(caller.traceId).find((span) => span.service === 'cio-bridge-producer');
  expect(publish).toMatchObject({ name: `send ${topics.track}`, parentSpanId: caller.spanId, kind: 4 }); // PRODUCER
  // the messaging conventions; the message key (a person's identifier) is never recorded
  expect(publish!.attributes).toMatchObject({
    'messaging.system': 'kafka',
    'messaging.operation.type': 'send',
    'messaging.destination.name': topics.track,
  });
  expect(JSON.stringify(publish!.attributes)).not.toContain('traced-person');

  const worker = await waitFor(
    () => {
      const ofWorker = inTrace(caller.traceId).filter((span) => span.service === 'cio-bridge-cio-worker');
      const http = ofWorker.find((span) => span.kind === 3);
      return http && ofWorker.length >= 2 ? ofWorker : undefined;
    },
    { timeoutMs: 30_000, what: 'the worker process and HTTP spans' },
  );
  const processSpan = worker.find((span) => span.kind === 5); // CONSUMER
  expect(processSpan).toMatchObject({ name: `process ${topics.track}`, parentSpanId: publish!.spanId });
  expect(processSpan!.links).toEqual([{ traceId: caller.traceId, spanId: publish!.spanId }]);
  expect(processSpan!.attributes).toMatchObject({
    'messaging.system': 'kafka',
    'messaging.operation.type': 'process',
    'messaging.destination.name': topics.track,
    'messaging.destination.partition.id': expect.stringMatching(/^\d+$/),
    'messaging.kafka.offset': expect.any(Number),
  });
  // the producer's span names where Kafka put the message: where the worker read it
  expect(publish!.attributes).toMatchObject({
    'messaging.destination.partition.id': processSpan!.attributes['messaging.destination.partition.id'],
    'messaging.kafka.offset': processSpan!.attributes['messaging.kafka.offset'],
  });
  const request = worker.find((span) => span.kind === 3); // CLIENT: the Customer.io call
  expect(request).toMatchObject({ name: 'POST', parentSpanId: processSpan!.spanId });
  expect(request!.attributes).toMatchObject({
    'http.request.method': 'POST',
    'server.address': '127.0.0.1',
    'http.response.status_code': 200,
  });
  for (const span of [...worker, publish!])
    expect(JSON.stringify(span.attributes)).not.toContain('traced-person');
  const people = await (await fetch(`${sandbox}/_sandbox/people/traced-person`)).json();
  expect(people).toBeTruthy();

  // A dead letter keeps the operation's trace context.
  await fetch(`${sandbox}/_sandbox/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 400, rate: 1 }),
  });
  const failing = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  expect((await send(failing, 'traced-dead-letter')).status).toBe(202);
  const [letter] = await readMessages(kafka, topics.dlq, { count: 1, timeoutMs: 60_000 });
  expect(String(letter!.headers?.traceparent)).toMatch(new RegExp(`^00-${failing}-[0-9a-f]{16}-01$`));
  const failed = await waitFor(
    () => inTrace(failing).find((span) => span.service === 'cio-bridge-cio-worker' && span.kind === 3),
    { timeoutMs: 30_000, what: 'the failed request span' },
  );
  expect(failed.attributes['http.response.status_code']).toBe(400);
  const failedProcess = inTrace(failing).find((span) => span.spanId === failed.parentSpanId);
  expect(failedProcess).toMatchObject({
    kind: 5,
    parentSpanId: String(letter!.headers?.traceparent).split('-')[2],
  });
});

it('one trace from a signed webhook through the webhook-handler, Kafka and insights-processor to Postgres', async () => {
  const spans: ReceivedSpan[] = [];
  receiver?.close();
  const endpoint = await startReceiver(spans);
  const kafka = await testKafka();
  const topics = testTopicNames('trace-inbound');
  await createTestTopics(kafka, topics);
  schema = await createTestSchema('trace');
  const ports = { webhook: await freePort(), insights: await freePort() };
  const kafkaEnv = {
    KAFKA_BROKERS: (await testKafkaBrokers()).join(','),
    KAFKA_TOPIC_TRACK: topics.track,
    KAFKA_TOPIC_PREDICTIONS: topics.predictions,
    KAFKA_TOPIC_REPORTING: topics.reporting,
  };
  const otel = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
  const key = 'trace-signing-key';
  const logs: Record<string, string[]> = { webhook: [], insights: [] };
  start(
    'webhook-handler',
    { ...kafkaEnv, ...otel, CIO_WEBHOOK_SIGNING_KEYS: key, PORT: String(ports.webhook) },
    logs.webhook!,
  );
  start(
    'insights-processor',
    {
      ...kafkaEnv,
      ...otel,
      DATABASE_URL: schema.databaseUrl,
      KAFKA_GROUP_ID: `${topics.predictions}.insights`,
      INSIGHTS_API_AUTH: 'none',
      PORT: String(ports.insights),
    },
    logs.insights!,
  );
  await ready(`http://127.0.0.1:${ports.webhook}`, logs.webhook!);
  await ready(`http://127.0.0.1:${ports.insights}`, logs.insights!);

  const caller = { traceId: '7a1e5c4b3d2f1e0a9b8c7d6e5f4a3b2c', spanId: '1122334455667788' };
  const body = JSON.stringify({ user_id: 424242, predictions: { churn_probability: 0.4 } });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const response = await fetch(`http://127.0.0.1:${ports.webhook}/webhooks/customer-io`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-cio-timestamp': timestamp,
      'x-cio-signature': createHmac('sha256', key).update(`v0:${timestamp}:${body}`).digest('hex'),
      traceparent: `00-${caller.traceId}-${caller.spanId}-01`,
    },
    body,
  });
  expect(response.status).toBe(200);
  const inTrace = () => spans.filter((span) => span.traceId === caller.traceId);
  await waitFor(() => inTrace().some((span) => span.service === 'cio-bridge-insights-processor'), {
    timeoutMs: 60_000,
    what: 'the insights span of the traced prediction',
  }).catch((error: Error) => {
    throw new Error(
      `${error.message}; spans: ${JSON.stringify(spans)}; insights: ${logs.insights!.join('')}`,
    );
  });
  const check = inTrace().find((span) => span.name === 'webhook check');
  const publish = inTrace().find((span) => span.name === 'publish webhook');
  const merge = inTrace().find((span) => span.service === 'cio-bridge-insights-processor');
  expect(check).toMatchObject({ service: 'cio-bridge-webhook-handler', parentSpanId: caller.spanId });
  expect(publish).toMatchObject({ service: 'cio-bridge-webhook-handler', parentSpanId: caller.spanId });
  expect(merge).toMatchObject({ name: 'postgres merge users.ai_features', parentSpanId: publish!.spanId });
  expect(merge!.links).toEqual([{ traceId: caller.traceId, spanId: publish!.spanId }]);
});
