import { ConfigError, loadConfig } from '@cio-bridge/config';
import { producerEnv } from './config';

const A = 'token-a-0123456789';
const B = 'token-b-0123456789';

describe('producer configuration', () => {
  it('has defaults for everything but the tokens', () => {
    const env = loadConfig(producerEnv, { INGEST_API_TOKENS: `${A}, ${B}` });
    expect(env).toMatchObject({
      PORT: 8081,
      INGEST_API_TOKENS: [A, B],
      PRODUCER_MAX_BODY_BYTES: 1024 * 1024,
      PRODUCER_MAX_BATCH_ITEMS: 1000,
      PRODUCER_PUBLISH_TIMEOUT_MS: 5000,
      PRODUCER_RETRY_AFTER_SECONDS: 5,
      PRODUCER_MAX_PENDING_BYTES: 32 * 1024 * 1024,
      KAFKA_BROKERS: ['127.0.0.1:9092'],
    });
  });

  it.each([
    [{}, 'configuration error: INGEST_API_TOKENS is required'],
    [
      { INGEST_API_TOKENS: ' , ' },
      'configuration error: INGEST_API_TOKENS must be a comma-separated list of bearer tokens',
    ],
    [
      { INGEST_API_TOKENS: `${A},short-token` },
      'configuration error: INGEST_API_TOKENS must hold tokens of at least 16 characters each',
    ],
    [
      { INGEST_API_TOKENS: A, PORT: 'http' },
      'configuration error: PORT must be a whole number from 1 to 65535',
    ],
    [
      { INGEST_API_TOKENS: A, PRODUCER_MAX_BODY_BYTES: '10' },
      /^configuration error: PRODUCER_MAX_BODY_BYTES must be/,
    ],
  ])('refuses %p with one line naming the variable', (env, message) => {
    expect(() => loadConfig(producerEnv, env)).toThrow(ConfigError);
    expect(() => loadConfig(producerEnv, env)).toThrow(message);
  });

  it.each([
    { INGEST_API_TOKENS: 'secret-token-0123456789', PORT: '0' },
    { INGEST_API_TOKENS: 'secret-token' },
  ])('never puts a token in the error (%#)', (env) => {
    expect(() => loadConfig(producerEnv, env)).toThrow(ConfigError);
    try {
      loadConfig(producerEnv, env);
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-token');
    }
  });
});
