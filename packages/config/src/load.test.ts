import { z } from 'zod';
import { cioEnv, cioTrackUrl } from './cio-env';
import { port } from './fields';
import { kafkaClientOptions, kafkaEnv } from './kafka-env';
import { ConfigError, loadConfig } from './load';

const schema = z.object({
  ...kafkaEnv,
  ...cioEnv,
  CIO_API_KEY: z.string({ message: 'is required' }),
  PORT: port(8081),
});
const valid = { CIO_SITE_ID: 'site', CIO_API_KEY: 'secret-key' };

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(schema, env);
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a configuration error');
}

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig(schema, valid);
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.PORT).toBe(8081);
    expect(cioTrackUrl(config)).toBe('https://track.customer.io');
  });

  it('names a missing variable in one line', () => {
    const error = errorOf({ CIO_SITE_ID: 'site' });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe('CIO_API_KEY');
    expect(error.message).toBe('configuration error: CIO_API_KEY is required');
  });

  it('treats an empty variable as missing', () => {
    expect(errorOf({ ...valid, CIO_API_KEY: '' }).variable).toBe('CIO_API_KEY');
  });

  it.each([
    ['PORT', 'eighty', 'must be a whole number from 1 to 65535'],
    ['PORT', '70000', 'must be a whole number from 1 to 65535'],
    ['KAFKA_BROKERS', 'localhost', 'must be a comma-separated list of host:port'],
    ['CIO_REGION', 'asia', 'must be us or eu'],
    ['CIO_TRACK_URL', 'not a url', 'must be an http(s) URL'],
    ['KAFKA_SSL', 'maybe', 'must be true or false'],
  ])('names a malformed %s', (variable, value, reason) => {
    const error = errorOf({ ...valid, [variable]: value });
    expect(error.message).toBe(`configuration error: ${variable} ${reason}`);
  });

  it.each([
    ['CIO_TRACK_URL', 'https://track.customer.io/api/v1', 'https://track.customer.io'],
    ['CIO_TRACK_URL', 'https://track-eu.customer.io/api/v2/', 'https://track-eu.customer.io'],
    ['CIO_TRACK_URL', 'http://127.0.0.1:8090/', 'http://127.0.0.1:8090'],
    ['CIO_APP_URL', 'https://api.customer.io/v1', 'https://api.customer.io'],
  ])('drops the documented version suffix of %s %s', (variable, value, expected) => {
    expect(loadConfig(schema, { ...valid, [variable]: value })[variable as 'CIO_TRACK_URL']).toBe(expected);
  });

  it.each([
    ['CIO_TRACK_URL', 'https://track.customer.io/api/v3'],
    ['CIO_TRACK_URL', 'https://track.customer.io/api'],
    ['CIO_APP_URL', 'https://api.customer.io/v1/send'],
  ])('refuses %s with another path (%s) in one line naming it', (variable, value) => {
    const error = errorOf({ ...valid, [variable]: value });
    expect(error.message).toMatch(
      new RegExp(`^configuration error: ${variable} must be a base URL without a path`),
    );
    expect(error.message).not.toContain('\n');
  });

  it('never prints the value of a secret', () => {
    const error = errorOf({ ...valid, CIO_RATE_LIMIT_RPS: 'sk-live-123' });
    expect(error.message).not.toContain('sk-live-123');
  });

  it('builds SASL options only with all SASL variables', () => {
    const env = loadConfig(schema, { ...valid, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' });
    expect(() => kafkaClientOptions(env)).toThrow(
      'KAFKA_SASL_PASSWORD is required when KAFKA_SASL_MECHANISM is set',
    );
    const full = loadConfig(schema, {
      ...valid,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
      KAFKA_BROKERS: 'a:1,b:2',
    });
    expect(kafkaClientOptions(full, 'worker')).toEqual({
      brokers: ['a:1', 'b:2'],
      clientId: 'worker',
      ssl: false,
      sasl: { mechanism: 'plain', username: 'u', password: 'p' },
    });
  });
});
