/**
 * Data contracts API: publish a contract version, the catalogue (list / search, entry, version,
 * diff), and access requests for conditional resources with the owning department's decision.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { errorResponses } from '../platform/routes.js';
import { InstantSchema } from '../platform/time-range.js';
import { protectedRoute } from '../auth/protected-route.js';
import { decideAccessRequest, listAccessRequests, requestResourceAccess } from './access.js';
import { ResourceCodeSchema, SharingTypeSchema, CatalogueDataSchema, DepartmentCodeSchema } from './catalogue-data.js';
import {
  diffContractVersions,
  getContract,
  getContractVersionJson,
  getContractVersionYaml,
  listContracts,
  publishContract,
} from './contracts.js';
import { MAX_DOCUMENT_BYTES } from './document.js';
import { ContractPublicationRequestSchema } from './publication-request.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const ChangeSchema = z
  .object({
    code: z.string().openapi({ example: 'response_property_removed' }),
    severity: z.enum(['breaking', 'compatible']),
    location: z.object({
      method: z.string().optional(),
      path: z.string().optional(),
      parameter: z.string().optional(),
      pointer: z.string().optional(),
      direction: z.enum(['request', 'response']).optional(),
    }),
    message: z.string(),
  })
  .openapi('ContractChange');

const PublishResultSchema = z
  .object({
    resourceCode: z.string(),
    version: z.string(),
    previousVersion: z.string().nullable(),
    openapiVersion: z.string(),
    sha256: z.string(),
    publishedAt: z.string(),
    catalogue: CatalogueDataSchema,
    changes: z.array(ChangeSchema),
    breakingChanges: z.number().int(),
  })
  .openapi('ContractPublication');

const SummarySchema = z
  .object({
    resourceCode: z.string(),
    title: z.string(),
    departmentCode: z.string(),
    sharingType: SharingTypeSchema,
    latestVersion: z.string(),
    updatedAt: z.string(),
  })
  .openapi('ContractSummary');

const VersionSummarySchema = z
  .object({
    version: z.string(),
    openapiVersion: z.string(),
    sha256: z.string(),
    publishedAt: z.string(),
    publishedBy: z.string(),
    changes: z.number().int(),
    breakingChanges: z.number().int(),
  })
  .openapi('ContractVersionSummary');

const EntrySchema = SummarySchema.extend({
  createdAt: z.string(),
  catalogue: CatalogueDataSchema,
  versions: z.array(VersionSummarySchema),
}).openapi('ContractEntry');

const VersionSchema = VersionSummarySchema.extend({
  resourceCode: z.string(),
  sourceFormat: z.string(),
  catalogue: CatalogueDataSchema,
  changeList: z.array(ChangeSchema),
  document: z.record(z.string(), z.unknown()),
}).openapi('ContractVersion');

const DiffSchema = z
  .object({
    resourceCode: z.string(),
    from: z.string(),
    to: z.string(),
    breaking: z.boolean(),
    changes: z.array(ChangeSchema),
  })
  .openapi('ContractDiff');

const AccessRequestSchema = z
  .object({
    id: z.string(),
    resourceCode: z.string(),
    clientId: z.string(),
    purpose: z.string(),
    legalBasis: z.string(),
    expiresAt: z.string().nullable(),
    status: z.enum(['pending', 'approved', 'denied']),
    requestedAt: z.string(),
    decision: z.object({ at: z.string(), by: z.string(), reason: z.string() }).nullable(),
  })
  .openapi('AccessRequest');

const VersionParamSchema = z.string().min(1).max(100).openapi({ example: '1.2.0' });
const resourceParams = z.object({ resourceCode: ResourceCodeSchema });
const AccessRequestIdSchema = z
  .string()
  .regex(
    /^acr_[A-Za-z0-9_-]{16}$/,
    bilingualCheck(
      'an access request id looks like acr_ followed by 16 characters',
      '访问申请标识为 acr_ 加 16 个字符',
    ),
  )
  .openapi({ example: 'acr_Xh3kP9qL2mN7vB4c' });

/** The publish body may carry a 2 MiB document as an escaped JSON string, so its own, larger cap. */
const PUBLISH_BODY_LIMIT = 2 * MAX_DOCUMENT_BYTES + 64 * 1024;
const publishBodyLimit = bodyLimit({
  maxSize: PUBLISH_BODY_LIMIT,
  onError: () => {
    throw new ApiError('contract_too_large', message('request.body_too_large', { maxBytes: PUBLISH_BODY_LIMIT }));
  },
});

const rawDocument = {
  schema: {
    type: 'string' as const,
    description: 'The OpenAPI document as YAML or JSON text; catalogue data from info.x-onewindow-catalogue',
  },
};
const RAW_DOCUMENT_MEDIA_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'] as const;

