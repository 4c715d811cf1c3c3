import { createHttpApp, createRegistry } from '@cio-bridge/http';
import { createKafka, kafkaReadiness } from '@cio-bridge/kafka';
import request from 'supertest';
import { type DedicatedBroker, startKafkaBroker } from './dedicated-broker';
import { testLogger } from './logger';
import { waitFor } from './wait-for';

jest.setTimeout(120_000);

let broker: DedicatedBroker;
beforeAll(async () => {
  broker = await startKafkaBroker();
});
afterAll(() => broker?.close());

it('readyz turns unready when the broker stops and ready again when it returns', async () => {
  const logger = testLogger();
  const kafka = createKafka({ brokers: broker.brokers, clientId: 'readiness-test' }, logger);
  const app = createHttpApp({
    logger,
    registry: createRegistry(),
    readiness: { kafka: kafkaReadiness(kafka, 1_000) },
  });
  const status = async () => (await request(app).get('/readyz')).status;

  await waitFor(async () => (await status()) === 200, { what: 'ready with the broker up' });
  await broker.stop();
  const body = (await request(app).get('/readyz').expect(503)).body;
  expect(body.status).toBe('not ready');
  expect(body.checks.kafka).not.toBe('ok');
  await broker.start();
  await waitFor(async () => (await status()) === 200, {
    timeoutMs: 60_000,
    what: 'ready after the broker returned',
  });
});
