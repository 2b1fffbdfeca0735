import { describe, expect, it } from 'vitest';
import { originatingAddress, parseTrustedProxies } from './client-address.js';

describe('originating address', () => {
  const none = parseTrustedProxies([]);
  const balancer = parseTrustedProxies(['10.0.0.0/24', '2001:db8::1']);

  it('is the peer, whatever the header says, when no proxy is trusted', () => {
    expect(originatingAddress('203.0.113.9', '198.51.100.1', none)).toBe('203.0.113.9');
    expect(originatingAddress('::ffff:203.0.113.9', undefined, none)).toBe('203.0.113.9');
  });

  it('is the peer when the peer is not a trusted proxy, even with a forged header', () => {
    expect(originatingAddress('203.0.113.9', '10.0.0.5, 198.51.100.1', balancer)).toBe('203.0.113.9');
  });

  it('is the nearest untrusted hop when a trusted proxy forwarded the request', () => {
    expect(originatingAddress('10.0.0.2', '198.51.100.7', balancer)).toBe('198.51.100.7');
    // The client wrote "1.2.3.4" itself; the balancer appended the real peer, which is what counts.
    expect(originatingAddress('::ffff:10.0.0.2', '1.2.3.4, 198.51.100.7', balancer)).toBe('198.51.100.7');
    // Two layers of our own proxies.
    expect(originatingAddress('2001:db8::1', '198.51.100.7, 10.0.0.3', balancer)).toBe('198.51.100.7');
  });

  it('falls back to the proxy when there is no header', () => {
    expect(originatingAddress('10.0.0.2', undefined, balancer)).toBe('10.0.0.2');
  });

  it('refuses a configuration entry that is not an address or range', () => {
    expect(() => parseTrustedProxies(['balancer.local'])).toThrow(/balancer\.local/);
    expect(() => parseTrustedProxies(['10.0.0.0/99'])).toThrow(/10\.0\.0\.0\/99/);
  });

  it('counts an IPv6 caller by its /64 and drops a port a proxy appended', () => {
    expect(originatingAddress('2001:db8:1:2:aaaa::1', undefined, none)).toBe('2001:db8:1:2::/64');
    expect(originatingAddress('2001:db8:1:2:bbbb::9', undefined, none)).toBe('2001:db8:1:2::/64');
    expect(originatingAddress('10.0.0.2', '198.51.100.7:51234', balancer)).toBe('198.51.100.7');
    expect(originatingAddress('10.0.0.2', '[2001:db8:5:6::7]:443', balancer)).toBe('2001:db8:5:6::/64');
  });
});
