/**
 * Which proxies' X-Forwarded-For to believe: `false` (none: the client address is the
 * socket's), a number of hops, or proxy addresses and subnets (`10.0.0.0/8`, `loopback`).
 * Never "everyone", which would let any client forge its logged address.
 */
export type TrustProxy = false | number | readonly string[];

/** Where the management endpoints listen and which proxies are trusted (HttpAppOptions). */
export interface HttpNetworkOptions {
  /**
   * Port of /healthz, /readyz, /metrics and /status; unset or the service port: the
   * same server as the API. Another port keeps them off the port that faces the network.
   */
  managementPort?: number;
  trustProxy?: TrustProxy;
}
