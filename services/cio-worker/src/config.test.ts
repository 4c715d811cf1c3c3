import { ConfigError, loadConfig } from '@cio-bridge/config';
import { customerioOptions, tuningOptions, workerEnv } from './config';

const base = { CIO_SITE_ID: 'site', CIO_API_KEY: 'secret-key' };

describe('workerEnv', () => {
  it('has the defaults of the design', () => {
    const env = loadConfig(workerEnv, base);
    expect(env.PORT).toBe(8084);
    expect(env.KAFKA_GROUP_ID).toBe('cio-worker');
    expect(customerioOptions(env)).toMatchObject({
      trackUrl: 'https://track.customer.io',
      appUrl: 'https://api.customer.io',
    });
  });

  it('takes the region and base URL overrides', () => {
    const eu = customerioOptions(loadConfig(workerEnv, { ...base, CIO_REGION: 'eu' }));
    expect(eu.trackUrl).toBe('https://track-eu.customer.io');
    const sandbox = customerioOptions(
      loadConfig(workerEnv, {
        ...base,
        CIO_TRACK_URL: 'http://127.0.0.1:8090/',
        CIO_APP_URL: 'http://127.0.0.1:8090',
      }),
    );
    expect(sandbox.trackUrl).toBe('http://127.0.0.1:8090');
    expect(sandbox.appUrl).toBe('http://127.0.0.1:8090');
  });

  it('passes the tuning variables on', () => {
    const env = loadConfig(workerEnv, { ...base, WORKER_MAX_ATTEMPTS: '3', WORKER_CONCURRENCY: '2' });
    expect(tuningOptions(env)).toMatchObject({ maxAttempts: 3, concurrency: 2 });
    expect(tuningOptions(loadConfig(workerEnv, base))).toMatchObject({
      transactionalAmbiguous: 'dead-letter',
      maxPerPerson: 1_000,
      maxUncommittedPerPartition: 50_000,
    });
    const tuned = loadConfig(workerEnv, {
      ...base,
      WORKER_TRANSACTIONAL_AMBIGUOUS: 'retry',
      WORKER_MAX_PER_PERSON: '50',
      WORKER_MAX_UNCOMMITTED_PER_PARTITION: '500',
    });
    expect(tuningOptions(tuned)).toMatchObject({
      transactionalAmbiguous: 'retry',
      maxPerPerson: 50,
      maxUncommittedPerPartition: 500,
    });
    expect(customerioOptions(tuned).region).toBe('us');
  });

  it.each([
    [{ CIO_API_KEY: 'k' }, 'CIO_SITE_ID is required with CIO_API=track'],
    [{ ...base, CIO_RATE_LIMIT_RPS: 'fast' }, 'CIO_RATE_LIMIT_RPS must be a whole number'],
    [{ ...base, WORKER_MAX_ATTEMPTS: '0' }, 'WORKER_MAX_ATTEMPTS must be a whole number from 1'],
    [{ ...base, REDIS_URL: 'localhost' }, 'REDIS_URL must be a redis:// URL'],
    [
      { ...base, WORKER_TRANSACTIONAL_AMBIGUOUS: 'maybe' },
      'WORKER_TRANSACTIONAL_AMBIGUOUS must be retry or dead-letter',
    ],
    [
      { ...base, CIO_TRACK_URL: 'https://track.customer.io/track' },
      'CIO_TRACK_URL must be a base URL without a path',
    ],
  ])('refuses a bad environment naming the variable (%#)', (env, message) => {
    expect(() => loadConfig(workerEnv, env)).toThrow(ConfigError);
    expect(() => loadConfig(workerEnv, env)).toThrow(message);
  });

  it('never puts a value in the error', () => {
    expect(() => loadConfig(workerEnv, { ...base, CIO_REGION: 'secret-key' })).toThrow(/^(?!.*secret-key)/);
  });
});
