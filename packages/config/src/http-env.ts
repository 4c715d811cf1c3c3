import { isIP } from 'node:net';
import { z } from 'zod';
import { integer } from './fields';

const NAMED = ['loopback', 'linklocal', 'uniquelocal'];

/** An address, a subnet (`10.0.0.0/8`, `fd00::/8`) or one of express's names for them. */
function isProxyAddress(value: string): boolean {
  if (NAMED.includes(value)) return true;
  const [address = '', bits, ...rest] = value.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

const TRUST_PROXY_MESSAGE =
  'must be a number of proxy hops or a comma-separated list of proxy addresses or subnets (loopback, 10.0.0.0/8, ...)';

/** TRUST_PROXY: unset or `false` trusts no proxy; a hop count; or a list of proxy addresses. */
const trustProxy = z
  .string()
  .default('false')
  .transform((value, ctx): false | number | string[] => {
    const trimmed = value.trim();
    if (trimmed === 'false' || trimmed === '0') return false;
    if (/^\d{1,2}$/.test(trimmed)) return Number(trimmed);
    const list = trimmed
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    if (list.length > 0 && list.every(isProxyAddress)) return list;
    ctx.addIssue({ code: 'custom', message: TRUST_PROXY_MESSAGE });
    return z.NEVER;
  });

/** MANAGEMENT_PORT and TRUST_PROXY: every service with an HTTP server has them. */
export const httpEnv = {
  /** serve `/healthz`, `/readyz`, `/metrics` and `/status` on a port of their own (default: the service port), so only the API port faces the network */
  MANAGEMENT_PORT: integer(1, 65535).optional(),
  /** trust `X-Forwarded-For` from this many proxy hops, or from these comma-separated addresses or subnets (`true` is refused) */
  TRUST_PROXY: trustProxy,
};

const httpEnvSchema = z.object(httpEnv);
export type HttpEnv = z.infer<typeof httpEnvSchema>;

/** The options of @cio-bridge/http's createHttpApp from the variables and the service's PORT. */
export function httpNetworkOptions(env: HttpEnv & { PORT: number }): {
  managementPort?: number;
  trustProxy: false | number | string[];
} {
  const separate = env.MANAGEMENT_PORT !== undefined && env.MANAGEMENT_PORT !== env.PORT;
  return { ...(separate ? { managementPort: env.MANAGEMENT_PORT } : {}), trustProxy: env.TRUST_PROXY };
}
