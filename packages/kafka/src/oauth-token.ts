import type { Logger } from '@cio-bridge/logger';

/** An OIDC client of the client-credentials grant (RFC 6749 section 4.4). */
export interface OAuthClientCredentials {
  tokenEndpointUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

export interface OAuthTokenSourceOptions {
  logger: Logger;
  /** ms since the epoch (tests pass their own clock) */
  now?: () => number;
  /** 0..1, for the backoff's jitter */
  random?: () => number;
  /** ms for one token request (default 10 s) */
  timeoutMs?: number;
}

/** A token request that failed; `retriable` is false for credentials that never worked. */
export class OAuthTokenError extends Error {
  override name = 'OAuthTokenError';
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

interface HeldToken {
  value: string;
  /** renewal starts here: 80% of the lifetime, as Kafka's own Java client does */
  renewAt: number;
  expiresAt: number;
}

const RENEW_AT = 0.8;
/** used when the endpoint states no lifetime and the token carries no `exp` */
const DEFAULT_LIFETIME_MS = 300_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

/** The `exp` claim of a JWT (seconds), if the token is one. */
function jwtExpiry(token: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof claims?.exp === 'number' ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * OAUTHBEARER tokens from an OIDC token endpoint: one request for every connection of a
 * client, renewed once 80% of the lifetime has passed. A failed request is retried with
 * exponential backoff: callers in between get the last error (or the old token while it
 * is still valid) without another request. The secret and the tokens are never logged.
 */
export class OAuthTokenSource {
  private held?: HeldToken;
  private inFlight?: Promise<string>;
  private failures = 0;
  private nextAttemptAt = 0;
  private lastError?: OAuthTokenError;
  private worked = false;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly credentials: OAuthClientCredentials,
    private readonly options: OAuthTokenSourceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** A valid token: the held one, or a new one when it is due. */
  async token(): Promise<string> {
    const held = this.held;
    if (held && this.now() < held.renewAt) return held.value;
    if (this.now() < this.nextAttemptAt) return this.stillValid() ?? Promise.reject(this.lastError);
    this.inFlight ??= this.request().finally(() => {
      this.inFlight = undefined;
    });
    try {
      return await this.inFlight;
    } catch (error) {
      return this.stillValid() ?? Promise.reject(error);
    }
  }

  /**
   * For readiness: resolves when a fresh token is held, `'degraded'` while renewing fails
   * but the held token is still valid, and throws when there is no valid token.
   */
  async check(): Promise<'degraded' | undefined> {
    await this.token();
    return this.lastError ? 'degraded' : undefined;
  }

  private stillValid(): string | undefined {
    return this.held && this.now() < this.held.expiresAt ? this.held.value : undefined;
  }

  private async request(): Promise<string> {
    const { tokenEndpointUrl, clientId, clientSecret, scope } = this.credentials;
    const startedAt = this.now();
    try {
      const response = await fetch(tokenEndpointUrl, {
        method: 'POST',
        headers: {
          // client_secret_basic, as Kafka's own Java client sends it
          authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      }).catch((error: unknown) => {
        throw new OAuthTokenError(
          `the OAuth token endpoint cannot be reached (${networkReason(error)})`,
          true,
        );
      });
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (!response.ok) throw this.refusal(response.status, body);
      const value = body.access_token;
      if (typeof value !== 'string' || value === '')
        throw new OAuthTokenError('the OAuth token endpoint answered without an access_token', true);
      const lifetimeMs = lifetimeOf(body.expires_in, value, startedAt);
      this.held = { value, renewAt: startedAt + lifetimeMs * RENEW_AT, expiresAt: startedAt + lifetimeMs };
      if (this.lastError) this.options.logger.info('OAuth token endpoint answers again');
      this.failures = 0;
      this.lastError = undefined;
      this.worked = true;
      return value;
    } catch (error) {
      const failure =
        error instanceof OAuthTokenError
          ? error
          : new OAuthTokenError(`the OAuth token request failed (${(error as Error).name})`, true);
      this.failures++;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
      const retryInMs = Math.round(delay * (0.8 + this.random() * 0.4));
      this.nextAttemptAt = this.now() + retryInMs;
      this.lastError = failure;
      this.options.logger.warn(
        { reason: failure.message, attempt: this.failures, retryInMs },
        'OAuth token request failed',
      );
      throw failure;
    }
  }

  /** Credentials refused before they ever worked are a configuration fault, not worth retrying. */
  private refusal(status: number, body: Record<string, unknown>): OAuthTokenError {
    const code = typeof body.error === 'string' && /^[\w.-]{1,64}$/.test(body.error) ? ` ${body.error}` : '';
    const refused = status === 400 || status === 401 || status === 403;
    if (refused && !this.worked)
      return new OAuthTokenError(
        `the OAuth token endpoint refused the client credentials (HTTP ${status}${code}): check KAFKA_SASL_OAUTHBEARER_CLIENT_ID and KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET`,
        false,
      );
    return new OAuthTokenError(`the OAuth token endpoint failed (HTTP ${status}${code})`, true);
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause;
  if (cause?.code) return cause.code;
  return (error as Error)?.name === 'TimeoutError' ? 'timeout' : ((error as Error)?.name ?? 'error');
}

/** expires_in (seconds), else the JWT's exp, else a conservative default. */
function lifetimeOf(expiresIn: unknown, token: string, now: number): number {
  const seconds = typeof expiresIn === 'string' ? Number(expiresIn) : expiresIn;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  const exp = jwtExpiry(token);
  if (exp !== undefined && exp * 1000 > now) return exp * 1000 - now;
  return DEFAULT_LIFETIME_MS;
}
