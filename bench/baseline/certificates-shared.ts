/**
 * What the two certificate baselines (`certificates-store-server.ts`, `certificates-fanout-server.ts`)
 * share: the token check and the purpose check the gateway's certificate route also makes, and
 * serving a Hono app until SIGTERM. Nothing else — no request id, access log, metrics, schema
 * validation or audit: that gap is what `npm run bench:certificates` measures.
 *
 * Configured by the benchmark through the environment (`bench/baseline/shared.ts`
 * `settingsFromEnv`: BASELINE_PORT, BASELINE_HOST, TOKEN_ISSUER, TOKEN_AUDIENCE, PUBLIC_JWK,
 * BASELINE_TOKEN_CACHE). These servers are not part of the product, so they read `process.env`.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { type JWTPayload, importJWK, jwtVerify } from 'jose';
import type { BaselineSettings } from './shared.js';

/** Same bound as the gateway's cache of verified tokens. */
const TOKEN_CACHE_ENTRIES = 10_000;
// Same pattern as gateway/auth/middleware.ts, so both refuse the same malformed headers.
const BEARER = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)$/i;

export type TokenRefusal = { status: 401 | 403; code: 'unauthenticated' | 'invalid_token' | 'insufficient_scope' };

/** Who a good token names: what an audit entry records as its actor. */
export interface TokenHolder {
  clientId: string;
  kind: string;
}

/** Same as `createCallerCheck`, for a baseline that does not need to know the caller: null when the token is good. */
export async function createTokenCheck(
  settings: BaselineSettings,
  scope: string,
): Promise<(authorization: string | undefined) => Promise<TokenRefusal | null>> {
  const check = await createCallerCheck(settings, scope);
  return async (authorization) => {
    const checked = await check(authorization);
    return 'code' in checked ? checked : null;
  };
}

/**
 * Checks `Authorization: Bearer <jwt>` as the gateway does: ES256 signature with the gateway's
 * public key (imported once), issuer, audience, `typ: at+jwt`, clock tolerance, required claims,
 * and the scope. With `settings.tokenCache` a verified token is kept until its `exp`, as the
 * gateway's TokenService does. Returns the token's client and kind when the token is good.
 */
export async function createCallerCheck(
  settings: BaselineSettings,
  scope: string,
): Promise<(authorization: string | undefined) => Promise<TokenRefusal | TokenHolder>> {
  const key = await importJWK(settings.publicJwk, 'ES256');
  const verified = new Map<string, { payload: JWTPayload; expiresAtMs: number }>();

  async function verify(token: string): Promise<JWTPayload> {
    const cached = settings.tokenCache ? verified.get(token) : undefined;
    if (cached && cached.expiresAtMs > Date.now()) return cached.payload;
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['ES256'],
      issuer: settings.issuer,
      audience: settings.audience,
      typ: 'at+jwt',
      clockTolerance: 30,
      requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id', 'scope'],
    });
    if (settings.tokenCache && typeof payload.exp === 'number') {
      if (verified.size >= TOKEN_CACHE_ENTRIES) verified.clear();
      verified.set(token, { payload, expiresAtMs: payload.exp * 1000 });
    }
    return payload;
  }

  return async (authorization) => {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (!token) return { status: 401, code: 'unauthenticated' };
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch {
      return { status: 401, code: 'invalid_token' };
    }
    if (typeof payload.scope !== 'string' || !payload.scope.split(' ').includes(scope))
      return { status: 403, code: 'insufficient_scope' };
    if (typeof payload.client_id !== 'string' || typeof payload.kind !== 'string')
      return { status: 401, code: 'invalid_token' };
    return { clientId: payload.client_id, kind: payload.kind };
  };
}

/** No purpose, no data: the gateway refuses a personal-data read without one of these headers. */
export function hasPurpose(header: (name: string) => string | undefined): boolean {
  return Boolean(header('onewindow-purpose') ?? header('onewindow-case-ref'));
}

/** The certificate types of a request body `{types: string[]}` (1 to 10, deduplicated), or null. */
export function requestedTypes(body: unknown): string[] | null {
  if (typeof body !== 'object' || body === null) return null;
  const types: unknown = (body as { types?: unknown }).types;
  if (!Array.isArray(types) || types.length < 1 || types.length > 10) return null;
  if (!types.every((type): type is string => typeof type === 'string' && /^[a-z][a-z0-9_]{1,59}$/.test(type)))
    return null;
  return [...new Set(types)];
}

/** Serves `app` until SIGTERM/SIGINT, then closes the server and `close` (database, pools). */
export async function serveUntilStopped(
  app: Hono,
  settings: BaselineSettings,
  close: () => Promise<void>,
): Promise<void> {
  const server = await new Promise<Server>((resolve) => {
    const created = serve({ fetch: app.fetch, port: settings.port, hostname: settings.host }, () =>
      resolve(created as Server),
    );
  });
  process.stdout.write(
    `baseline listening on http://${settings.host}:${settings.port} (token cache: ${settings.tokenCache})\n`,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.closeAllConnections();
      server.close();
      close()
        .catch(() => undefined)
        .finally(() => process.exit(0));
    });
  }
}
