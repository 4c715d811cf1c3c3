import { classifyError, DeliveryError } from '../errors';

/** What `GET /api/v1/accounts/region` said about the configured Track API credentials. */
export type PreflightResult =
  | { ok: true; region: string; url?: string }
  /** the credentials or the endpoint are refused: a configuration fault */
  | { ok: false; fault: 'credentials' | 'endpoint'; error: DeliveryError }
  /** Customer.io could not be asked (network, timeout, 5xx): not a verdict */
  | { ok: false; fault: 'unknown'; error: DeliveryError };

export interface PreflightOptions {
  trackUrl: string;
  siteId: string;
  apiKey: string;
  timeoutMs: number;
}

/**
 * Asks Customer.io which region the Track API credentials belong to, before anything is
 * consumed: a 401/403 means the credentials are refused, a 404/405 (or another 4xx) that
 * the base URL is not the Track API. Either is known before the first message.
 */
export async function checkTrackAccount(options: PreflightOptions): Promise<PreflightResult> {
  const auth = Buffer.from(`${options.siteId}:${options.apiKey}`).toString('base64');
  let response: Response;
  try {
    response = await fetch(`${options.trackUrl}/api/v1/accounts/region`, {
      headers: { authorization: `Basic ${auth}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    return { ok: false, fault: 'unknown', error: classifyError(error) };
  }
  const text = await response.text().catch(() => '');
  if (response.ok) {
    try {
      const body = JSON.parse(text) as { region?: unknown; url?: unknown };
      if (typeof body.region === 'string')
        return { ok: true, region: body.region, url: typeof body.url === 'string' ? body.url : undefined };
    } catch {
      // fall through: an answer that is not Customer.io's
    }
    return {
      ok: false,
      fault: 'endpoint',
      error: new DeliveryError(
        'http_4xx',
        'the region check answered without a region',
        false,
        response.status,
      ),
    };
  }
  const status = response.status;
  const message = `Customer.io answered ${status} to GET /api/v1/accounts/region`;
  if (status === 401 || status === 403)
    return { ok: false, fault: 'credentials', error: new DeliveryError('http_4xx', message, false, status) };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429)
    return { ok: false, fault: 'endpoint', error: new DeliveryError('http_4xx', message, false, status) };
  return { ok: false, fault: 'unknown', error: new DeliveryError('http_5xx', message, true, status) };
}
