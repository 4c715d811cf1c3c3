// The OAUTHBEARER token source of the shared Kafka client factory, against a real HTTP
// token endpoint (the test kit's), with a clock of the test's own.
import { OAuthTokenSource } from '@cio-bridge/kafka';
import { testLogger } from './logger';
import { startTokenEndpoint, type TokenEndpoint } from './token-endpoint';

type TokenFailure = Error & { retriable: boolean };

/** The error a token request ends with. */
async function failureOf(request: Promise<string>): Promise<TokenFailure> {
  try {
    await request;
  } catch (error) {
    return error as TokenFailure;
  }
  throw new Error('expected the token request to fail');
}

describe('OAuthTokenSource', () => {
  let endpoint: TokenEndpoint;
  let now: number;
  const clock = () => now;

  const source = (overrides: { clientSecret?: string; scope?: string; tokenEndpointUrl?: string } = {}) =>
    new OAuthTokenSource(
      {
        tokenEndpointUrl: overrides.tokenEndpointUrl ?? endpoint.url,
        clientId: endpoint.clientId,
        clientSecret: overrides.clientSecret ?? endpoint.clientSecret,
        ...(overrides.scope ? { scope: overrides.scope } : {}),
      },
      { now: clock, random: () => 0.5, logger: testLogger('oauth') },
    );

  beforeEach(async () => {
    now = 1_000_000;
    endpoint = await startTokenEndpoint({ lifetimeSeconds: 100 });
  });
  afterEach(() => endpoint.close());

  it('asks with the client-credentials grant and the scope, and caches the token', async () => {
    const tokens = source({ scope: 'kafka.write' });
    const first = await tokens.token();
    expect(first).toBe(endpoint.issued()[0]);
    expect(endpoint.lastScope()).toBe('kafka.write');
    expect(await Promise.all([tokens.token(), tokens.token(), tokens.token()])).toEqual([
      first,
      first,
      first,
    ]);
    expect(endpoint.requests()).toBe(1);
  });

  it('asks once for concurrent callers', async () => {
    const tokens = source();
    await Promise.all(Array.from({ length: 10 }, () => tokens.token()));
    expect(endpoint.requests()).toBe(1);
  });

  it('renews the token before it expires', async () => {
    const tokens = source();
    const first = await tokens.token();
    now += 50_000; // half its lifetime: still the same one
    expect(await tokens.token()).toBe(first);
    now += 35_000; // 85 s of 100: renewed
    const second = await tokens.token();
    expect(second).not.toBe(first);
    expect(endpoint.requests()).toBe(2);
  });

  it('refused credentials that never worked are a non-retriable error naming the variables, not the secret', async () => {
    const tokens = source({ clientSecret: 'wrong-secret-value' });
    const error = await failureOf(tokens.token());
    expect(error.retriable).toBe(false);
    expect(error.message).toBe(
      'the OAuth token endpoint refused the client credentials (HTTP 401 invalid_client): check KAFKA_SASL_OAUTHBEARER_CLIENT_ID and KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
    );
    expect(error.message).not.toContain('wrong-secret-value');
  });

  it('retries an endpoint that is down with backoff, without asking again in between', async () => {
    endpoint.setFailure(503);
    const tokens = source();
    const first = await failureOf(tokens.token());
    expect(first.retriable).toBe(true);
    expect(first.message).toBe('the OAuth token endpoint failed (HTTP 503 temporarily_unavailable)');
    await expect(tokens.token()).rejects.toThrow('HTTP 503');
    expect(endpoint.requests()).toBe(1);
    now += 1_000; // the first backoff
    await expect(tokens.token()).rejects.toThrow('HTTP 503');
    expect(endpoint.requests()).toBe(2);
    now += 1_000; // the second backoff is longer
    await expect(tokens.token()).rejects.toThrow('HTTP 503');
    expect(endpoint.requests()).toBe(2);
    endpoint.setFailure(undefined);
    now += 1_000;
    expect(await tokens.token()).toBe(endpoint.issued()[0]);
    expect(endpoint.requests()).toBe(3);
  });

  it('reports an unreachable endpoint as retriable', async () => {
    const url = endpoint.url;
    await endpoint.close();
    const error = await failureOf(source({ tokenEndpointUrl: url }).token());
    expect(error.retriable).toBe(true);
    expect(error.message).toBe('the OAuth token endpoint cannot be reached (ECONNREFUSED)');
    endpoint = await startTokenEndpoint();
  });

  it('readiness: ready with a fresh token, degraded while renewal fails on a valid token, failing once it expired', async () => {
    const tokens = source();
    expect(await tokens.check()).toBeUndefined();
    endpoint.setFailure(500);
    now += 85_000; // due for renewal, which fails: the old token still serves
    const kept = endpoint.issued()[0];
    expect(await tokens.token()).toBe(kept);
    expect(await tokens.check()).toBe('degraded');
    now += 20_000; // expired
    await expect(tokens.check()).rejects.toThrow('the OAuth token endpoint failed (HTTP 500');
    endpoint.setFailure(undefined);
    now += 30_000; // past any backoff
    expect(await tokens.check()).toBeUndefined();
  });

  it('refusal after the credentials worked is retried (a rotation or an identity-provider fault)', async () => {
    const tokens = source();
    await tokens.token();
    endpoint.setFailure(401);
    now += 101_000;
    const error = await failureOf(tokens.token());
    expect(error.retriable).toBe(true);
  });
});
