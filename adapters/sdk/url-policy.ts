/**
 * Which department base URLs the gateway may call, checked twice: once when a department client
 * is created (scheme, credentials, allowlist, IP literals) and again at every connect (the
 * addresses a host NAME resolves to), so a name that resolves, or later re-resolves, to a
 * loopback or internal address (DNS rebinding) cannot turn the gateway into a proxy into its own
 * network.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { DepartmentError } from './errors.js';

export interface UrlPolicy {
  /** Host names / addresses (or CIDR ranges) departments may live on. Empty: any public address. */
  allowedHosts: readonly string[];
  /** Whether loopback, private, link-local and other non-public ranges may be called (demo, tests). */
  allowPrivateNetworks: boolean;
}

type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

function refuse(department: string, message: string): never {
  throw new DepartmentError('not_allowed', `${department ? `${department}: ` : ''}${message}`, { department });
}

/** Parses an IP literal as WHATWG URL leaves it (IPv6 in brackets); null for a host name. */
function parseIpLiteral(hostname: string): IpAddress | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (!ipaddr.isValid(bare)) return null;
  // ipaddr accepts shorthand IPv4 ("127.1"); WHATWG URL has normalised those already, and a
  // resolver answer is always four parts, so this only sees canonical forms.
  return ipaddr.parse(bare);
}

function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 {
  const [, , , , , , high = 0, low = 0] = address.parts;
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * Why an address is not a public unicast address, or null when it is. IPv6 forms that carry an
 * IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the address they carry.
 */
export function nonPublicReason(address: IpAddress): string | null {
  if (address.kind() === 'ipv4') {
    const range = address.range();
    return range === 'unicast' ? null : range;
  }
  const v6 = address as ipaddr.IPv6;
  const parts = v6.parts;
  if (parts.slice(0, 6).every((part) => part === 0)) {
    // `::` and `::1`, and the deprecated IPv4-compatible form `::a.b.c.d`.
    if (parts[6] === 0 && (parts[7] === 0 || parts[7] === 1)) return parts[7] === 0 ? 'unspecified' : 'loopback';
    const carried = nonPublicReason(embeddedIpv4(v6));
    return carried === null ? null : `IPv4-compatible ${carried}`;
  }
  const range = v6.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052') {
    const carried = nonPublicReason(embeddedIpv4(v6));
    return carried === null ? null : `${range} ${carried}`;
  }
  if (range === '6to4') {
    const [, high = 0, low = 0] = parts;
    const carried = nonPublicReason(new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]));
    return carried === null ? null : `6to4 ${carried}`;
  }
  return range === 'unicast' ? null : range;
}

interface CompiledAllowlist {
  names: Set<string>;
  ranges: [IpAddress, number][];
}

/** Parsed once per policy object: the allowlist is read on every connect. */
const compiledAllowlists = new WeakMap<UrlPolicy, CompiledAllowlist>();

function compileAllowlist(policy: UrlPolicy): CompiledAllowlist {
  const cached = compiledAllowlists.get(policy);
  if (cached) return cached;
  const names = new Set<string>();
  const ranges: [IpAddress, number][] = [];
  for (const entry of policy.allowedHosts) {
    const trimmed = entry.trim().toLowerCase();
    if (trimmed === '') continue;
    if (ipaddr.isValidCIDR(trimmed)) ranges.push(ipaddr.parseCIDR(trimmed));
    else if (ipaddr.isValid(trimmed)) {
      const address = ipaddr.parse(trimmed);
      ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else names.add(trimmed.replace(/\.$/, ''));
  }
  const compiled = { names, ranges };
  compiledAllowlists.set(policy, compiled);
  return compiled;
}

function addressAllowed(address: IpAddress, allowlist: CompiledAllowlist): boolean {
  for (const [network, bits] of allowlist.ranges) {
    if (network.kind() === address.kind() && address.match(network, bits)) return true;
    // An allowlisted IPv4 range also admits the same address written as IPv4-mapped IPv6.
    if (network.kind() === 'ipv4' && address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
      if ((address as ipaddr.IPv6).toIPv4Address().match(network, bits)) return true;
    }
  }
  return false;
}

/** Throws `not_allowed` unless the policy admits this resolved or literal address. */
export function checkAddress(address: string | IpAddress, policy: UrlPolicy, department = ''): void {
  const parsed = typeof address === 'string' ? parseIpLiteral(address) : address;
  if (!parsed) refuse(department, 'the department address is not an IP address');
  if (!policy.allowPrivateNetworks) {
    const reason = nonPublicReason(parsed);
    if (reason !== null)
      refuse(
        department,
        `the department address is in a non-public range (${reason}); private networks are not allowed`,
      );
  }
}

/**
 * Checks a department base URL; returns it parsed. Only http and https, no credentials, no
 * fragment; the host must be on the allowlist when there is one; an IP literal (in any form WHATWG
 * URL normalises: decimal, octal, hex, IPv4-mapped IPv6) must be public unless private networks are
 * allowed. Host NAMES are checked again at connect time (`createGuardedLookup`).
 */
export function checkBaseUrl(url: string, policy: UrlPolicy, department = ''): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse(department, 'the base URL is not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    refuse(department, `the base URL scheme ${parsed.protocol} is not http or https`);
  if (parsed.username !== '' || parsed.password !== '') refuse(department, 'the base URL must not carry credentials');
  if (parsed.hash !== '' || url.includes('#')) refuse(department, 'the base URL must not have a fragment');
  const hostname = parsed.hostname.toLowerCase();
  const literal = parseIpLiteral(hostname);
  const allowlist = compileAllowlist(policy);
  if (policy.allowedHosts.length > 0) {
    const allowed = literal ? addressAllowed(literal, allowlist) : allowlist.names.has(hostname.replace(/\.$/, ''));
    if (!allowed) refuse(department, `the host ${hostname} is not on the department allowlist`);
  }
  if (literal) checkAddress(literal, policy, department);
  else if (
    !policy.allowPrivateNetworks &&
    (hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === 'localhost.')
  ) {
    // RFC 6761: these names always resolve to loopback; refuse them before any lookup.
    refuse(department, 'the base URL names localhost; private networks are not allowed');
  }
  return parsed;
}

/** Resolves a host name and throws `not_allowed` if any of its addresses is refused by the policy. */
export async function resolveAndCheck(hostname: string, policy: UrlPolicy, department = ''): Promise<string[]> {
  const literal = parseIpLiteral(hostname);
  if (literal) {
    checkAddress(literal, policy, department);
    return [literal.toString()];
  }
  const addresses = await new Promise<LookupAddress[]>((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, found) => (error ? reject(error) : resolve(found)));
  });
  for (const { address } of addresses) checkAddress(address, policy, department);
  return addresses.map(({ address }) => address);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` (undici's `connect.lookup`) that refuses a connection when the
 * name resolves to an address the policy refuses. Every address of the answer is checked, not
 * only the one used, so a mixed public/private answer is refused whole.
 */
export function createGuardedLookup(policy: UrlPolicy, department = '') {
  return function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, options.all ? [] : '');
      try {
        for (const { address } of addresses) checkAddress(address, policy, department);
      } catch (refusal) {
        return callback(refusal as NodeJS.ErrnoException, options.all ? [] : '');
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };
}
