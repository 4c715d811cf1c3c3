import { ConfigError, cioRateLimitRps, loadConfig } from '@cio-bridge/config';
import { customerioOptions, workerEnv } from './config';
import { outputOptions } from './output/output';

describe('workerEnv per Customer.io API (CIO_API)', () => {
  it('loads a Pipelines-only workspace: the Pipelines key alone, no Track API site id or key', () => {
    const env = loadConfig(workerEnv, { CIO_API: 'pipelines', CIO_PIPELINES_API_KEY: 'write-key' });
    expect(outputOptions(env)).toMatchObject({ api: 'pipelines', pipelines: { apiKey: 'write-key' } });
    expect(customerioOptions(env)).toMatchObject({ siteId: undefined, apiKey: undefined });
  });

  it('needs the Track API site id and key with CIO_API=track, naming the variable', () => {
    expect(() => loadConfig(workerEnv, { CIO_SITE_ID: 'site' })).toThrow(ConfigError);
    expect(() => loadConfig(workerEnv, { CIO_SITE_ID: 'site' })).toThrow(
      'configuration error: CIO_API_KEY is required with CIO_API=track',
    );
    expect(() => loadConfig(workerEnv, { CIO_API: 'track', CIO_API_KEY: 'k' })).toThrow(
      'configuration error: CIO_SITE_ID is required with CIO_API=track',
    );
  });

  it('budgets the documented rate of the chosen API by default: 1000 requests/s (Track), 3000 per 3 s (Pipelines)', () => {
    expect(cioRateLimitRps(loadConfig(workerEnv, { CIO_SITE_ID: 's', CIO_API_KEY: 'k' }))).toBe(1000);
    expect(cioRateLimitRps(loadConfig(workerEnv, { CIO_API: 'pipelines', CIO_PIPELINES_API_KEY: 'k' }))).toBe(
      1000,
    );
    expect(
      cioRateLimitRps(
        loadConfig(workerEnv, { CIO_SITE_ID: 's', CIO_API_KEY: 'k', CIO_RATE_LIMIT_RPS: '300' }),
      ),
    ).toBe(300);
  });
});
