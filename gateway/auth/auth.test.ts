/**
 * Token endpoint, JWKS, key rotation and the client registry API.
 */
import { generateKeyPairSync, randomBytes, scryptSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { createLocalJWKSet, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clients, signingKeys } from '../db/schema.js';
import { oauthErrorFor } from './oauth-errors.js';
import { ClientSecrets } from './secrets.js';
import { bearer, createTestGateway, problemOf, type TestGateway } from '../../test/harness.js';
import { verifyOffline } from '../../test/support/offline-verify.js';

let gw: TestGateway;
let window: { id: string; secret: string };
let adminToken: string;

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function requestToken(body: string, headers: Record<string, string> = {}, query = '') {
  return gw.request(`/oauth/token${query}`, { method: 'POST', headers: { ...FORM, ...headers }, body });
}

/** A token endpoint error: RFC 6749 §5.2 JSON (`error`, `error_description`) beside the problem-document members. */
async function tokenErrorOf(response: Response): Promise<{
  error: string;
  error_description: string;
  code: string;
  status: number;
  requestId?: string;
  detail?: string;
}> {
  expect(response.headers.get('content-type')).toBe('application/json');
  const body = (await response.json()) as {
    error: string;
    error_description: string;
    code: string;
    status: number;
    requestId?: string;
    detail?: string;
  };
  expect(typeof body.error).toBe('string');
  expect(typeof body.error_description).toBe('string');
  expect(body.status).toBe(response.status);
  expect(body.requestId).toBe(response.headers.get('x-request-id'));
  return body;
}

beforeAll(async () => {
  gw = await createTestGateway();
  const created = await gw.createClient('window');
  window = { id: created.client.id, secret: created.secret };
  adminToken = await gw.tokenFor('admin');
});
afterAll(async () => gw?.close());

describe('token endpoint — happy paths', () => {
  it('issues an RFC 9068 access token for HTTP Basic client authentication', async () => {
    const response = await requestToken(form({ grant_type: 'client_credentials' }), {
      authorization: basic(window.id, window.secret),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as {
      access_token: string;
      token_type: string;
      expires_in: number;
      scope: string;
    };
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(300);
    expect(body.scope.split(' ')).not.toContain('subjects:unmask'); // explicit-only scope
    const header = decodeProtectedHeader(body.access_token);
    expect(header.typ).toBe('at+jwt');
    expect(header.alg).toBe(gw.config.signing.alg);
    const principal = await gw.services.tokens.verify(body.access_token);
    expect(principal.clientId).toBe(window.id);
    expect(principal.kind).toBe('window');
  });

  it('verifies offline against the published JWKS with a standard JOSE library', async () => {
    const response = await requestToken(form({ grant_type: 'client_credentials' }), {
      authorization: basic(window.id, window.secret),
    });
    const { access_token: token } = (await response.json()) as { access_token: string };
    const jwks = (await (await gw.request('/.well-known/jwks.json')).json()) as { keys: Record<string, unknown>[] };
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
    // jose for ES256 and EdDSA; OpenSSL for SM2 (the suite's SM2 pass), which jose does not know.
    const payload =
      gw.config.signing.alg === 'SM2SM3'
        ? await verifyOffline(token, jwks as { keys: JWK[] })
        : (
            await jwtVerify(token, createLocalJWKSet(jwks as { keys: never[] }), {
              issuer: gw.config.issuer,
              audience: gw.config.audience,
              typ: 'at+jwt',
            })
          ).payload;
    expect(payload).toMatchObject({ iss: gw.config.issuer, aud: gw.config.audience });
    expect(payload.client_id).toBe(window.id);
    expect(payload.sub).toBe(window.id);
    expect(typeof payload.jti).toBe('string');
  });

  it('accepts client_secret_post and narrows to the requested scopes, including explicit-only ones', async () => {
    const response = await requestToken(
      form({
        grant_type: 'client_credentials',
        client_id: window.id,
        client_secret: window.secret,
        scope: 'subjects:read subjects:unmask',
      }),
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { scope: string }).scope).toBe('subjects:read subjects:unmask');
  });
});

describe('verification cache', () => {
  it('stops accepting a once-verified token when it expires', async () => {
    const token = await gw.tokenFor('window');
    await gw.services.tokens.verify(token); // now cached
    expect((await gw.services.tokens.verify(token)).kind).toBe('window');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + (gw.config.tokens.ttlSeconds + gw.config.tokens.clockToleranceSeconds + 5) * 1000);
      await expect(gw.services.tokens.verify(token)).rejects.toThrow(/token rejected/);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('token endpoint — errors', () => {
  it('answers invalid_client the same way for a wrong secret, an unknown client and a disabled client', async () => {
    const disabled = await gw.createClient('auditor');
    const tokenBefore = (await gw.services.tokens.issue(disabled.client, ['audit:read'])).accessToken;
    expect((await gw.request('/v1/audit/entries', { headers: bearer(tokenBefore) })).status).toBe(200);
    await gw.request(`/v1/clients/${disabled.client.id}/disable`, { method: 'POST', headers: bearer(adminToken) });
    // Its unexpired token is refused at once.
    expect((await gw.request('/v1/audit/entries', { headers: bearer(tokenBefore) })).status).toBe(401);
    const attempts = [
      basic(window.id, 'wrong-secret'),
      basic('cli_doesnotexist', 'whatever'),
      basic(disabled.client.id, disabled.secret),
    ];
    for (const authorization of attempts) {
      const response = await requestToken(form({ grant_type: 'client_credentials' }), { authorization });
      expect(response.status).toBe(401);
      const problem = await tokenErrorOf(response);
      expect(problem.code).toBe('invalid_client');
      expect(problem.error).toBe('invalid_client');
      // The detail in the request's language (Chinese by default); error_description in English (ASCII only).
      expect(problem.detail).toBe('客户端不存在、密钥错误或客户端已停用。');
      expect(problem.error_description).toBe('Unknown client, wrong secret, or disabled client.');
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic/);
    }
  });

  it('refuses other grants, repeated parameters, ungranted scopes and mixed client authentication', async () => {
    const auth = { authorization: basic(window.id, window.secret) };
    const cases: [string, Record<string, string>, number, string][] = [
      [form({ grant_type: 'password' }), auth, 400, 'unsupported_grant_type'],
      ['grant_type=client_credentials&grant_type=client_credentials', auth, 400, 'invalid_request'],
      [form({ grant_type: 'client_credentials', scope: 'clients:admin' }), auth, 400, 'invalid_scope'],
      [form({ grant_type: 'client_credentials', scope: 'no:such' }), auth, 400, 'invalid_scope'],
      [form({ grant_type: 'client_credentials', client_id: window.id }), auth, 400, 'invalid_request'],
      [form({ grant_type: 'client_credentials', client_secret: window.secret }), auth, 400, 'invalid_request'],
      [form({ client_id: window.id, client_secret: window.secret }), {}, 400, 'invalid_request'],
      [form({ grant_type: 'client_credentials' }), {}, 401, 'invalid_client'],
      [form({ grant_type: 'client_credentials' }), { authorization: 'Basic !!!' }, 401, 'invalid_client'],
      [form({ grant_type: 'client_credentials' }), { authorization: 'Bearer abc' }, 401, 'invalid_client'],
    ];
    for (const [body, headers, status, code] of cases) {
      const response = await requestToken(body, headers);
      expect(response.status, body).toBe(status);
      const answer = await tokenErrorOf(response);
      expect(answer.code, body).toBe(code);
      expect(answer.error, body).toBe(code);
      if (status === 401) expect(response.headers.get('www-authenticate'), body).toMatch(/^Basic realm=/);
    }
  });

  it('refuses token parameters in the URL, credentials above all, even beside valid HTTP Basic (RFC 6749 §2.3)', async () => {
    const auth = { authorization: basic(window.id, window.secret) };
    const grant = form({ grant_type: 'client_credentials' });
    const attempts: [string, string, Record<string, string>][] = [
      [grant, `?${form({ client_secret: window.secret })}`, auth],
      [grant, `?${form({ client_id: window.id })}`, auth],
      [grant, `?${form({ client_id: window.id, client_secret: window.secret })}`, {}],
      [
        form({ client_id: window.id }),
        `?${form({ client_secret: window.secret, grant_type: 'client_credentials' })}`,
        {},
      ],
      [grant, '?client_secret', auth],
      [grant, `?${form({ scope: 'subjects:read' })}`, auth],
    ];
    for (const [body, query, headers] of attempts) {
      const response = await requestToken(body, headers, query);
      expect(response.status, query).toBe(400);
      const answer = await tokenErrorOf(response);
      expect(answer).toMatchObject({ error: 'invalid_request', code: 'invalid_request' });
      expect(answer.error_description).toMatch(/never in the URL/);
      // No token, and the secret is not repeated back.
      expect(JSON.stringify(answer)).not.toContain(window.secret);
    }
    // Other query parameters are not token parameters and change nothing (RFC 6749 §3.1 allows a query).
    expect((await requestToken(grant, auth, '?tenant=demo')).status).toBe(200);
    // A parameter without a value counts as omitted (RFC 6749 §3.2), so it is not a second method.
    expect((await requestToken(`${grant}&client_secret=`, auth)).status).toBe(200);
  });

  it('answers every error as application/json with `error`, wherever it arose: media type, body size, draining', async () => {
    const json = await gw.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(window.id, window.secret) },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    expect(json.status).toBe(415);
    expect(await tokenErrorOf(json)).toMatchObject({ error: 'invalid_request', code: 'unsupported_media_type' });

    const hugeBody = form({ grant_type: 'client_credentials', scope: 'x'.repeat(gw.config.bodyLimitBytes + 1) });
    const huge = await requestToken(hugeBody, {
      authorization: basic(window.id, window.secret),
      'content-length': String(Buffer.byteLength(hugeBody)),
    });
    expect(huge.status).toBe(413);
    expect(await tokenErrorOf(huge)).toMatchObject({ error: 'invalid_request', code: 'payload_too_large' });

    gw.services.lifecycle.draining = true;
    try {
      const draining = await requestToken(form({ grant_type: 'client_credentials' }), {
        authorization: basic(window.id, window.secret),
      });
      expect(draining.status).toBe(503);
      expect(draining.headers.get('retry-after')).toBe('1');
      expect(await tokenErrorOf(draining)).toMatchObject({ error: 'temporarily_unavailable', code: 'shutting_down' });
    } finally {
      gw.services.lifecycle.draining = false;
    }
    // Other routes keep their problem documents.
    expect((await problemOf(await gw.request('/v1/clients'))).code).toBe('unauthenticated');
  });

  it('maps the problem codes it has no RFC 6749 name for to the registered ones', () => {
    expect(oauthErrorFor('invalid_scope', 400)).toBe('invalid_scope');
    expect(oauthErrorFor('validation_failed', 400)).toBe('invalid_request');
    expect(oauthErrorFor('rate_limited', 429)).toBe('temporarily_unavailable');
    expect(oauthErrorFor('database_unavailable', 503)).toBe('temporarily_unavailable');
    expect(oauthErrorFor('internal_error', 500)).toBe('server_error');
  });
});

describe('client registry API', () => {
  it('registers a client, returns its secret once and stores only its keyed hash', async () => {
    const response = await gw.request('/v1/clients', {
      method: 'POST',
      headers: bearer(adminToken, { 'content-type': 'application/json' }),
      body: JSON.stringify({ name: 'Land registry', kind: 'department', departmentCode: 'NRB' }),
    });
    expect(response.status).toBe(201);
    const { client, clientSecret } = (await response.json()) as {
      client: { id: string; scopes: string[] };
      clientSecret: string;
    };
    expect(response.headers.get('location')).toBe(`/v1/clients/${client.id}`);
    expect(client.scopes).toContain('cases:status');
    expect(client.scopes).not.toContain('subjects:unmask');
    const [row] = await gw.services.db.select().from(clients).where(eq(clients.id, client.id));
    expect(row?.secretHash).toBe(gw.services.clientSecrets.hash(clientSecret));
    expect(row?.secretHash).toMatch(/^hmac-sha256\$[A-Za-z0-9_-]{8}\$[A-Za-z0-9_-]{43}$/);
    expect(row?.secretHash).not.toContain(clientSecret);
    const read = (await (
      await gw.request(`/v1/clients/${client.id}`, { headers: bearer(adminToken) })
    ).json()) as Record<string, unknown>;
    expect(read).not.toHaveProperty('secretHash');
    expect(JSON.stringify(read)).not.toContain('hmac-sha256');
    const token = await requestToken(form({ grant_type: 'client_credentials' }), {
      authorization: basic(client.id, clientSecret),
    });
    expect(token.status).toBe(200);
    expect(gw.logs.text()).not.toContain(clientSecret);
  });

  it('still takes a secret stored by the earlier scheme (scrypt), and stores its keyed hash in its place on sign-in', async () => {
    const { client, secret } = await gw.createClient('window');
    const salt = randomBytes(16);
    const legacy = [
      'scrypt',
      2 ** 10,
      8,
      1,
      salt.toString('base64url'),
      scryptSync(secret, salt, 32, { N: 2 ** 10, r: 8, p: 1 }).toString('base64url'),
    ].join('$');
    await gw.services.db.update(clients).set({ secretHash: legacy }).where(eq(clients.id, client.id));
    expect(
      (
        await requestToken(form({ grant_type: 'client_credentials' }), {
          authorization: basic(client.id, 'ows_not-the-secret'),
        })
      ).status,
    ).toBe(401);
    const [unchanged] = await gw.services.db.select().from(clients).where(eq(clients.id, client.id));
    expect(unchanged?.secretHash).toBe(legacy);
    expect(
      (await requestToken(form({ grant_type: 'client_credentials' }), { authorization: basic(client.id, secret) }))
        .status,
    ).toBe(200);
    const [upgraded] = await gw.services.db.select().from(clients).where(eq(clients.id, client.id));
    expect(upgraded?.secretHash).toBe(gw.services.clientSecrets.hash(secret));
    expect(
      (await requestToken(form({ grant_type: 'client_credentials' }), { authorization: basic(client.id, secret) }))
        .status,
    ).toBe(200);
  });

  it('refuses a keyed hash made under another pepper', async () => {
    const { client, secret } = await gw.createClient('window');
    const other = ClientSecrets.fromPepper(randomBytes(32));
    await gw.services.db
      .update(clients)
      .set({ secretHash: other.hash(secret) })
      .where(eq(clients.id, client.id));
    expect(
      (await requestToken(form({ grant_type: 'client_credentials' }), { authorization: basic(client.id, secret) }))
        .status,
    ).toBe(401);
  });

  it('refuses scopes a kind may not hold, departments without a code, and unknown fields, writing nothing', async () => {
    const count = async () => (await gw.services.db.select({ id: clients.id }).from(clients)).length;
    const before = await count();
    const bodies = [
      { name: 'Sneaky window', kind: 'window', scopes: ['audit:read'] },
      { name: 'Dept', kind: 'department' },
      { name: 'Window', kind: 'window', departmentCode: 'PSB' },
      { name: 'Window', kind: 'window', id: 'cli_chosen' },
      { name: 'Window', kind: 'window', secretHash: 'scrypt$1$1$1$a$b' },
      { name: '', kind: 'window' },
      { name: 'x', kind: 'superuser' },
    ];
    for (const body of bodies) {
      const response = await gw.request('/v1/clients', {
        method: 'POST',
        headers: bearer(adminToken, { 'content-type': 'application/json' }),
        body: JSON.stringify(body),
      });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await problemOf(response)).code).toBe('validation_failed');
    }
    expect(await count()).toBe(before);
  });

  it('pages through clients with a cursor and answers 404 for an unknown id', async () => {
    const first = (await (await gw.request('/v1/clients?limit=2', { headers: bearer(adminToken) })).json()) as {
      items: { id: string }[];
      nextCursor: string | null;
    };
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const second = (await (
      await gw.request(`/v1/clients?limit=2&after=${first.nextCursor}`, { headers: bearer(adminToken) })
    ).json()) as {
      items: { id: string }[];
    };
    expect((second.items[0]?.id ?? '') > (first.items[1]?.id ?? '')).toBe(true);
    const missing = await gw.request('/v1/clients/cli_nobody', { headers: bearer(adminToken) });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).code).toBe('not_found');
  });
});

