import { bool, ConfigError, httpEnv, integer, kafkaEnv, logLevel, port, tokenList } from '@cio-bridge/config';
import { z } from 'zod';

/** A Postgres identifier we quote ourselves: letters, digits, `_`, optionally `schema.name`. */
const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const tableName = z
  .string()
  .refine(
    (value) => value.split('.').length <= 2 && value.split('.').every((part) => identifier.test(part)),
    'must be a table name ([A-Za-z_][A-Za-z0-9_]*, optionally schema.table)',
  );
const columnName = z.string().regex(identifier, 'must be a column name ([A-Za-z_][A-Za-z0-9_]*)');

const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** A duration like `7d`, `36h`, `90m` or `3600s` (a bare number is seconds), in milliseconds. */
const duration = z
  .string()
  .trim()
  .regex(/^\d{1,9}[smhd]?$/, 'must be a duration like 7d, 36h, 90m or 3600s')
  .transform((text) => {
    const unit = /[smhd]$/.test(text) ? (text.at(-1) as keyof typeof DURATION_UNITS_MS) : 's';
    return Number.parseInt(text, 10) * DURATION_UNITS_MS[unit];
  })
  .refine((ms) => ms >= 60_000, 'must be at least one minute');

/** The insights-processor's environment; `loadConfig(insightsEnv, process.env)` validates it. */
export const insightsEnv = z.object({
  ...kafkaEnv,
  /** the HTTP port (API, health, metrics) */
  PORT: port(8083),
  ...httpEnv,
  /** `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent` */
  LOG_LEVEL: logLevel,
  /** bearer tokens accepted by the read API, comma-separated (several during a rotation), 16+ characters each */
  INSIGHTS_API_TOKENS: tokenList('bearer tokens').optional(),
  /** `none` serves the read API without authentication (only behind something that authenticates) */
  INSIGHTS_API_AUTH: z.enum(['bearer', 'none'], { message: 'must be bearer or none' }).default('bearer'),
  /** Postgres holding the upstream users table (required) */
  DATABASE_URL: z.string().refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// URL'),
  /** the pool behind the consumer (one connection per partition in flight) and the read API */
  DATABASE_POOL_MAX: integer(2, 100).prefault('10'),
  /** the upstream table whose `ai_features` column receives predictions */
  USERS_TABLE: tableName.default('users'),
  /** its key column, matched against a prediction's `user_id` */
  USERS_KEY_COLUMN: columnName.default('id'),
  /** run the migrations at start-up (otherwise `npm run migrate` before starting) */
  MIGRATE_ON_START: bool(true),
  /** optional shared cache of `ai_features` for the read API; without it an in-process cache */
  REDIS_URL: z
    .string()
    .refine((value) => /^rediss?:\/\//.test(value), 'must be a redis:// or rediss:// URL')
    .optional(),
  /** prefix of the cache's Redis keys */
  REDIS_KEY_PREFIX: z.string().default('cio-bridge:ai-features:'),
  /** how long a cached `ai_features` answer is served */
  AI_FEATURES_CACHE_TTL_SECONDS: integer(1, 30 * 24 * 3600).prefault('300'),
  /** entries of the in-process cache (used without REDIS_URL) */
  AI_FEATURES_CACHE_MAX_ENTRIES: integer(1, 10_000_000).prefault('50000'),
  /** consumer group */
  KAFKA_GROUP_ID: z.string().default('insights-processor'),
  /** bytes fetched per partition and request: bounds the batch size and the memory held by fetched batches */
  KAFKA_MAX_BYTES_PER_PARTITION: integer(16 * 1024, 64 * 1024 * 1024).prefault(String(512 * 1024)),
  /**
   * partitions written to Postgres at the same time; kafkajs fetches again only when every
   * batch of a fetch is done, so as many as the predictions topic has partitions
   */
  INSIGHTS_PARTITIONS_CONCURRENCY: integer(1, 64).prefault('6'),
  /** how long a prediction for a user not in the users table waits in ai_features_pending */
  INSIGHTS_PENDING_TTL: duration.prefault('7d'),
  /** how often pending predictions are applied (users that appeared), expired and counted */
  INSIGHTS_PENDING_SWEEP_SECONDS: integer(1, 86_400).prefault('60'),
});

export type InsightsConfig = z.infer<typeof insightsEnv>;

/**
 * How the read API authenticates: the configured tokens, or `none` when explicitly
 * asked for. No tokens and no explicit `none` refuses to start: the API serves
 * personal data and must never be open by accident.
 */
export function readApiAuth(
  config: Pick<InsightsConfig, 'INSIGHTS_API_TOKENS' | 'INSIGHTS_API_AUTH'>,
): { tokens: string[] } | 'none' {
  if (config.INSIGHTS_API_AUTH === 'none') return 'none';
  if (!config.INSIGHTS_API_TOKENS) {
    throw new ConfigError(
      'INSIGHTS_API_TOKENS',
      'is required (or set INSIGHTS_API_AUTH=none to serve the read API without authentication)',
    );
  }
  return { tokens: config.INSIGHTS_API_TOKENS };
}

/** The subset the `migrate` command needs. */
export const migrateEnv = insightsEnv.pick({
  DATABASE_URL: true,
  USERS_TABLE: true,
  USERS_KEY_COLUMN: true,
  LOG_LEVEL: true,
});
export type MigrateConfig = z.infer<typeof migrateEnv>;
