/**
 * The shared security suite every protected route runs: a request without a token, with a
 * malformed one, an expired one, one for another audience or issuer, an unsigned (`alg: none`)
 * one, one signed HS256 with our public key as the secret, one signed by a key we never
 * published, one of the wrong type and one pointing at a foreign key (`jku`): all 401. A valid
 * token lacking the route's scopes: 403.
 */
import { generateKeyPair, SignJWT, exportJWK, type JWTPayload } from 'jose';
import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allScopes, type Scope } from '../../gateway/auth/scopes.js';
import { Sm2PrivateKey } from '../../adapters/sdk/helpers/sm2.js';
import { type ProtectedHeader, signCompactJws } from '../../gateway/auth/jws.js';
import { ACCESS_TOKEN_TYPE, SUBJECT_TOKEN_SCOPE } from '../../gateway/auth/tokens.js';
import { type TestGateway, problemOf } from '../harness.js';

export interface ProtectedRoute {
  method: string;
  /** Path with `{param}` placeholders, as in the OpenAPI document. */
  path: string;
  scopes: Scope[];
}

const base64url = (value: string | Uint8Array) => Buffer.from(value).toString('base64url');

/** Fills path placeholders with harmless values; auth runs before validation, so any will do. */
export function concretePath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, (_match, name: string) => `test_${name}`);
}

export async function badTokens(gateway: TestGateway): Promise<Record<string, string>> {
  const { config, services } = gateway;
  const active = await services.keys.activeKey();
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    client_id: 'cli_attacker',
    scope: allScopes.join(' '),
    kind: 'admin',
    jti: 'tok_attack',
  };
  const sign = (
    changes: {
      iss?: string;
      aud?: string;
      exp?: number;
      iat?: number;
      typ?: string;
      header?: Record<string, unknown>;
    } = {},
    key: Parameters<SignJWT['sign']>[0] | Sm2PrivateKey = active.signKey,
    alg: string = active.alg,
    kid: string = active.kid,
  ) =>
    // The gateway's own SM2 key (the suite's SM2 pass) signs through its JWS code: jose knows no SM2.
    key instanceof Sm2PrivateKey
      ? signCompactJws(
          { alg, kid, typ: changes.typ ?? ACCESS_TOKEN_TYPE, ...changes.header } as ProtectedHeader,
          new TextEncoder().encode(
            JSON.stringify({
              ...claims,
              iss: changes.iss ?? config.issuer,
              aud: changes.aud ?? config.audience,
              sub: 'cli_attacker',
              iat: changes.iat ?? now,
              exp: changes.exp ?? now + 300,
            }),
          ),
          key,
        )
      : new SignJWT(claims)
          .setProtectedHeader({ alg, kid, typ: changes.typ ?? ACCESS_TOKEN_TYPE, ...changes.header })
          .setIssuer(changes.iss ?? config.issuer)
          .setAudience(changes.aud ?? config.audience)
          .setSubject('cli_attacker')
          .setIssuedAt(changes.iat ?? now)
          .setExpirationTime(changes.exp ?? now + 300)
          .sign(key);

  const publicJwk = (await services.keys.jwks()).keys.find((key) => key.kid === active.kid);
  const unsigned = `${base64url(JSON.stringify({ alg: 'none', kid: active.kid, typ: ACCESS_TOKEN_TYPE }))}.${base64url(
    JSON.stringify({
      ...claims,
      iss: config.issuer,
      aud: config.audience,
      sub: 'cli_attacker',
      iat: now,
      exp: now + 300,
    }),
  )}.`;
  const foreign = await generateKeyPair('ES256', { extractable: true });
  const foreignJwk = await exportJWK(foreign.publicKey);

  return {
    malformed: 'not-a-jwt',
    'three garbage segments': 'aaa.bbb.ccc',
    expired: await sign({ iat: now - 7200, exp: now - 3600 }),
    'wrong audience': await sign({ aud: 'some-other-api' }),
    'wrong issuer': await sign({ iss: 'https://evil.example' }),
    'alg none': unsigned,
    'HS256 with the public key as secret': await sign(
      {},
      createSecretKey(Buffer.from(JSON.stringify(publicJwk))),
      'HS256',
    ),
    'signed by an unknown key with our kid': await sign({}, foreign.privateKey, 'ES256'),
    'signed by an unknown key with its own kid': await sign({}, foreign.privateKey, 'ES256', 'kid-we-never-published'),
    'wrong typ (plain JWT)': await sign({ typ: 'JWT' }),
    'embedded jwk header': await sign({ header: { jwk: foreignJwk } }, foreign.privateKey, 'ES256'),
    'jku header': await sign({ header: { jku: 'http://127.0.0.1:9/jwks.json' } }),
  };
}

/** Defines the suite for one route. `gateway()` returns the file's test gateway (set up in beforeAll). */
export function describeProtectedRoute(gateway: () => TestGateway, route: ProtectedRoute): void {
  describe(`${route.method.toUpperCase()} ${route.path} security`, () => {
    const send = (headers: Record<string, string>) =>
      gateway().request(concretePath(route.path), { method: route.method.toUpperCase(), headers });

    it('refuses a request without a token with 401 unauthenticated', async () => {
      const response = await send({});
      expect(response.status).toBe(401);
      expect((await problemOf(response)).code).toBe('unauthenticated');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it('refuses every forged, expired or foreign token with 401 invalid_token', async () => {
      const tokens = await badTokens(gateway());
      for (const [name, token] of Object.entries(tokens)) {
        const response = await send({ authorization: `Bearer ${token}` });
        expect(response.status, name).toBe(401);
        expect((await problemOf(response)).code, name).toBe('invalid_token');
      }
      const basic = await send({ authorization: 'Basic Y2xpOnNlY3JldA==' });
      expect(basic.status).toBe(401);
    });

    it('refuses a valid token lacking the required scopes with 403 insufficient_scope', async () => {
      // `tracker:read` exists only in subject-scoped tokens; a client token carrying it is refused outright.
      const others = allScopes.filter((scope) => !route.scopes.includes(scope) && scope !== SUBJECT_TOKEN_SCOPE);
      const token = await gateway().tokenFor('admin', others);
      const response = await send({ authorization: `Bearer ${token}` });
      expect(response.status).toBe(403);
      expect((await problemOf(response)).code).toBe('insufficient_scope');
    });
  });
}
