import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepartmentError } from './errors.js';
import { checkBaseUrl, createGuardedLookup, resolveAndCheck, type UrlPolicy } from './url-policy.js';

const publicOnly: UrlPolicy = { allowedHosts: [], allowPrivateNetworks: false };
const privateAllowed: UrlPolicy = { allowedHosts: [], allowPrivateNetworks: true };

function refusal(run: () => unknown): DepartmentError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DepartmentError);
    expect((error as DepartmentError).kind).toBe('not_allowed');
    return error as DepartmentError;
  }
  throw new Error('expected a refusal');
}

describe('checkBaseUrl: shape of the URL', () => {
  it('accepts a public https URL and returns it parsed', () => {
    expect(checkBaseUrl('https://registry.psb.example.gov.cn/api', publicOnly).hostname).toBe(
      'registry.psb.example.gov.cn',
    );
    expect(checkBaseUrl('http://203.119.25.1:8080/', publicOnly).port).toBe('8080');
  });

  it.each([
    ['ftp://registry.example.gov.cn/', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['https://user:secret@registry.example.gov.cn/', 'credentials'],
    ['https://registry.example.gov.cn/#frag', 'fragment'],
    ['not a url', 'valid'],
  ])('refuses %s', (url, word) => {
    expect(refusal(() => checkBaseUrl(url, publicOnly)).message).toContain(word);
  });

  it('names the department in the message when given', () => {
    expect(refusal(() => checkBaseUrl('ftp://x.example/', publicOnly, 'PSB')).message).toMatch(/^PSB: /);
  });
});

describe('checkBaseUrl: non-public addresses', () => {
  it.each([
    'http://127.0.0.1/',
    'http://127.8.9.10/',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://192.168.1.1/',
    'http://169.254.169.254/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://240.0.0.1/',
    'http://192.0.2.1/',
    'http://[::1]/',
    'http://[::]/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://[ff02::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://[::127.0.0.1]/',
    'http://[64:ff9b::a00:1]/',
    'http://[2002:a00:1::]/',
    // WHATWG URL turns these into 127.0.0.1: decimal, octal, hex, shorthand.
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://0x7f.0.0.1/',
    'http://0x7f000001/',
    'http://127.1/',
    'http://localhost:8080/',
    'http://api.localhost/',
  ])('refuses %s unless private networks are allowed', (url) => {
    refusal(() => checkBaseUrl(url, publicOnly));
    expect(() => checkBaseUrl(url, privateAllowed)).not.toThrow();
  });

  it('accepts public IPv6 and an IPv4-mapped public address', () => {
    expect(() => checkBaseUrl('http://[2400:3200::1]/', publicOnly)).not.toThrow();
    expect(() => checkBaseUrl('http://[::ffff:203.119.25.1]/', publicOnly)).not.toThrow();
  });
});

describe('checkBaseUrl: allowlist', () => {
  const policy: UrlPolicy = {
    allowedHosts: ['registry.psb.example.gov.cn', '203.119.25.0/24', '2400:3200::/32'],
    allowPrivateNetworks: false,
  };

  it('admits exact host names (case-insensitive) and addresses inside allowed ranges', () => {
    expect(() => checkBaseUrl('https://REGISTRY.psb.example.gov.cn/', policy)).not.toThrow();
    expect(() => checkBaseUrl('http://203.119.25.77/', policy)).not.toThrow();
    expect(() => checkBaseUrl('http://[2400:3200::9]/', policy)).not.toThrow();
  });

  it('refuses other hosts, sub-domains and addresses outside the ranges', () => {
    expect(refusal(() => checkBaseUrl('https://evil.example.com/', policy)).message).toContain('allowlist');
    refusal(() => checkBaseUrl('https://x.registry.psb.example.gov.cn/', policy));
    refusal(() => checkBaseUrl('http://203.119.26.1/', policy));
  });

  it('still refuses a private address on the allowlist unless private networks are allowed', () => {
    refusal(() => checkBaseUrl('http://10.0.0.5/', { allowedHosts: ['10.0.0.0/8'], allowPrivateNetworks: false }));
    expect(() =>
      checkBaseUrl('http://10.0.0.5/', { allowedHosts: ['10.0.0.0/8'], allowPrivateNetworks: true }),
    ).not.toThrow();
    refusal(() => checkBaseUrl('http://10.0.0.5/', { allowedHosts: ['127.0.0.1'], allowPrivateNetworks: true }));
  });
});

describe('connect-time checks (DNS rebinding)', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('resolveAndCheck refuses a name that resolves to loopback, unless private networks are allowed', async () => {
    await expect(resolveAndCheck('localhost', publicOnly)).rejects.toMatchObject({ kind: 'not_allowed' });
    await expect(resolveAndCheck('localhost', privateAllowed)).resolves.toContain('127.0.0.1');
    await expect(resolveAndCheck('10.0.0.1', publicOnly)).rejects.toMatchObject({ kind: 'not_allowed' });
  });

  it('the guarded lookup stops an undici connection to a name that resolves to loopback', async () => {
    const refused = new Pool(`http://localhost:${port}`, {
      connect: { lookup: createGuardedLookup(publicOnly, 'PSB') },
    });
    const error: unknown = await refused.request({ method: 'GET', path: '/' }).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DepartmentError);
    expect((error as DepartmentError).kind).toBe('not_allowed');
    await refused.close();

    const allowed = new Pool(`http://localhost:${port}`, { connect: { lookup: createGuardedLookup(privateAllowed) } });
    const response = await allowed.request({ method: 'GET', path: '/' });
    expect(await response.body.text()).toBe('ok');
    await allowed.close();
  });
});
