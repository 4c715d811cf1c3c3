import { z } from 'zod';
import { port } from './fields';
import { httpEnv, httpNetworkOptions } from './http-env';
import { loadConfig } from './load';

const schema = z.object({ PORT: port(8081), ...httpEnv });
const options = (env: Record<string, string>) => httpNetworkOptions(loadConfig(schema, env));

describe('MANAGEMENT_PORT and TRUST_PROXY', () => {
  it('default to one port and no trusted proxy', () => {
    expect(options({})).toEqual({ trustProxy: false });
    expect(options({ MANAGEMENT_PORT: '8081' })).toEqual({ trustProxy: false });
  });

  it('give the management endpoints a port of their own', () => {
    expect(options({ MANAGEMENT_PORT: '9464' })).toEqual({ managementPort: 9464, trustProxy: false });
  });

  it.each([
    ['false', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.168.1.7 ,fd00::/8', ['10.0.0.0/8', '192.168.1.7', 'fd00::/8']],
  ])('reads TRUST_PROXY=%j', (value, trustProxy) => {
    expect(options({ TRUST_PROXY: value }).trustProxy).toEqual(trustProxy);
  });

  it.each(['true', 'everyone', '10.0.0.0/33', '300.1.1.1', '1000'])(
    'refuses TRUST_PROXY=%j, naming it',
    (value) => {
      expect(() => options({ TRUST_PROXY: value })).toThrow(
        /^configuration error: TRUST_PROXY must be a number of proxy hops or a comma-separated list of proxy addresses/,
      );
    },
  );

  it('refuses a MANAGEMENT_PORT that is no port', () => {
    expect(() => options({ MANAGEMENT_PORT: 'metrics' })).toThrow(
      'configuration error: MANAGEMENT_PORT must be a whole number from 1 to 65535',
    );
  });
});
