/**
 * The public catalogue: every active item's guide (办事指南) and required materials, as JSON and as
 * a Chinese HTML page, without a token — the guides are published by design and hold no personal
 * data. Answers are cacheable for five minutes and revalidated by ETag (304 on If-None-Match).
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../platform/context.js';
import { errorResponses, publicRoute } from '../platform/routes.js';
import { evaluatePreconditions } from '../platform/preconditions.js';
import { PARTY_ROLES } from './catalogue.js';
import { GUIDE_PAGE_POLICY, renderGuidePage } from './guide-page.js';
import { ItemGuideSchema } from './routes.js';
import { PUBLIC_CATALOGUE_CACHE_CONTROL, entityTagOf, listPublicItems, publicItem } from './public-guide.js';

const ItemCodeParam = z.object({
  code: z
    .string()
    .regex(/^[a-z][a-z0-9_]{1,59}$/)
    .openapi({ example: 'household_register' }),
});

const PublicItemSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    nameZh: z.string(),
    kind: z.enum(['immediate', 'promised', 'joint', 'escalated']),
    subjectKind: z.enum(['person', 'organisation']).nullable(),
    departments: z.array(z.object({ code: z.string(), name: z.string() })),
    statutoryDays: z.number().int(),
    promisedDays: z.number().int(),
    materials: z.array(
      z.object({
        requirementCode: z.string(),
        name: z.string(),
        acceptedTypes: z.array(z.object({ code: z.string(), name: z.string(), nameZh: z.string() })),
        optional: z.boolean(),
        deferrableDays: z.number().int().nullable(),
        party: z.enum(PARTY_ROLES),
        fetchableFrom: z.array(z.string()).openapi({
          description: 'Departments the gateway fetches a satisfying certificate from: the applicant need not bring it',
        }),
      }),
    ),
    guide: ItemGuideSchema.nullable(),
  })
  .openapi('PublicItem');

const notModified = { description: 'Not modified: the If-None-Match entity tag is current' };

const listRoute = publicRoute({
  method: 'get',
  path: '/v1/public/items',
  operationId: 'listPublicItems',
  tags: ['items'],
  summary: 'Every active service item with its guide (办事指南), without a token',
  responses: {
    200: {
      description: 'The public catalogue',
      content: { 'application/json': { schema: z.object({ items: z.array(PublicItemSchema) }) } },
    },
    304: notModified,
  },
});

const getRoute = publicRoute({
  method: 'get',
  path: '/v1/public/items/{code}',
  operationId: 'getPublicItem',
  tags: ['items'],
  summary: "One active service item's guide (办事指南) and required materials, without a token",
  request: { params: ItemCodeParam },
  responses: {
    200: { description: 'The item', content: { 'application/json': { schema: PublicItemSchema } } },
    304: notModified,
    ...errorResponses(400, 404),
  },
});

const pageRoute = publicRoute({
  method: 'get',
  path: '/guides/{code}',
  operationId: 'getItemGuidePage',
  tags: ['items'],
  summary: 'The guide (办事指南) of an item as a Chinese HTML page with schema.org GovernmentService data',
  request: { params: ItemCodeParam },
  responses: {
    200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
    304: notModified,
    ...errorResponses(400, 404),
  },
});

/** Sends `body` with its validators, or a bodiless 304 when the client's copy is current. */
function cacheable(c: Context<AppEnv>, body: string, contentType: string, extra: Record<string, string> = {}) {
  const etag = entityTagOf(body);
  const validators = { ETag: etag, 'Cache-Control': PUBLIC_CATALOGUE_CACHE_CONTROL, ...extra };
  const outcome = evaluatePreconditions({
    method: c.req.method,
    etag,
    headers: { ifNoneMatch: c.req.header('if-none-match') },
  });
  if (outcome === 'not_modified') return c.body(null, 304, validators);
  return c.body(body, 200, { 'Content-Type': contentType, ...validators });
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function registerPublicItemRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => {
    const services = c.get('services');
    const items = await listPublicItems(services.db, services.departments);
    return cacheable(c, JSON.stringify({ items }), JSON_TYPE);
  });

  app.openapi(getRoute, async (c) => {
    const services = c.get('services');
    const item = await publicItem(services.db, services.departments, c.req.valid('param').code);
    return cacheable(c, JSON.stringify(item), JSON_TYPE);
  });

  app.openapi(pageRoute, async (c) => {
    const services = c.get('services');
    const item = await publicItem(services.db, services.departments, c.req.valid('param').code);
    // The public base URL, the same for every instance, so every instance sends the same bytes and ETag.
    const html = await renderGuidePage(item, `${services.config.issuer}/guides/${item.code}`);
    return cacheable(c, html, 'text/html; charset=utf-8', { 'Content-Security-Policy': GUIDE_PAGE_POLICY });
  });
}