const publishRoute = protectedRoute({
  method: 'post',
  path: '/v1/contracts',
  operationId: 'publishContract',
  tags: ['contracts'],
  summary: 'Publish a contract version (OpenAPI 3.0/3.1 document plus catalogue data)',
  description:
    'Send `{ "document": <YAML or JSON text, or the document as an object>, "catalogue": {…} }` as application/json, or ' +
    'the document text alone as application/yaml (catalogue data then comes from `info.x-onewindow-catalogue`; ' +
    'members in `catalogue` win over it). The version is `info.version` (semver) and must be greater than the ' +
    'latest. The new version is compared with the latest: breaking changes need a major-version bump (409 ' +
    "`contract_breaking_change` lists them). A malformed document is 422 `contract_invalid` with the validator's " +
    'messages. Department clients publish for their own department; integrators for any.',
  scopes: ['contracts:write'],
  streamingBody: true,
  middleware: [publishBodyLimit] as const,
  request: {
    body: {
      required: false,
      content: {
        'application/json': { schema: ContractPublicationRequestSchema },
        ...Object.fromEntries(RAW_DOCUMENT_MEDIA_TYPES.map((mediaType) => [mediaType, rawDocument])),
      },
    },
  },
  responses: {
    201: json(PublishResultSchema, 'Published, with the changes against the previous version'),
    ...errorResponses(400, 401, 403, 409, 413, 415, 422),
  },
});

const listRoute = protectedRoute({
  method: 'get',
  path: '/v1/contracts',
  operationId: 'searchContracts',
  tags: ['contracts'],
  summary: 'The catalogue: search published contracts (latest versions)',
  scopes: ['contracts:read'],
  request: {
    query: z.object({
      q: z.string().trim().min(1).max(100).optional().openapi({ description: 'Words in the title or resource code' }),
      department: DepartmentCodeSchema.optional(),
      sharingType: SharingTypeSchema.optional(),
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(SummarySchema) }), 'Matching resources, by resource code'),
    ...errorResponses(400, 401, 403),
  },
});

