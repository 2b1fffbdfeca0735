/**
 * What both hand-written baseline servers share: the one endpoint `GET /v1/clients/:clientId`
 * doing the minimum work the gateway's endpoint must also do — verify the gateway's ES256 access
 * token with jose (same issuer, audience, typ, clock tolerance and required claims), check the
 * `clients:admin` scope, read one row by primary key, answer the same JSON shape. Nothing else:
 * no request id, no access log, no metrics, no schema validation. That gap is what the benchmark
 * measures.
 *
 * With BASELINE_TOKEN_CACHE=true the baseline also keeps verified tokens in memory until their
 * `exp`, as the gateway's TokenService does (a client reuses its token for its whole lifetime),
 * so that a gateway with that cache is compared with a baseline doing the same work.
 *
 * Configured by the benchmark through the environment (these servers are not part of the product,
 * so they read `process.env` directly).
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type JWK, type JWTPayload, importJWK, jwtVerify } from 'jose';

/** A `clients` row as both drivers return it (snake_case columns, timestamps as Date). */
export interface ClientRow {
  id: string;
  name: string;
  kind: string;
  scopes: string[];
  department_code: string | null;
  created_at: Date;
  disabled_at: Date | null;
}

export interface BaselineSettings {
  port: number;
  host: string;
  issuer: string;
  audience: string;
  publicJwk: JWK;
  tokenCache: boolean;
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`baseline: ${name} is not set`);
  return value;
}

export function settingsFromEnv(): BaselineSettings {
  return {
    port: Number(requiredEnv('BASELINE_PORT')),
    host: requiredEnv('BASELINE_HOST'),
    issuer: requiredEnv('TOKEN_ISSUER'),
    audience: requiredEnv('TOKEN_AUDIENCE'),
    publicJwk: JSON.parse(requiredEnv('PUBLIC_JWK')) as JWK,
    tokenCache: process.env.BASELINE_TOKEN_CACHE === 'true',
  };
}

/** Same bound as the gateway's cache of verified tokens. */
const TOKEN_CACHE_ENTRIES = 10_000;

// Same pattern as gateway/auth/middleware.ts, so both refuse the same malformed headers.
const BEARER = /^Bearer[ ]+([A-Za-z0-9\-_.~+/]+=*)$/i;

/** Serves the endpoint until SIGTERM/SIGINT, then closes the server and the database. */
export async function serveBaseline(
  settings: BaselineSettings,
  findClient: (id: string) => Promise<ClientRow | undefined>,
  closeDatabase: () => Promise<void>,
): Promise<void> {
  // Imported ONCE as a CryptoKey, like the gateway's KeyStore does; importing per request would
  // make the baseline slower than any real server.
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

  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/v1/clients/:clientId', async (c) => {
    const token = BEARER.exec(c.req.header('authorization') ?? '')?.[1];
    if (!token) return c.json({ code: 'unauthenticated' }, 401);
    let payload: JWTPayload;
    try {
      payload = await verify(token);
    } catch {
      return c.json({ code: 'invalid_token' }, 401);
    }
    if (typeof payload.scope !== 'string' || !payload.scope.split(' ').includes('clients:admin')) {
      return c.json({ code: 'insufficient_scope' }, 403);
    }
    const row = await findClient(c.req.param('clientId'));
    if (!row) return c.json({ code: 'not_found' }, 404);
    return c.json({
      id: row.id,
      name: row.name,
      kind: row.kind,
      scopes: row.scopes,
      departmentCode: row.department_code,
      createdAt: row.created_at.toISOString(),
      disabledAt: row.disabled_at?.toISOString() ?? null,
    });
  });

  const server = await new Promise<Server>((resolve) => {
    const created = serve({ fetch: app.fetch, port: settings.port, hostname: settings.host }, () =>
      resolve(created as Server),
    );
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      server.closeAllConnections();
      server.close();
      closeDatabase()
        .catch(() => undefined)
        .finally(() => process.exit(0));
    });
  }
}
