import { CustomerIORequestError } from 'customerio-node';
import { classifyError, parseRetryAfter } from './errors';

const httpError = (
  status: number,
  headers: Record<string, string> = {},
  body = '{"meta":{"error":"nope"}}',
) => new CustomerIORequestError(JSON.parse(body), status, { statusCode: status, headers, ok: false }, body);

describe('classifyError', () => {
  it('masks emails that Customer.io quotes in its answer (it goes to logs and dead-letter headers)', () => {
    const body = '{"meta":{"error":"identifiers.email ada.lovelace@example.com is not valid"}}';
    const error = classifyError(httpError(400, {}, body));
    expect(error.message).toBe(
      'Customer.io answered 400: {"meta":{"error":"identifiers.email a***@example.com is not valid"}}',
    );
  });

  it.each([
    [400, 'http_4xx', false],
    [404, 'http_4xx', false],
    [401, 'http_4xx', false],
    [408, 'timeout', true],
    [429, 'rate_limited', true],
    [500, 'http_5xx', true],
    [503, 'http_5xx', true],
  ])('status %i is %s, retriable %s', (status, errorClass, retriable) => {
    const error = classifyError(httpError(status));
    expect(error.errorClass).toBe(errorClass);
    expect(error.retriable).toBe(retriable);
    expect(error.status).toBe(status);
    expect(error.message).toContain(`answered ${status}`);
  });

  it('treats 401 and 403 as an authentication failure', () => {
    expect(classifyError(httpError(401)).authentication).toBe(true);
    expect(classifyError(httpError(403)).authentication).toBe(true);
    expect(classifyError(httpError(400)).authentication).toBe(false);
  });

  it('reads Retry-After of a 429', () => {
    expect(classifyError(httpError(429, { 'retry-after': '3' })).retryAfterMs).toBe(3_000);
  });

  it('classifies fetch timeouts and network failures as retriable', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(classifyError(timeout)).toMatchObject({ errorClass: 'timeout', retriable: true });
    const reset = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    expect(classifyError(reset)).toMatchObject({ errorClass: 'network', retriable: true });
    expect(classifyError(reset).message).toContain('ECONNRESET');
  });

  it('classifies anything else as unknown and retriable', () => {
    expect(classifyError(new Error('Unable to parse JSON'))).toMatchObject({
      errorClass: 'unknown',
      retriable: true,
    });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, capped', () => {
    expect(parseRetryAfter('2')).toBe(2_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('99999', 0, 60_000)).toBe(60_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
