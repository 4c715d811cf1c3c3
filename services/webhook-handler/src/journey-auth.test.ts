import { loadConfig } from '@cio-bridge/config';
import { webhookAuth, webhookEnv } from './config';
import { checkJourneyCredential, parseBasicAuth, parseHeaderSecrets } from './journey-auth';
import { SourceAllowlist } from './source-allowlist';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('journey credentials', () => {
  const credentials = {
    basic: parseBasicAuth('cio:old-password-0123456789, cio:new-password-0123456789'),
    headers: parseHeaderSecrets('X-Journey-Secret: header-secret-0123456789'),
  };

  it('accepts every configured pair and the secret header', () => {
    expect(
      checkJourneyCredential(credentials, { authorization: basic('cio', 'old-password-0123456789') }),
    ).toBe('valid');
    expect(
      checkJourneyCredential(credentials, { authorization: basic('cio', 'new-password-0123456789') }),
    ).toBe('valid');
    expect(checkJourneyCredential(credentials, { 'x-journey-secret': 'header-secret-0123456789' })).toBe(
      'valid',
    );
  });

  it('tells a wrong credential from a missing one', () => {
    expect(checkJourneyCredential(credentials, {})).toBe('absent');
    expect(
      checkJourneyCredential(credentials, { authorization: basic('cio', 'new-password-012345678') }),
    ).toBe('invalid');
    expect(
      checkJourneyCredential(credentials, { authorization: basic('other', 'new-password-0123456789') }),
    ).toBe('invalid');
    expect(checkJourneyCredential(credentials, { authorization: 'Bearer x' })).toBe('invalid');
    expect(checkJourneyCredential(credentials, { authorization: 'Basic !!!' })).toBe('invalid');
    expect(checkJourneyCredential(credentials, { 'x-journey-secret': 'nope' })).toBe('invalid');
  });

  it.each([
    ['cio', 'must be user:password pairs'],
    [':password-0123456789', 'must be user:password pairs'],
    ['cio:short', 'must hold passwords of at least 16 characters'],
  ])('refuses WEBHOOK_BASIC_AUTH %j', (value, message) => {
    expect(() => parseBasicAuth(value)).toThrow(message);
  });

  it.each([
    ['X-Secret', 'must be "Header-Name: value" pairs'],
    ['Bad Name: header-secret-0123456789', 'must be "Header-Name: value" pairs'],
    ['Authorization: header-secret-0123456789', 'cannot use the authorization header'],
    ['X-Secret: short', 'must hold values of at least 16 characters'],
  ])('refuses WEBHOOK_HEADER_SECRETS %j', (value, message) => {
    expect(() => parseHeaderSecrets(value)).toThrow(message);
  });
});

describe('SourceAllowlist', () => {
  const list = SourceAllowlist.parse('203.0.113.0/24, 2001:db8::/32, 198.51.100.7');
  it.each([
    ['203.0.113.9', true],
    ['::ffff:203.0.113.9', true],
    ['203.0.114.1', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    [undefined, false],
  ])('%s allowed: %s', (ip, allowed) => {
    expect(list.allows(ip)).toBe(allowed);
  });
  it.each(['not-an-ip/8', '10.0.0.0/33', '10.0.0.0/x', ''])('refuses %j', (value) => {
    expect(() => SourceAllowlist.parse(value)).toThrow();
  });
});

describe('webhookAuth', () => {
  const load = (env: Record<string, string>) => webhookAuth(loadConfig(webhookEnv, env));
  it('refuses to start with neither a signing key nor a journey credential, naming both', () => {
    expect(() => load({})).toThrow(
      'configuration error: CIO_WEBHOOK_SIGNING_KEYS is required unless journey credentials are set (WEBHOOK_BASIC_AUTH or WEBHOOK_HEADER_SECRETS)',
    );
  });
  it('defaults predictions to either with journey credentials, and to signature without', () => {
    expect(load({ CIO_WEBHOOK_SIGNING_KEYS: 'k' }).predictionsAuth).toBe('signature');
    expect(load({ WEBHOOK_BASIC_AUTH: 'cio:password-0123456789' }).predictionsAuth).toBe('either');
  });
  it('refuses a WEBHOOK_PREDICTIONS_AUTH the credentials cannot meet', () => {
    expect(() => load({ CIO_WEBHOOK_SIGNING_KEYS: 'k', WEBHOOK_PREDICTIONS_AUTH: 'journey' })).toThrow(
      'WEBHOOK_PREDICTIONS_AUTH journey needs WEBHOOK_BASIC_AUTH or WEBHOOK_HEADER_SECRETS',
    );
    expect(() =>
      load({ WEBHOOK_BASIC_AUTH: 'cio:password-0123456789', WEBHOOK_PREDICTIONS_AUTH: 'signature' }),
    ).toThrow('WEBHOOK_PREDICTIONS_AUTH signature needs CIO_WEBHOOK_SIGNING_KEYS');
  });
  it('names the variable and never the value of a malformed credential', () => {
    let message = '';
    try {
      load({ WEBHOOK_BASIC_AUTH: 'cio:tooshort' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      'configuration error: WEBHOOK_BASIC_AUTH must hold passwords of at least 16 characters each',
    );
  });
});
