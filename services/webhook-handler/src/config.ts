import { bool, ConfigError, commaList, httpEnv, integer, kafkaEnv, logLevel, port } from '@cio-bridge/config';
import { z } from 'zod';
import { type JourneyCredentials, parseBasicAuth, parseHeaderSecrets } from './journey-auth';
import { SourceAllowlist } from './source-allowlist';

/** A variable parsed by `parse`, whose error message (never the value) is the zod issue. */
const parsed = <T>(parse: (value: string) => T) =>
  z.string().transform((value, ctx) => {
    try {
      return parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** The webhook-handler's environment; `loadConfig(webhookEnv, process.env)` validates it. */
export const webhookEnv = z.object({
  ...kafkaEnv,
  /** the HTTP port (API, health, metrics) */
  PORT: port(8082),
  ...httpEnv,
  /** `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent` */
  LOG_LEVEL: logLevel,
  /** one or more keys, comma-separated: during a rotation both the old and the new key */
  CIO_WEBHOOK_SIGNING_KEYS: commaList('webhook signing keys').optional(),
  /** journey webhooks: `user:password` pairs (passwords of 16+ characters), comma-separated */
  WEBHOOK_BASIC_AUTH: parsed(parseBasicAuth).optional(),
  /** journey webhooks: `Header-Name: value` pairs (values of 16+ characters), comma-separated */
  WEBHOOK_HEADER_SECRETS: parsed(parseHeaderSecrets).optional(),
  /** what a prediction needs: Customer.io's signature, a journey credential, or either */
  WEBHOOK_PREDICTIONS_AUTH: z
    .enum(['signature', 'journey', 'either'], { message: 'must be signature, journey or either' })
    .optional(),
  /** CIDRs webhooks may come from (e.g. Customer.io's source addresses); unset: any */
  WEBHOOK_ALLOWED_SOURCES: parsed(SourceAllowlist.parse).optional(),
  /** how far X-CIO-Timestamp may be from now, in the past or the future */
  WEBHOOK_TOLERANCE_SECONDS: integer(1, 86_400).prefault('300'),
  /** email `bounced`/`spammed` reporting events also produce a `suppress` operation */
  WEBHOOK_SUPPRESS_ON_BOUNCE: bool(false),
  /** largest accepted request body */
  WEBHOOK_MAX_BODY_BYTES: integer(1_024, 10 * 1024 * 1024).prefault(String(256 * 1024)),
  /** replay protection in this process when REDIS_URL is not set: most ids remembered */
  WEBHOOK_REPLAY_CACHE_SIZE: integer(1_000, 10_000_000).prefault('100000'),
  /** how long to wait for Kafka's acknowledgement before answering 503 (Customer.io waits 4 s) */
  WEBHOOK_PUBLISH_TIMEOUT_MS: integer(100, 60_000).prefault('2500'),
  /** shared replay protection for several replicas */
  REDIS_URL: z.url({ message: 'must be a redis:// URL' }).optional(),
});

export type WebhookEnv = z.infer<typeof webhookEnv>;

export type PredictionsAuth = 'signature' | 'journey' | 'either';

export interface WebhookAuth {
  signingKeys: string[];
  journey: JourneyCredentials;
  predictionsAuth: PredictionsAuth;
  allowedSources?: SourceAllowlist;
}

/**
 * How webhooks authenticate, checked as a whole: at least a signing key or a journey
 * credential, and a WEBHOOK_PREDICTIONS_AUTH that the configured credentials can meet.
 */
export function webhookAuth(env: WebhookEnv): WebhookAuth {
  const signingKeys = env.CIO_WEBHOOK_SIGNING_KEYS ?? [];
  const journey = { basic: env.WEBHOOK_BASIC_AUTH ?? [], headers: env.WEBHOOK_HEADER_SECRETS ?? [] };
  const journeySet = journey.basic.length > 0 || journey.headers.length > 0;
  if (signingKeys.length === 0 && !journeySet)
    throw new ConfigError(
      'CIO_WEBHOOK_SIGNING_KEYS',
      'is required unless journey credentials are set (WEBHOOK_BASIC_AUTH or WEBHOOK_HEADER_SECRETS)',
    );
  const predictionsAuth = env.WEBHOOK_PREDICTIONS_AUTH ?? (journeySet ? 'either' : 'signature');
  if (predictionsAuth !== 'signature' && !journeySet)
    throw new ConfigError(
      'WEBHOOK_PREDICTIONS_AUTH',
      `${predictionsAuth} needs WEBHOOK_BASIC_AUTH or WEBHOOK_HEADER_SECRETS`,
    );
  if (predictionsAuth === 'signature' && signingKeys.length === 0)
    throw new ConfigError('WEBHOOK_PREDICTIONS_AUTH', 'signature needs CIO_WEBHOOK_SIGNING_KEYS');
  return {
    signingKeys,
    journey,
    predictionsAuth,
    ...(env.WEBHOOK_ALLOWED_SOURCES && { allowedSources: env.WEBHOOK_ALLOWED_SOURCES }),
  };
}