describe('signing key rotation', () => {
  it('keeps the old key published so its tokens still verify, and signs new tokens with the new key', async () => {
    const before = await gw.tokenFor('window');
    const oldKid = decodeProtectedHeader(before).kid;
    const response = await gw.request('/v1/keys/rotate', { method: 'POST', headers: bearer(adminToken) });
    expect(response.status).toBe(200);
    const { kid, retired } = (await response.json()) as { kid: string; retired: string[] };
    expect(kid).not.toBe(oldKid);
    expect(retired).toContain(oldKid);

    const jwks = (await (await gw.request('/.well-known/jwks.json')).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([kid, oldKid]));
    const oldStillWorks = await gw.request('/v1/clients?limit=1', { headers: bearer(await gw.tokenFor('admin')) });
    expect(oldStillWorks.status).toBe(200);
    expect((await gw.services.tokens.verify(before)).kind).toBe('window');
    const after = await gw.tokenFor('window');
    expect(decodeProtectedHeader(after).kid).toBe(kid);

    // Once the publication window of the old key is over, it leaves the JWKS and its tokens fail.
    await gw.services.db
      .update(signingKeys)
      .set({ publishUntil: new Date(Date.now() - 1000) })
      .where(eq(signingKeys.kid, oldKid ?? ''));
    await gw.services.keys.initialise();
    const jwksLater = (await (await gw.request('/.well-known/jwks.json')).json()) as { keys: { kid: string }[] };
    expect(jwksLater.keys.map((key) => key.kid)).toEqual([kid]);
    const refused = await gw.request('/v1/clients?limit=1', { headers: bearer(before) });
    expect(refused.status).toBe(401);
  });

  it('loads keys from PKCS#8 files, publishes them by thumbprint, and refuses API rotation', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ow-keys-'));
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(join(folder, 'active.pem'), pem);
    const fileGateway = await createTestGateway({ SIGNING_KEY_FILES: join(folder, 'active.pem') });
    try {
      const jwks = (await (await fileGateway.request('/.well-known/jwks.json')).json()) as {
        keys: { alg: string; crv: string; d?: string }[];
      };
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0]).toMatchObject({ alg: 'EdDSA', crv: 'Ed25519' });
      expect(jwks.keys[0]?.d).toBeUndefined();
      const token = await fileGateway.tokenFor('admin');
      expect(decodeProtectedHeader(token).alg).toBe('EdDSA');
      const rotate = await fileGateway.request('/v1/keys/rotate', { method: 'POST', headers: bearer(token) });
      expect(rotate.status).toBe(409);
    } finally {
      await fileGateway.close();
    }
  });
});
