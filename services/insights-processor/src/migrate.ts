// `npm run migrate` / `node dist/migrate.js`: applies the migrations and exits.
import { loadConfig, runMain } from '@cio-bridge/config';
import { createLogger } from '@cio-bridge/logger';
import { migrateEnv } from './config';
import { runMigrations } from './migrations';

runMain(async () => {
  const config = loadConfig(migrateEnv, process.env);
  const logger = createLogger({ name: 'insights-processor-migrate', level: config.LOG_LEVEL });
  await runMigrations({
    databaseUrl: config.DATABASE_URL,
    table: config.USERS_TABLE,
    keyColumn: config.USERS_KEY_COLUMN,
    logger,
  });
});
