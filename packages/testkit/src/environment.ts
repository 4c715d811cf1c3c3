// Integration tests use the real broker and database. Where they are is decided once per
// run by jest-global-setup.ts (infrastructure.ts): the variables when set, else the
// servers on this machine, else containers where Docker runs, which it then puts into
// these variables. Otherwise the local defaults that `npm run infra:up` provides.

export const testKafkaBrokers = async (): Promise<string[]> =>
  (process.env.KAFKA_BROKERS || '127.0.0.1:9092').split(',');

export const testDatabaseUrl = async (): Promise<string> =>
  process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/cio_bridge';

export const testRedisUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
