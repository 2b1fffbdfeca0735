/**
 * OWASP API4 (unrestricted resource consumption): rate limits per client and per address, each
 * answering 429 `rate_limited` with a Retry-After in whole seconds, against the real server.
 *
 * - sign-in attempts per address (token endpoint and the supervision page's HTTP Basic share it);
 * - failed secret checks per client id and address: the id is refused from that address even with
 *   the right secret until the window ends, while other clients — and the same id from another
 *   address — sign in as usual (client ids are not secret, so a count per id alone would let anyone
 *   lock a client out); ids that cannot exist are refused without a secret check or a key;
 * - requests per client on protected routes: one client over its allowance is refused, another
 *   is not, and refused requests never reach the handler;
 * - the applicant's public progress look-up, per address;
 * - the public verifications (certificate envelopes, electronic seals), per address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecurityGateway, basic, bearerHeaders, startSecurityGateway, unmaskedIdNumberLeaks } from './support.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const gateways: SecurityGateway[] = [];

async function gatewayWith(environment: Record<string, string>): Promise<SecurityGateway> {
  const gateway = await startSecurityGateway(environment);
  gateways.push(gateway);
  return gateway;
}

function signIn(gateway: SecurityGateway, id: string, secret: string, headers: Record<string, string> = {}) {
  return gateway.send('/oauth/token', {
    method: 'POST',
    headers: { authorization: basic(id, secret), ...FORM, ...headers },
    body: 'grant_type=client_credentials',
  });
}

function expectRateLimited(answer: { status: number; headers: Headers; json<T>(): T }, maxSeconds: number): void {
  expect(answer.status).toBe(429);
  expect(answer.json<{ code: string }>().code).toBe('rate_limited');
  const retryAfter = answer.headers.get('retry-after');
  expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
  expect(Number(retryAfter)).toBeLessThanOrEqual(maxSeconds);
}

afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
});

describe('sign-in attempts per address', () => {
  let gateway: SecurityGateway;
  beforeAll(async () => {
    gateway = await gatewayWith({ SIGN_IN_ATTEMPTS_PER_MINUTE: '5', SIGN_IN_FAILURES_PER_CLIENT: '1000' });
  });

  it('allows the allowance, then answers 429 with Retry-After, for right and wrong secrets alike', async () => {
    const { id, secret } = await gateway.client('window');
    for (let attempt = 0; attempt < 4; attempt += 1) expect((await signIn(gateway, id, secret)).status).toBe(200);
    expect((await signIn(gateway, id, 'not-the-secret')).status).toBe(401);
    expectRateLimited(await signIn(gateway, id, secret), 60);
    // The supervision page's Basic sign-in is the same scrypt check and counts against the same allowance.
    const auditor = await gateway.client('auditor');
    expectRateLimited(
      await gateway.send('/supervision', { headers: { authorization: basic(auditor.id, auditor.secret) } }),
      60,
    );
  });

  it('is not reset by a forged X-Forwarded-For when no proxy is trusted', async () => {
    const { id, secret } = await gateway.client('window');
    expectRateLimited(await signIn(gateway, id, secret, { 'x-forwarded-for': '198.51.100.23' }), 60);
  });

  it('does not limit a caller that already holds a token', async () => {
    const token = await gateway.running.services.tokens.issue(
      { id: 'cli_ratelimit_reader', kind: 'admin', departmentCode: null },
      ['clients:admin'],
    );
    const answer = await gateway.send('/v1/clients', { headers: bearerHeaders(token.accessToken) });
    expect(answer.status).toBe(200);
  });
});

describe('behind a trusted load balancer', () => {
  let gateway: SecurityGateway;
  beforeAll(async () => {
    // The suite's requests come from 127.0.0.1, which plays the balancer here.
    gateway = await gatewayWith({
      SIGN_IN_ATTEMPTS_PER_MINUTE: '2',
      SIGN_IN_FAILURES_PER_CLIENT: '1',
      TRUSTED_PROXIES: '127.0.0.1/32,::1',
    });
  });

  it('locks a client id only for the address that sent the wrong secrets', async () => {
    const { id, secret } = await gateway.client('window');
    const from = (address: string, secretGiven: string) =>
      signIn(gateway, id, secretGiven, { 'x-forwarded-for': address });
    // Three addresses, so the per-address allowance of 2 does not get in the way.
    expect((await from('203.0.113.1', 'wrong-1')).status).toBe(401);
    expect((await from('203.0.113.2', 'wrong-2')).status).toBe(401);
    expect((await from('203.0.113.3', secret)).status).toBe(200);
  });

  it('counts per originating address from X-Forwarded-For, reading from the right', async () => {
    const { id, secret } = await gateway.client('window');
    const from = (chain: string) => signIn(gateway, id, secret, { 'x-forwarded-for': chain });
    expect((await from('198.51.100.1')).status).toBe(200);
    // What a client writes to the left of the balancer's own entry does not change its address.
    expect((await from('203.0.113.50, 198.51.100.1')).status).toBe(200);
    expectRateLimited(await from('203.0.113.51, 198.51.100.1'), 60);
    expect((await from('198.51.100.2')).status).toBe(200);
  });
});

describe('failed sign-ins per client id and address', () => {
  let gateway: SecurityGateway;
  beforeAll(async () => {
    gateway = await gatewayWith({ SIGN_IN_ATTEMPTS_PER_MINUTE: '1000', SIGN_IN_FAILURES_PER_CLIENT: '3' });
  });

  it('refuses the id from that address after repeated wrong secrets, even with the right one, and leaves other clients alone', async () => {
    const target = await gateway.client('window');
    const bystander = await gateway.client('window');
    for (let attempt = 0; attempt < 3; attempt += 1)
      expect((await signIn(gateway, target.id, `guess-${attempt}`)).status).toBe(401);
    expectRateLimited(await signIn(gateway, target.id, target.secret), 15 * 60);
    expect((await signIn(gateway, bystander.id, bystander.secret)).status).toBe(200);
  });

  it('counts wrong secrets at the supervision page against the same client id', async () => {
    const auditor = await gateway.client('auditor');
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(
        (await gateway.send('/supervision', { headers: { authorization: basic(auditor.id, `guess-${attempt}`) } }))
          .status,
      ).toBe(401);
    }
    expectRateLimited(
      await gateway.send('/supervision', { headers: { authorization: basic(auditor.id, auditor.secret) } }),
      15 * 60,
    );
    expectRateLimited(await signIn(gateway, auditor.id, auditor.secret), 15 * 60);
  });

  it('refuses an id that cannot exist at once, without counting it under that id', async () => {
    const madeUp = `not-a-client-${'x'.repeat(2000)}`;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const answer = await signIn(gateway, madeUp, 'x');
      expect(answer.status).toBe(401);
      expect(answer.json<{ code: string }>().code).toBe('invalid_client');
    }
  });

  it('counts an unknown client id like a known one (no hint which ids exist)', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1)
      expect((await signIn(gateway, 'cli_does_not_exist', 'x')).status).toBe(401);
    const answer = await signIn(gateway, 'cli_does_not_exist', 'x');
    expectRateLimited(answer, 15 * 60);
  });
});

describe('requests per client on protected routes', () => {
  let gateway: SecurityGateway;
  beforeAll(async () => {
    gateway = await gatewayWith({ CLIENT_REQUESTS_PER_MINUTE: '10' });
  });

  it('refuses a client over its allowance with 429 and Retry-After; another client is served', async () => {
    const busy = await gateway.token('admin');
    const quiet = await gateway.token('admin');
    for (let request = 0; request < 10; request += 1)
      expect((await gateway.send('/v1/clients', { headers: bearerHeaders(busy) })).status).toBe(200);
    expectRateLimited(await gateway.send('/v1/clients', { headers: bearerHeaders(busy) }), 60);
    expect((await gateway.send('/v1/clients', { headers: bearerHeaders(quiet) })).status).toBe(200);
  });

  it('writes nothing for a refused request', async () => {
    const writer = await gateway.token('admin');
    const before = (await gateway.send('/v1/clients?limit=200', { headers: bearerHeaders(writer) })).json<{
      items: unknown[];
    }>().items.length;
    let created = 0;
    let refused = 0;
    for (let request = 0; request < 12; request += 1) {
      const answer = await gateway.send('/v1/clients', {
        method: 'POST',
        headers: bearerHeaders(writer, { 'content-type': 'application/json' }),
        body: JSON.stringify({ name: `flood ${request}`, kind: 'window' }),
      });
      if (answer.status === 201) created += 1;
      else if (answer.status === 429) refused += 1;
    }
    expect(refused).toBeGreaterThan(0);
    const reader = await gateway.token('admin');
    const after = (await gateway.send('/v1/clients?limit=200', { headers: bearerHeaders(reader) })).json<{
      items: unknown[];
    }>().items.length;
    // Every created client, plus the reader registered for this count, and nothing for the refusals.
    expect(after - before).toBe(created + 1);
  });
});

describe('the public progress look-up per address', () => {
  let gateway: SecurityGateway;
  beforeAll(async () => {
    gateway = await gatewayWith({ PROGRESS_LOOKUPS_PER_MINUTE: '3' });
  });

  it('answers 429 with Retry-After once an address is over its allowance', async () => {
    const lookUp = () =>
      gateway.send('/v1/progress', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ caseNumber: 'OW20261130000001', check: '002X' }),
      });
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await lookUp()).status).not.toBe(429);
    expectRateLimited(await lookUp(), 60);
  });
});

describe('the public verifications per address', () => {
  let gateway: SecurityGateway;
  beforeAll(async () => {
    gateway = await gatewayWith({ VERIFICATIONS_PER_MINUTE: '3' });
  });

  it('answers 429 with Retry-After once an address is over its allowance, envelopes and seals alike', async () => {
    const verify = (path: string, body: unknown) =>
      gateway.send(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const envelope = () => verify('/v1/certificates/verify', { envelope: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' });
    for (let attempt = 0; attempt < 2; attempt += 1) expect((await envelope()).status).not.toBe(429);
    // Both routes draw on one allowance per address: a seal after two envelopes is the third.
    expect((await verify('/v1/seals/verify', { documentBase64: 'AAAA', sealBase64: 'AAAA' })).status).not.toBe(429);
    expectRateLimited(await envelope(), 60);
    expectRateLimited(await verify('/v1/seals/verify', { documentBase64: 'AAAA', sealBase64: 'AAAA' }), 60);
  });
});

describe('what the suite saw', () => {
  it('leaks no clear ID number in responses or logs', () => {
    for (const gateway of gateways) expect(unmaskedIdNumberLeaks(gateway)).toEqual([]);
  });
});
