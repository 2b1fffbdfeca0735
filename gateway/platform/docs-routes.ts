/**
 * The gateway's own OpenAPI 3.1 document and an interactive reference page (Swagger UI served
 * from the installed package, so /docs works without internet access).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import swaggerUiDist from 'swagger-ui-dist';
import { scopeDescriptions } from '../auth/scopes.js';
import type { AppEnv } from './context.js';
import { errorResponses, publicRoute, BEARER_SCHEME } from './routes.js';

export const OPENAPI_INFO = {
  title: 'onewindow gateway',
  version: '0.1.0',
  description:
    'One identity and materials API over the departments’ vertical systems. Authenticate with OAuth 2.0 ' +
    'client credentials at `/oauth/token`; every error is an RFC 9457 problem document with a stable `code`.',
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
  return app.getOpenAPI31Document({ openapi: '3.1.0', info: OPENAPI_INFO, tags: [
    { name: 'auth', description: 'Tokens and keys' },
    { name: 'admin', description: 'Client registry and key management' },
    { name: 'subjects', description: 'Applicants resolved once: identifiers, masking, department links' },
    { name: 'materials', description: 'Documents stored once: catalogue, upload, download, reuse, revocation' },
    { name: 'audit', description: 'Audit log, its verification, and data trackers' },
    { name: 'operations', description: 'Health, readiness, metrics and docs' },
  ] });
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
  tags: ['operations'],
  summary: 'This OpenAPI 3.1 document',
  responses: { 200: { description: 'OpenAPI document', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
});

const docsRoute = publicRoute({
  method: 'get',
  path: '/docs',
  tags: ['operations'],
  summary: 'Interactive API reference',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
});

const docsAssetRoute = publicRoute({
  method: 'get',
  path: '/docs/assets/{file}',
  tags: ['operations'],
  summary: 'Static files of the API reference page',
  request: {
    params: z.object({
      file: z.enum([...(Object.keys(assetFiles) as (keyof typeof assetFiles)[]), 'init.js']).openapi({ param: { name: 'file', in: 'path' } }),
    }),
  },
  responses: { 200: { description: 'The file' }, ...errorResponses(400) },
});

const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export function registerDocsRoutes(app: OpenAPIHono<AppEnv>): void {
  let document: OpenApiDocument | undefined;
  const assets = new Map<AssetName, Uint8Array>();
  const assetBytes = (name: AssetName): Uint8Array => {
    let bytes = assets.get(name);
    if (!bytes) {
      bytes = name === 'init.js' ? new TextEncoder().encode(initScript) : readFileSync(join(swaggerUiDist.getAbsoluteFSPath(), name));
      assets.set(name, bytes);
    }
    return bytes;
  };

  app.openapi(openApiRoute, (c) => {
    document ??= buildOpenApiDocument(app);
    return c.json(document as unknown as Record<string, unknown>, 200);
  });

  app.openapi(docsRoute, (c) => {
    c.header('Content-Security-Policy', DOCS_CSP);
    return c.html(docsPage, 200);
  });

  app.openapi(docsAssetRoute, (c) => {
    const { file } = c.req.valid('param');
    const type = file === 'init.js' ? 'text/javascript; charset=utf-8' : assetFiles[file];
    return c.body(new Uint8Array(assetBytes(file)), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600' });
  });
}
