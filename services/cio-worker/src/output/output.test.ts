import { ConfigError, loadConfig } from '@cio-bridge/config';
import { workerEnv } from '../config';
import { outputOptions } from './output';

const base = { CIO_SITE_ID: 'site', CIO_API_KEY: 'secret-key' };
const output = (env: Record<string, string>) => outputOptions(loadConfig(workerEnv, { ...base, ...env }));

describe('CIO_API and the Pipelines settings', () => {
  it('defaults to the Track API without date conversion', () => {
    expect(output({})).toEqual({ api: 'track', convertDates: false });
    expect(output({ WORKER_CONVERT_DATES: 'true' })).toEqual({ api: 'track', convertDates: true });
  });

  it('takes the region host for Pipelines, or a base URL given with or without /v1', () => {
    const key = { CIO_API: 'pipelines', CIO_PIPELINES_API_KEY: 'write-key' };
    expect(output(key).pipelines).toEqual({ url: 'https://cdp.customer.io', apiKey: 'write-key' });
    expect(output({ ...key, CIO_REGION: 'eu' }).pipelines?.url).toBe('https://cdp-eu.customer.io');
    expect(output({ ...key, CIO_PIPELINES_URL: 'http://127.0.0.1:8090/v1/' }).pipelines?.url).toBe(
      'http://127.0.0.1:8090',
    );
    expect(output({ ...key, CIO_PIPELINES_URL: 'http://127.0.0.1:8090' }).pipelines?.url).toBe(
      'http://127.0.0.1:8090',
    );
  });

  it.each([
    [{ CIO_API: 'pipelines' }, 'CIO_PIPELINES_API_KEY', 'is required with CIO_API=pipelines'],
    [{ CIO_API: 'segment' }, 'CIO_API', 'must be track or pipelines'],
    [
      { CIO_API: 'pipelines', CIO_PIPELINES_API_KEY: 'k', CIO_PIPELINES_URL: 'http://proxy/cdp' },
      'CIO_PIPELINES_URL',
      'must be a host without a path (a trailing /v1 is accepted)',
    ],
    [{ WORKER_CONVERT_DATES: 'maybe' }, 'WORKER_CONVERT_DATES', 'must be true or false'],
  ])('refuses %p naming %s', (env, variable, reason) => {
    let error: unknown;
    try {
      output(env as Record<string, string>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toBe(`configuration error: ${variable} ${reason}`);
  });
});
