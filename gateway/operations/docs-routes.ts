/**
 * The gateway's own OpenAPI 3.1 document and an interactive reference page (Swagger UI served
 * from the installed package, so /docs works without internet access).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { scopeDescriptions } from '../auth/scopes.js';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { evaluatePreconditions } from '../platform/preconditions.js';
import { errorResponses, publicRoute, BEARER_SCHEME } from '../platform/routes.js';
import {
  type DeliveryLimits,
  DeliverySlots,
  type StaticFile,
  nodeExchangeOf,
  staticFile,
} from '../platform/static-delivery.js';

/**
 * The installed Swagger UI's folder, found without importing the package: its entry module
 * evaluates the whole 1.5 MB browser bundle in the gateway's process (measured: ~15 MiB of RSS).
 */
const swaggerUiFolder = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

export const OPENAPI_INFO = {
  title: 'onewindow gateway',
  version: '0.1.0',
  description:
    'One identity and materials API over the departments’ vertical systems. Authenticate with OAuth 2.0 ' +
    'client credentials at `/oauth/token`; every error is an RFC 9457 problem document with a stable `code` ' +
    '(the token endpoint sends it as `application/json` with the RFC 6749 `error` and `error_description` added).',
};

type OpenApiDocument = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;

/** Builds the document (also used by `npm run openapi` to write contracts/onewindow.openapi.json). */
export function buildOpenApiDocument(app: OpenAPIHono<AppEnv>): OpenApiDocument {
  app.openAPIRegistry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: `Access token from /oauth/token. Scopes: ${Object.entries(scopeDescriptions)
      .map(([scope, text]) => `\`${scope}\` (${text})`)
      .join('; ')}.`,
  });
  // One relative server: the document is served by the gateway it describes, at whatever address
  // the province gives it (a client generated from it takes the base URL as a setting).
  const servers = [{ url: '/', description: 'This gateway (the address this document was read from)' }];
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: OPENAPI_INFO,
    servers,
    tags: [
      { name: 'auth', description: 'Tokens and keys' },
      { name: 'admin', description: 'Client registry and key management' },
      { name: 'subjects', description: 'Applicants resolved once: identifiers, masking, department links' },
      { name: 'materials', description: 'Documents stored once: catalogue, upload, download, reuse, revocation' },
      { name: 'audit', description: 'Audit log, its verification, and data trackers' },
      { name: 'operations', description: 'Health, readiness, metrics and docs' },
    ],
  });
}

const assetFiles = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
} as const;
type AssetName = keyof typeof assetFiles | 'init.js';

const initScript = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true,
    persistAuthorization: false, tryItOutEnabled: true });
});`;

const docsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>onewindow API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script></body></html>`;

const openApiRoute = publicRoute({
  method: 'get',
  path: '/openapi.json',
  operationId: 'getOpenApiDocument',
  tags: ['operations'],
  summary: 'This OpenAPI 3.1 document',
  responses: {
    200: {
      description: 'OpenAPI document',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
    304: { description: 'Not modified: the If-None-Match entity tag is current' },
    ...errorResponses(503),
  },
});

const docsRoute = publicRoute({
  method: 'get',
  path: '/docs',
  operationId: 'getApiReference',
  tags: ['operations'],
  summary: 'Interactive API reference',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
});

const docsAssetRoute = publicRoute({
  method: 'get',
  path: '/docs/assets/{file}',
  operationId: 'getApiReferenceAsset',
  tags: ['operations'],
  summary: 'Static files of the API reference page',
  request: {
    params: z.object({
      file: z
        .enum([...(Object.keys(assetFiles) as (keyof typeof assetFiles)[]), 'init.js'])
        .openapi({ param: { name: 'file', in: 'path' } }),
    }),
  },
  responses: {
    200: { description: 'The file' },
    304: { description: 'Not modified: the If-None-Match entity tag is current' },
    ...errorResponses(400, 503),
  },
});

const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src " +
  "'self'; font-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Assets change only with the installed swagger-ui-dist; the ETag catches that after an hour. */
const ASSET_CACHE_CONTROL = 'public, max-age=3600';
/** The document changes with a deployment: browsers revalidate it (a 304 when unchanged). */
const DOCUMENT_CACHE_CONTROL = 'no-cache';

/**
 * `limits` bounds what slow readers of the assets and the document can hold (see
 * static-delivery.ts): DOCS_MAX_CONCURRENT_DELIVERIES and DOCS_SEND_TIMEOUT_MS.
 */
export function registerDocsRoutes(app: OpenAPIHono<AppEnv>, limits: DeliveryLimits): void {
  // Read once, here: every response sends these same bytes.
  const assets = new Map<AssetName, StaticFile>([
    ['init.js', staticFile(initScript, 'text/javascript; charset=utf-8')],
    ...Object.entries(assetFiles).map(([name, type]): [AssetName, StaticFile] => [
      name as keyof typeof assetFiles,
      staticFile(readFileSync(join(swaggerUiFolder, name)), type),
    ]),
  ]);
  // Built at the first request, once every capability has registered its routes.
  let document: StaticFile | undefined;
  const slots = new DeliverySlots(limits);

  const deliver = (c: Context<AppEnv>, file: StaticFile, cacheControl: string): Response => {
    const validators = { ETag: file.etag, 'Cache-Control': cacheControl };
    const outcome = evaluatePreconditions({
      method: c.req.method,
      etag: file.etag,
      headers: { ifNoneMatch: c.req.header('if-none-match') },
    });
    if (outcome === 'not_modified') return c.body(null, 304, validators);
    // HEAD sends no bytes, so it holds nothing.
    if (c.req.method !== 'HEAD' && !slots.claim(nodeExchangeOf(c.env))) {
      throw new ApiError(
        'service_unavailable',
        message('docs.too_many_downloads'),
        {},
        { headers: { 'Retry-After': '1' } },
      );
    }
    return c.body(file.bytes, 200, { 'Content-Type': file.contentType, ...validators });
  };

  app.openapi(openApiRoute, (c) => {
    document ??= staticFile(JSON.stringify(buildOpenApiDocument(app)), 'application/json');
    return deliver(c, document, DOCUMENT_CACHE_CONTROL);
  });

  app.openapi(docsRoute, (c) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    return c.html(docsPage, 200);
  });

  app.openapi(docsAssetRoute, (c) => {
    const file = assets.get(c.req.valid('param').file);
    if (file === undefined) throw new ApiError('route_not_found');
    return deliver(c, file, ASSET_CACHE_CONTROL);
  });
}
