import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OIDC token endpoint for tests: the client-credentials grant with HTTP Basic client
 * authentication, answering unsecured JWTs (`alg: none`), which Kafka's own unsecured
 * validator accepts. It counts the requests, so tests can prove caching and renewal.
 */
export interface TokenEndpoint {
  url: string;
  clientId: string;
  clientSecret: string;
  /** token requests answered so far, refused ones included */
  requests(): number;
  /** tokens issued so far */
  issued(): string[];
  /** the scope of the last request, if any */
  lastScope(): string | undefined;
  /** lifetime of the tokens issued from now on, seconds */
  setLifetime(seconds: number): void;
  /** answers every request with this status from now on (undefined: work again) */
  setFailure(status: number | undefined): void;
  close(): Promise<void>;
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsecured JWS: header and claims, and an empty signature. */
export function unsecuredJwt(claims: Record<string, unknown>): string {
  return `${base64url({ alg: 'none' })}.${base64url(claims)}.`;
}

export async function startTokenEndpoint(
  options: { clientId?: string; clientSecret?: string; lifetimeSeconds?: number; subject?: string } = {},
): Promise<TokenEndpoint> {
  const clientId = options.clientId ?? 'cio-bridge-test';
  const clientSecret = options.clientSecret ?? 'token-endpoint-secret-value';
  let lifetime = options.lifetimeSeconds ?? 3600;
  let failure: number | undefined;
  let count = 0;
  let scope: string | undefined;
  const issued: string[] = [];
  const expected = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;

  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      count++;
      const answer = (status: number, json: object) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (failure !== undefined) return answer(failure, { error: 'temporarily_unavailable' });
      const form = new URLSearchParams(body);
      if (req.method !== 'POST' || form.get('grant_type') !== 'client_credentials')
        return answer(400, { error: 'unsupported_grant_type' });
      if (req.headers.authorization !== expected) return answer(401, { error: 'invalid_client' });
      scope = form.get('scope') ?? undefined;
      const now = Math.floor(Date.now() / 1000);
      const token = unsecuredJwt({
        sub: options.subject ?? clientId,
        iat: now,
        exp: now + lifetime,
        jti: String(issued.length + 1),
        ...(scope ? { scope } : {}),
      });
      issued.push(token);
      answer(200, { access_token: token, token_type: 'Bearer', expires_in: lifetime });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth2/token`,
    clientId,
    clientSecret,
    requests: () => count,
    issued: () => [...issued],
    lastScope: () => scope,
    setLifetime: (seconds) => {
      lifetime = seconds;
    },
    setFailure: (status) => {
      failure = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
