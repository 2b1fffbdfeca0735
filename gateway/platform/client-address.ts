/**
 * Which address a request comes from, for per-address rate limits. Without configuration it is
 * the TCP peer and no header is believed: anyone can write `X-Forwarded-For`. Behind a load
 * balancer every peer is the balancer, so `TRUSTED_PROXIES` names it (addresses or CIDR ranges);
 * then `X-Forwarded-For` is read from the right — the entries our own proxies appended — and the
 * first address that is not a trusted proxy is the client. Entries further left were written by
 * the client itself and are never reached while a trusted proxy appended the real one.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface TrustedProxies {
  /** Whether `address` (text) is one of the trusted proxies. */
  has(address: string): boolean;
  readonly size: number;
}

/** IPv4-mapped IPv6 (::ffff:10.0.0.1, what a dual-stack socket reports) is compared as IPv4. */
function parseAddress(text: string): Address | null {
  const bare = withoutPort(text);
  if (!ipaddr.isValid(bare)) return null;
  return ipaddr.process(bare);
}

/** Parses the configured list; throws naming the first entry that is neither an address nor a CIDR range. */
export function parseTrustedProxies(entries: readonly string[]): TrustedProxies {
  const ranges: [Address, number][] = entries.map((entry) => {
    if (entry.includes('/')) {
      try {
        const [range, bits] = ipaddr.parseCIDR(entry);
        // A mapped IPv6 range is kept as IPv6; plain IPv4 ranges match mapped peers after process().
        return [range, bits];
      } catch {
        throw new Error(`${entry} is not an IP address or CIDR range`);
      }
    }
    const address = parseAddress(entry);
    if (!address) throw new Error(`${entry} is not an IP address or CIDR range`);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  });
  return {
    size: ranges.length,
    has(text) {
      const address = parseAddress(text);
      if (!address) return false;
      return ranges.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
    },
  };
}

/** The client's address: the peer, or, when the peer is a trusted proxy, the nearest untrusted hop it reported. */
export function originatingAddress(peer: string, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  if (trusted.size === 0 || !trusted.has(peer)) return normalise(peer);
  const hops = (forwardedFor ?? '')
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0);
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = hops[index] ?? '';
    if (!trusted.has(hop)) return normalise(hop);
  }
  // Only proxies in the chain (or no header): the request started at the proxy itself.
  return normalise(hops[0] ?? peer);
}

/**
 * The key a limit counts under: an IPv4 address, or the /64 network of an IPv6 address (one
 * subscriber usually holds a whole /64 and could otherwise rotate through it). A port some
 * proxies append ("203.0.113.7:51234", "[2001:db8::1]:443") is dropped.
 */
function normalise(text: string): string {
  const address = parseAddress(withoutPort(text));
  if (!address) return text;
  if (address.kind() === 'ipv6') {
    const parts = (address as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
    return `${parts.join(':')}::/64`;
  }
  return address.toString();
}

function withoutPort(text: string): string {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(trimmed);
  if (bracketed?.[1]) return bracketed[1];
  const ipv4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(trimmed);
  return ipv4WithPort?.[1] ?? trimmed;
}
