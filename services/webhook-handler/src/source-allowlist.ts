import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * WEBHOOK_ALLOWED_SOURCES: the networks webhooks may come from (for example Customer.io's
 * published source addresses for the region), as CIDRs or single addresses.
 */
export class SourceAllowlist {
  private constructor(private readonly list: BlockList) {}

  /** Parses comma-separated CIDRs; throws naming the entry's rule (never another value). */
  static parse(value: string): SourceAllowlist {
    const list = new BlockList();
    const entries = value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    if (entries.length === 0) throw new Error('must be a comma-separated list of CIDRs');
    for (const entry of entries) {
      const [address = '', prefixText] = entry.split('/');
      const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
      if (!type) throw new Error(`must hold IPv4 or IPv6 CIDRs such as 203.0.113.0/24 (got "${entry}")`);
      const max = type === 'ipv4' ? 32 : 128;
      const prefix = prefixText === undefined ? max : Number(prefixText);
      if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max)
        throw new Error(`has a prefix length out of 0-${max} in "${entry}"`);
      list.addSubnet(address, prefix, type);
    }
    return new SourceAllowlist(list);
  }

  /** Whether the client address (as Express reports it, honouring TRUST_PROXY) is allowed. */
  allows(ip: string | undefined): boolean {
    if (!ip) return false;
    // An IPv4 client on a dual-stack socket is reported as ::ffff:a.b.c.d.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    if (mapped) return this.list.check(mapped, 'ipv4');
    if (isIPv4(ip)) return this.list.check(ip, 'ipv4');
    return isIPv6(ip) && this.list.check(ip, 'ipv6');
  }
}
