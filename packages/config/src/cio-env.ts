import { z } from 'zod';
import { integer } from './fields';

const baseUrl = z.url({ message: 'must be an http(s) URL' }).transform((url) => url.replace(/\/+$/, ''));

/** Customer.io credentials and endpoints (Track API, App API). */
export const cioEnv = {
  CIO_SITE_ID: z.string({ message: 'is required' }),
  CIO_API_KEY: z.string({ message: 'is required' }),
  CIO_APP_API_KEY: z.string().optional(),
  CIO_REGION: z.enum(['us', 'eu'], { message: 'must be us or eu' }).default('us'),
  CIO_TRACK_URL: baseUrl.optional(),
  CIO_APP_URL: baseUrl.optional(),
  CIO_RATE_LIMIT_RPS: integer(1, 100_000).prefault('100'),
};

const cioEnvSchema = z.object(cioEnv);
export type CioEnv = z.infer<typeof cioEnvSchema>;

export const cioTrackUrl = (env: Pick<CioEnv, 'CIO_REGION' | 'CIO_TRACK_URL'>) =>
  env.CIO_TRACK_URL ??
  (env.CIO_REGION === 'eu' ? 'https://track-eu.customer.io' : 'https://track.customer.io');

export const cioAppUrl = (env: Pick<CioEnv, 'CIO_REGION' | 'CIO_APP_URL'>) =>
  env.CIO_APP_URL ?? (env.CIO_REGION === 'eu' ? 'https://api-eu.customer.io' : 'https://api.customer.io');
