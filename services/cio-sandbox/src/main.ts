import { integer, loadConfig, logLevel, port, runMain } from '@cio-bridge/config';
import { createLogger } from '@cio-bridge/logger';
import { z } from 'zod';
import { DEFAULT_CREDENTIALS } from './sandbox';
import { startSandbox } from './server';
import { DEFAULT_MAX_RECORDS } from './state';

const schema = z.object({
  PORT: port(8090),
  // all interfaces, like the other services (containers); tests use startSandbox on 127.0.0.1
  SANDBOX_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: logLevel,
  CIO_SITE_ID: z.string().default(DEFAULT_CREDENTIALS.siteId),
  CIO_API_KEY: z.string().default(DEFAULT_CREDENTIALS.apiKey),
  CIO_APP_API_KEY: z.string().default(DEFAULT_CREDENTIALS.appApiKey),
  CIO_PIPELINES_API_KEY: z.string().default(DEFAULT_CREDENTIALS.pipelinesApiKey),
  SANDBOX_RATE_LIMIT_RPS: integer(1, 1_000_000).optional(),
  SANDBOX_MAX_RECORDS: integer(1, 100_000_000).prefault(String(DEFAULT_MAX_RECORDS)),
});

runMain(async () => {
  const env = loadConfig(schema, process.env);
  const logger = createLogger({ name: 'cio-sandbox', level: env.LOG_LEVEL });
  const sandbox = await startSandbox({
    port: env.PORT,
    host: env.SANDBOX_HOST,
    siteId: env.CIO_SITE_ID,
    apiKey: env.CIO_API_KEY,
    appApiKey: env.CIO_APP_API_KEY,
    pipelinesApiKey: env.CIO_PIPELINES_API_KEY,
    rateLimitRps: env.SANDBOX_RATE_LIMIT_RPS ?? null,
    maxRecords: env.SANDBOX_MAX_RECORDS,
    logger,
  });
  logger.info(
    { url: `http://${env.SANDBOX_HOST}:${sandbox.port}`, rateLimitRps: env.SANDBOX_RATE_LIMIT_RPS ?? null },
    'Customer.io sandbox listening',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
});
