import { z } from 'zod';
import { cioEnv, cioOutputEnv, cioRateLimitRps, trackCredentialsIssues } from './cio-env';
import { loadConfig } from './load';

const schema = z.object({ ...cioEnv, ...cioOutputEnv });

describe('the request budget towards Customer.io (CIO_RATE_LIMIT_RPS)', () => {
  it('defaults to the documented rate of the chosen API, not a tenth of it', () => {
    // Track API v1/v2: 1000 requests per second.
    expect(cioRateLimitRps(loadConfig(schema, { CIO_SITE_ID: 's', CIO_API_KEY: 'k' }))).toBe(1000);
    // Pipelines API: 3000 requests per 3 seconds.
    expect(cioRateLimitRps(loadConfig(schema, { CIO_API: 'pipelines', CIO_PIPELINES_API_KEY: 'k' }))).toBe(
      1000,
    );
  });

  it('takes the share given to cio-bridge when set', () => {
    expect(cioRateLimitRps(loadConfig(schema, { CIO_RATE_LIMIT_RPS: '250' }))).toBe(250);
    expect(cioRateLimitRps(loadConfig(schema, { CIO_API: 'pipelines', CIO_RATE_LIMIT_RPS: '40' }))).toBe(40);
  });
});

describe('trackCredentialsIssues', () => {
  it('asks for the site id and key with CIO_API=track only', () => {
    expect(trackCredentialsIssues({ CIO_API: 'track' }).map((issue) => issue.variable)).toEqual([
      'CIO_SITE_ID',
      'CIO_API_KEY',
    ]);
    expect(trackCredentialsIssues({ CIO_API: 'track', CIO_SITE_ID: 's', CIO_API_KEY: 'k' })).toEqual([]);
    expect(trackCredentialsIssues({ CIO_API: 'pipelines' })).toEqual([]);
  });
});