const entryRoute = protectedRoute({
  method: 'get',
  path: '/v1/contracts/{resourceCode}',
  operationId: 'getContractResource',
  tags: ['contracts'],
  summary: "A resource's catalogue entry and its versions",
  scopes: ['contracts:read'],
  request: { params: resourceParams },
  responses: {
    200: json(EntrySchema, 'The catalogue entry, versions newest first'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const versionRoute = protectedRoute({
  method: 'get',
  path: '/v1/contracts/{resourceCode}/versions/{version}',
  operationId: 'getContractVersion',
  tags: ['contracts'],
  summary: 'One contract version: its document and catalogue data (`?format=yaml` for the document alone as YAML)',
  scopes: ['contracts:read'],
  request: {
    params: resourceParams.extend({ version: VersionParamSchema }),
    query: z.object({ format: z.enum(['json', 'yaml']).optional() }),
  },
  responses: {
    200: {
      description: 'The version (JSON), or the document as YAML',
      content: {
        'application/json': { schema: VersionSchema },
        'application/yaml': { schema: { type: 'string' as const } },
      },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

const diffRoute = protectedRoute({
  method: 'get',
  path: '/v1/contracts/{resourceCode}/diff',
  operationId: 'diffContractVersions',
  tags: ['contracts'],
  summary: 'The classified changes between two versions',
  scopes: ['contracts:read'],
  request: { params: resourceParams, query: z.object({ from: VersionParamSchema, to: VersionParamSchema }) },
  responses: {
    200: json(DiffSchema, 'Changes from `from` to `to`, each breaking or compatible'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const requestAccessRoute = protectedRoute({
  method: 'post',
  path: '/v1/contracts/{resourceCode}/access-requests',
  operationId: 'requestContractAccess',
  tags: ['contracts'],
  summary: 'Ask the owning department for access to a conditional resource',
  scopes: ['grants:request'],
  request: {
    params: resourceParams,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({
            purpose: z.string().trim().min(1).max(500),
            legalBasis: z.string().trim().min(1).max(500).openapi({ example: 'State Council Decree No. 33, art. 12' }),
            expiresAt: InstantSchema.optional(),
          }),
        },
      },
    },
  },
  responses: { 201: json(AccessRequestSchema, 'Pending'), ...errorResponses(400, 401, 403, 404, 422) },
});

const listRequestsRoute = protectedRoute({
  method: 'get',
  path: '/v1/access-requests',
  operationId: 'listAccessRequests',
  tags: ['contracts'],
  summary: "Access requests: a consumer's own, or those for a department's resources",
  scopes: ['contracts:read'],
  request: {
    query: z.object({
      status: z.enum(['pending', 'approved', 'denied']).optional(),
      resourceCode: ResourceCodeSchema.optional(),
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(AccessRequestSchema) }), 'Newest first'),
    ...errorResponses(400, 401, 403),
  },
});

const decideRoute = protectedRoute({
  method: 'post',
  path: '/v1/access-requests/{id}/decision',
  operationId: 'decideAccessRequest',
  tags: ['contracts'],
  summary: 'Approve or deny an access request (the owning department)',
  scopes: ['grants:decide'],
  request: {
    params: z.object({ id: AccessRequestIdSchema }),
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({ decision: z.enum(['approve', 'deny']), reason: z.string().trim().min(1).max(1000) }),
        },
      },
    },
  },
  responses: { 200: json(AccessRequestSchema, 'Decided'), ...errorResponses(400, 401, 403, 404, 409) },
});

/**
 * The publish route as documented, and as registered without zod-openapi's JSON body validator:
 * that validator parses the body on the event loop, and a body within the limit can hold a million
 * small objects (a quarter of a second to parse). The handler hands the body's text to the
 * contract worker, which parses and checks it as the validator did (`publication-request.ts`).
 */
function registerPublishRoute(app: OpenAPIHono<AppEnv>, handler: Parameters<typeof app.openapi>[1]): void {
  const { middleware: _middleware, ...documented } = publishRoute;
  app.openAPIRegistry.registerPath(documented);
  // A schema that is not zod's: zod-openapi adds no validator for it.
  const content = { ...publishRoute.request.body.content, 'application/json': { schema: { type: 'object' as const } } };
  app.openapi({ ...publishRoute, hide: true, request: { body: { ...publishRoute.request.body, content } } }, handler);
}

export function registerContractRoutes(app: OpenAPIHono<AppEnv>): void {
  registerPublishRoute(app, async (c) => {
    const contentType = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    let input: Parameters<typeof publishContract>[2];
    if (/^application\/([a-z.-]+\+)?json$/.test(contentType)) {
      input = { requestJson: await c.req.text(), requestId: c.get('requestId') };
    } else if ((RAW_DOCUMENT_MEDIA_TYPES as readonly string[]).includes(contentType)) {
      input = { document: await c.req.text(), requestId: c.get('requestId') };
    } else {
      throw new ApiError(
        'unsupported_media_type',
        message('contract.media_types', { mediaTypes: RAW_DOCUMENT_MEDIA_TYPES.join(', ') }),
      );
    }
    const services = c.get('services');
    const principal = c.get('principal');
    const requestId = c.get('requestId');
    const access = services.access.forRequest(principal, null, requestId, services.clock.now());
    const result = await publishContract(services.db, principal, input, {
      access,
      ownerOfResourceCode: (code) => services.departments.ownerOfResourceCode(code),
    });
    // Its sharing terms decide from now on, on this instance at once (others on the notification).
    services.access.reference.invalidate();
    // Department answers are checked against the new version from now on.
    await c.get('services').publishedContracts.refresh(result.resourceCode);
    c.header('Location', `/v1/contracts/${result.resourceCode}/versions/${result.version}`);
    return c.json(result, 201);
  });

  app.openapi(listRoute, async (c) => {
    return c.json({ items: await listContracts(c.get('services').db, c.req.valid('query')) }, 200);
  });

  app.openapi(entryRoute, async (c) => {
    return c.json(await getContract(c.get('services').db, c.req.valid('param').resourceCode), 200);
  });

  app.openapi(versionRoute, async (c) => {
    const { resourceCode, version } = c.req.valid('param');
    if (c.req.valid('query').format === 'yaml') {
      const text = await getContractVersionYaml(c.get('services').db, resourceCode, version);
      return c.body(text, 200, { 'Content-Type': 'application/yaml; charset=utf-8' }) as never;
    }
    // Built as text: the document inside is never parsed on the event loop.
    const text = await getContractVersionJson(c.get('services').db, resourceCode, version);
    return c.body(text, 200, { 'Content-Type': 'application/json' }) as never;
  });

  app.openapi(diffRoute, async (c) => {
    const { from, to } = c.req.valid('query');
    return c.json(await diffContractVersions(c.get('services').db, c.req.valid('param').resourceCode, from, to), 200);
  });

  app.openapi(requestAccessRoute, async (c) => {
    const body = c.req.valid('json');
    const view = await requestResourceAccess(
      c.get('services').db,
      c.get('principal'),
      c.req.valid('param').resourceCode,
      {
        purpose: body.purpose,
        legalBasis: body.legalBasis,
        expiresAt: body.expiresAt === undefined ? undefined : new Date(body.expiresAt),
        requestId: c.get('requestId'),
      },
    );
    return c.json(view, 201);
  });

  app.openapi(listRequestsRoute, async (c) => {
    return c.json(
      { items: await listAccessRequests(c.get('services').db, c.get('principal'), c.req.valid('query')) },
      200,
    );
  });

  app.openapi(decideRoute, async (c) => {
    const body = c.req.valid('json');
    const view = await decideAccessRequest(c.get('services').db, c.get('principal'), c.req.valid('param').id, {
      ...body,
      requestId: c.get('requestId'),
    });
    c.get('services').access.reference.invalidate();
    return c.json(view, 200);
  });
}
