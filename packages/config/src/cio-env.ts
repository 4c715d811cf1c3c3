import { z } from 'zod';
import { integer } from './fields';

/**
 * A base URL without a path. The documented forms with a version suffix
 * (`https://track.customer.io/api/v1`, `https://api.customer.io/v1`) are accepted and
 * the suffix dropped: the worker appends its own paths. Any other path is refused, so
 * a wrong endpoint fails at start instead of answering 404 to every request.
 */
const baseUrl = (suffixes: RegExp, hint: string) =>
  z
    .url({ message: 'must be an http(s) URL' })
    .transform((url) => url.replace(/\/+$/, '').replace(suffixes, ''))
    .refine((url) => /^https?:$/.test(new URL(url).protocol) && new URL(url).pathname === '/', {
      message: `must be a base URL without a path (${hint})`,
    })
    .transform((url) => url.replace(/\/+$/, ''));

/** Customer.io credentials and endpoints (Track API, App API). */
export const cioEnv = {
  /** Track API site id (Basic authentication): required with CIO_API=track, unused with pipelines */
  CIO_SITE_ID: z.string().optional(),
  /** Track API key: required with CIO_API=track, unused with pipelines */
  CIO_API_KEY: z.string().optional(),
  /** App API key (transactional email); unset: transactional sends are not consumed */
  CIO_APP_API_KEY: z.string().optional(),
  /** the account's region, `us` or `eu`: picks the default hosts */
  CIO_REGION: z.enum(['us', 'eu'], { message: 'must be us or eu' }).default('us'),
  /** Track API base URL override (the sandbox, proxies): a host without a path; `/api/v1` or `/api/v2` is accepted and dropped */
  CIO_TRACK_URL: baseUrl(
    /\/api\/v[12]$/,
    'https://track.customer.io, optionally ending in /api/v1 or /api/v2',
  ).optional(),
  /** App API base URL override: a host without a path; `/v1` is accepted and dropped */
  CIO_APP_URL: baseUrl(/\/(api\/)?v1$/, 'https://api.customer.io, optionally ending in /v1').optional(),
  /** the workspace's request budget given to cio-bridge; unset: the documented rate of CIO_API (`cioRateLimitRps`) */
  CIO_RATE_LIMIT_RPS: integer(1, 100_000).optional(),
};

const cioEnvSchema = z.object(cioEnv);
export type CioEnv = z.infer<typeof cioEnvSchema>;

export const cioTrackUrl = (env: Pick<CioEnv, 'CIO_REGION' | 'CIO_TRACK_URL'>) =>
  env.CIO_TRACK_URL ??
  (env.CIO_REGION === 'eu' ? 'https://track-eu.customer.io' : 'https://track.customer.io');

export const cioAppUrl = (env: Pick<CioEnv, 'CIO_REGION' | 'CIO_APP_URL'>) =>
  env.CIO_APP_URL ?? (env.CIO_REGION === 'eu' ? 'https://api-eu.customer.io' : 'https://api.customer.io');

/** A Pipelines base URL: a host without a path; Customer.io's documented `/v1` suffix is accepted and dropped. */
const pipelinesBaseUrl = z
  .url({ message: 'must be an http(s) URL' })
  .transform((url) => url.replace(/\/+$/, '').replace(/\/v1$/, ''))
  .refine((url) => new URL(url).pathname === '/', {
    message: 'must be a host without a path (a trailing /v1 is accepted)',
  });

/** Which Customer.io API receives Track operations, and the Pipelines API's key and base URL. */
export const cioOutputEnv = {
  /** `track` (the Track API) or `pipelines` (the Pipelines API) for Track operations; transactional sends always use the App API */
  CIO_API: z.enum(['track', 'pipelines'], { message: 'must be track or pipelines' }).default('track'),
  /** the Pipelines API key (the "Customer.io API" source's write key); required with CIO_API=pipelines */
  CIO_PIPELINES_API_KEY: z.string().optional(),
  /** Pipelines API base URL override (a host; a trailing `/v1` is accepted); default by CIO_REGION */
  CIO_PIPELINES_URL: pipelinesBaseUrl.optional(),
};

const cioOutputSchema = z.object(cioOutputEnv);
export type CioOutputEnv = z.infer<typeof cioOutputSchema>;

/** The Pipelines API base URL (without /v1): the override, else the region's host. */
export const cioPipelinesUrl = (env: Pick<CioEnv, 'CIO_REGION'> & Pick<CioOutputEnv, 'CIO_PIPELINES_URL'>) =>
  env.CIO_PIPELINES_URL ??
  (env.CIO_REGION === 'eu' ? 'https://cdp-eu.customer.io' : 'https://cdp.customer.io');

/**
 * Customer.io's documented request rates, per API: the Track API (v1 and v2) 1000
 * requests per second, the Pipelines API 3000 requests per 3 seconds. Both are the
 * workspace's, shared by every integration that writes to it.
 */
export const DOCUMENTED_RATES = {
  track: { requests: 1000, perSeconds: 1 },
  pipelines: { requests: 3000, perSeconds: 3 },
} as const;

/** CIO_RATE_LIMIT_RPS, or the documented rate of the chosen API in requests per second. */
export const cioRateLimitRps = (env: Pick<CioEnv, 'CIO_RATE_LIMIT_RPS'> & Pick<CioOutputEnv, 'CIO_API'>) => {
  const documented = DOCUMENTED_RATES[env.CIO_API];
  return env.CIO_RATE_LIMIT_RPS ?? documented.requests / documented.perSeconds;
};

/** The Track API needs its site id and key; a Pipelines-only workspace has neither. */
export function trackCredentialsIssues(
  env: Pick<CioEnv, 'CIO_SITE_ID' | 'CIO_API_KEY'> & Pick<CioOutputEnv, 'CIO_API'>,
): { variable: 'CIO_SITE_ID' | 'CIO_API_KEY'; reason: string }[] {
  if (env.CIO_API !== 'track') return [];
  return (['CIO_SITE_ID', 'CIO_API_KEY'] as const)
    .filter((variable) => !env[variable])
    .map((variable) => ({ variable, reason: 'is required with CIO_API=track' }));
}
