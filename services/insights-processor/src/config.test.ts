import { loadConfig } from '@cio-bridge/config';
import { insightsEnv, readApiAuth } from './config';

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

  describe('read API authentication', () => {
    const token = 'read-token-0123456789';

    it('takes the tokens from INSIGHTS_API_TOKENS', () => {
      const config = loadConfig(insightsEnv, {
        ...base,
        INSIGHTS_API_TOKENS: `${token}, other-token-0123456789`,
      });
      expect(readApiAuth(config)).toEqual({ tokens: [token, 'other-token-0123456789'] });
    });

    it('refuses to start without tokens, naming the variable', () => {
      expect(() => readApiAuth(loadConfig(insightsEnv, base))).toThrow(
        'configuration error: INSIGHTS_API_TOKENS is required (or set INSIGHTS_API_AUTH=none to serve the read API without authentication)',
      );
    });

    it('serves without authentication only when INSIGHTS_API_AUTH=none says so', () => {
      expect(readApiAuth(loadConfig(insightsEnv, { ...base, INSIGHTS_API_AUTH: 'none' }))).toBe('none');
      expect(() => loadConfig(insightsEnv, { ...base, INSIGHTS_API_AUTH: 'off' })).toThrow(
        'configuration error: INSIGHTS_API_AUTH must be bearer or none',
      );
    });

    it('refuses tokens shorter than 16 characters without printing them', () => {
      const load = () => loadConfig(insightsEnv, { ...base, INSIGHTS_API_TOKENS: `${token},tiny-secret` });
      expect(load).toThrow(
        'configuration error: INSIGHTS_API_TOKENS must hold tokens of at least 16 characters each',
      );
      try {
        load();
      } catch (error) {
        expect((error as Error).message).not.toContain('tiny-secret');
      }
    });
  });
});
