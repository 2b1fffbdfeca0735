/**
 * Every route the app registers is in the OpenAPI document with an auth policy, the document
 * lists no route the app lacks, public routes are exactly the ones public by design, and every
 * protected route passes the shared security suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../gateway/operations/docs-routes.js';
import { isScope, type Scope } from '../gateway/auth/scopes.js';
import { createTestGateway, type TestGateway } from './harness.js';
import { type ProtectedRoute, describeProtectedRoute } from './common/protected-route.js';
import { createApp } from '../gateway/app.js';
import { parseConfig } from '../gateway/config.js';

/** Routes that are public by design. Adding one here is a deliberate, reviewed decision. */
const PUBLIC_BY_DESIGN = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /openapi.json',
  'GET /docs',
  'GET /docs/assets/{file}',
  'GET /.well-known/jwks.json',
  'POST /oauth/token',
  // Whoever was handed a certificate envelope may check it; it reveals only the envelope's own
  // claims and whether that certificate still stands.
  'POST /v1/certificates/verify',
  // Likewise whoever holds a sealed document and its seal signature (GB/T 38540), and the
  // gateway's seal certificate and seal data they need to check it offline.
  'POST /v1/seals/verify',
  'GET /v1/seals/gateway',
  // Applicants have no client credentials; they prove the case is theirs with a second factor,
  // under rate limits.
  'POST /v1/progress',
  // …and rate it once completed (好差评), with the same second factor and the same limits.
  'POST /v1/progress/rating',
  // The applicant's electronic result, with the same second factor and lock-out as the look-up.
  'POST /v1/progress/result/document',
  // Item guides (办事指南) are published to everyone: catalogue facts only, no personal data.
  'GET /v1/public/items',
  'GET /v1/public/items/{code}',
  'GET /guides/{code}',
]);

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

interface Operation {
  security?: Record<string, string[]>[];
}

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await createTestGateway();
});
afterAll(async () => gateway?.close());

/**
 * The protected operations, read from a document built at collection time so that
 * `describeProtectedRoute` can define one suite per route. Building the app needs services only
 * for handlers, so an app over a placeholder is enough to read its routes.
 */
function protectedOperationsOf(document: ReturnType<typeof buildOpenApiDocument>): ProtectedRoute[] {
  const routes: ProtectedRoute[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = (item as Record<string, Operation | undefined>)[method];
      const scopes = operation?.security?.[0]?.bearerAuth;
      if (scopes) routes.push({ method, path, scopes: scopes.filter(isScope) as Scope[] });
    }
  }
  return routes;
}

// Routes are static, so an app whose services are never touched is enough to enumerate them.
const documentForCollection = buildOpenApiDocument(
  createApp({ config: parseConfig({ PGLITE_DATA_DIR: 'memory://' }) } as Parameters<typeof createApp>[0]),
);

describe('route sweep', () => {
  it('lists every registered route in the OpenAPI document, and nothing else', () => {
    const registered = new Set(
      gateway.app.routes
        .filter((route) => route.method !== 'ALL')
        .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
    const documented = new Set<string>();
    const document = buildOpenApiDocument(gateway.app);
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      for (const method of HTTP_METHODS) {
        if ((item as Record<string, unknown>)[method]) documented.add(`${method.toUpperCase()} ${path}`);
      }
    }
    expect([...registered].sort()).toEqual([...documented].sort());
  });

  it('gives every operation an auth policy, and only the designated routes are public', () => {
    const document = buildOpenApiDocument(gateway.app);
    const publicRoutes: string[] = [];
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      for (const method of HTTP_METHODS) {
        const operation = (item as Record<string, Operation | undefined>)[method];
        if (!operation) continue;
        expect(operation.security, `${method} ${path} has no security policy`).toBeDefined();
        if (operation.security?.length === 0) publicRoutes.push(`${method.toUpperCase()} ${path}`);
        else {
          const scopes = operation.security?.[0]?.bearerAuth ?? [];
          expect(scopes.length, `${method} ${path} is protected but names no scope`).toBeGreaterThan(0);
          expect(scopes.every(isScope), `${method} ${path} names an unknown scope`).toBe(true);
        }
      }
    }
    expect(publicRoutes.sort()).toEqual([...PUBLIC_BY_DESIGN].sort());
  });

  it('names every operation (a unique camelCase operationId) and says where the API is served', () => {
    const document = buildOpenApiDocument(gateway.app);
    const names: string[] = [];
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      for (const method of HTTP_METHODS) {
        const operation = (item as Record<string, (Operation & { operationId?: string }) | undefined>)[method];
        if (!operation) continue;
        expect(operation.operationId, `${method} ${path} has no operationId`).toMatch(/^[a-z][A-Za-z]+$/);
        names.push(operation.operationId ?? '');
      }
    }
    expect(names.length).toBeGreaterThan(80);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
    expect(document.servers?.map((server) => server.url)).toEqual(['/']);
  });
});

for (const route of protectedOperationsOf(documentForCollection)) {
  describeProtectedRoute(() => gateway, route);
}
