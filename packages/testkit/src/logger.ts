import { createLogger, type Logger } from '@cio-bridge/logger';

/** Silent unless TEST_LOG_LEVEL is set (e.g. TEST_LOG_LEVEL=debug npm test). */
export const testLogger = (name = 'test'): Logger =>
  createLogger({ name, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
