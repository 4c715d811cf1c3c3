import { loadConfig } from '@cio-bridge/config';
import { insightsEnv } from './config';

const base = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/cio_bridge' };

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig(insightsEnv, base);
    expect(config).toMatchObject({
      PORT: 8083,
      USERS_TABLE: 'users',
      USERS_KEY_COLUMN: 'id',
      AI_FEATURES_CACHE_TTL_SECONDS: 300,
      MIGRATE_ON_START: true,
      KAFKA_GROUP_ID: 'insights-processor',
    });
    expect(config.REDIS_URL).toBeUndefined();
  });

  it.each([
    [{}, 'configuration error: DATABASE_URL is required'],
    [{ DATABASE_URL: 'mysql://x' }, 'configuration error: DATABASE_URL must be a postgres:// URL'],
    [
      { ...base, USERS_TABLE: 'users; drop table x' },
      'configuration error: USERS_TABLE must be a table name',
    ],
    [{ ...base, USERS_KEY_COLUMN: 'a.b' }, 'configuration error: USERS_KEY_COLUMN must be a column name'],
    [
      { ...base, AI_FEATURES_CACHE_TTL_SECONDS: '0' },
      'configuration error: AI_FEATURES_CACHE_TTL_SECONDS must be',
    ],
    [{ ...base, REDIS_URL: 'localhost:6379' }, 'configuration error: REDIS_URL must be a redis://'],
  ])('refuses %j with one line naming the variable', (env, message) => {
    expect(() => loadConfig(insightsEnv, env)).toThrow(message);
  });

  it('accepts a schema-qualified table', () => {
    expect(loadConfig(insightsEnv, { ...base, USERS_TABLE: 'app.users' }).USERS_TABLE).toBe('app.users');
  });
});
