import { Writable } from 'node:stream';
import { createLogger } from '@cio-bridge/logger';
import { Registry } from 'prom-client';
import { DeliveryError } from '../errors';
import { createWorkerMetrics } from '../metrics';
import { ApiHealth } from './api-health';
import { Faults } from './faults';

/** An ApiHealth whose log lines are kept as parsed JSON. */
function healthWith(names?: { name: string; credentials: string; url: string }) {
  const lines: { msg: string }[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const health = new ApiHealth({
    api: 'track',
    names,
    metrics: createWorkerMetrics(new Registry()),
    logger: createLogger({ name: 'test', level: 'info', destination }),
    faults: new Faults(),
  });
  return { health, lines };
}

const unauthorized = new DeliveryError('http_4xx', 'Customer.io answered 401', false, 401);
const notFound = new DeliveryError('http_4xx', 'Customer.io answered 404', false, 404);

describe('ApiHealth log lines', () => {
  it('name the variables of the API the Track topic goes to (the Pipelines API’s with CIO_API=pipelines)', () => {
    const { health, lines } = healthWith({
      name: 'Pipelines API',
      credentials: 'CIO_PIPELINES_API_KEY',
      url: 'CIO_PIPELINES_URL',
    });
    health.credentialsFailed(unauthorized);
    health.endpointFailed(notFound, 3);
    expect(lines.map((line) => line.msg)).toEqual([
      expect.stringContaining('check CIO_PIPELINES_API_KEY'),
      expect.stringContaining('check CIO_PIPELINES_URL'),
    ]);
  });

  it('name the Track API’s variables by default', () => {
    const { health, lines } = healthWith();
    health.credentialsFailed(unauthorized);
    health.endpointFailed(notFound, 3);
    expect(lines.map((line) => line.msg)).toEqual([
      expect.stringContaining('check CIO_SITE_ID, CIO_API_KEY'),
      expect.stringContaining('check CIO_TRACK_URL'),
    ]);
  });
});
