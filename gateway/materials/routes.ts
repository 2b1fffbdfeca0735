/**
 * Materials API: the material-type catalogue, upload (raw body or multipart, streamed into the
 * content store), metadata, download with ETag / conditional requests / ranges, the reuse
 * question, and revocation. Every route that touches a subject's materials takes the purpose
 * headers and audits.
 */
import { auditCoHolderCopyRead } from '../certificates/store.js';
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { accessContext } from '../access/request.js';
import { SubjectIdSchema } from '../identity/routes.js';
import type { AppEnv } from '../platform/context.js';
import { PurposeHeadersSchema } from '../platform/purpose.js';
import { errorResponses } from '../platform/routes.js';
import { protectedRoute } from '../auth/protected-route.js';
import { chinaToday } from './dates.js';
import {
  DateSchema,
  DocumentMediaTypeSchema,
  MaterialIdSchema,
  TypeCodeSchema,
  UploadMetadataSchema,
} from './schemas.js';
import { applyGrant, listMaterialTypes, upsertMaterialType } from './catalogue.js';
import { downloadMaterial } from './download.js';
import { uploadMaterial } from './upload.js';
import { findReusableMaterials, listMaterials, materialView, readMaterial, revokeMaterial } from './materials.js';

const MaterialTypeSchema = z
  .object({
    code: TypeCodeSchema,
    name: z.string(),
    nameZh: z.string(),
    subjectKind: z.enum(['person', 'organisation']).nullable(),
    allowedMediaTypes: z.array(DocumentMediaTypeSchema),
    defaultValidityDays: z.number().int().nullable(),
    issuingDepartment: z.string().nullable(),
    freshForSeconds: z
      .number()
      .int()
      .min(0)
      .max(10 * 365 * 86_400)
      .nullable()
      .default(null)
      .openapi({
        description:
          'Certificates fetched from the issuing department are reused without asking it again for this long; null: ask every time',
      }),
    staleGraceSeconds: z
      .number()
      .int()
      .min(0)
      .max(10 * 365 * 86_400)
      .nullable()
      .default(null)
      .openapi({
        description:
          'When the department cannot answer, a copy last confirmed at most this long ago is served, marked stale; null: never',
      }),
  })
  .openapi('MaterialType');

const MaterialSchema = z
  .object({
    id: z.string(),
    subjectId: z.string(),
    typeCode: z.string(),
    status: z.enum(['valid', 'expired', 'revoked', 'superseded', 'cancelled']),
    validFrom: z.string(),
    validUntil: z.string().nullable(),
    content: z.object({
      sha256: z.string(),
      sm3: z.string().nullable(),
      size: z.number().int(),
      mediaType: z.string(),
      fileName: z.string().nullable(),
    }),
    provenance: z.object({
      kind: z.enum(['handed_in', 'fetched', 'issued']),
      providedBy: z.string(),
      operatorId: z
        .string()
        .nullable()
        .openapi({ description: 'The operator the calling system named; identifier-shaped text masked' }),
      departmentCode: z.string().nullable(),
      sourceRef: z.string().nullable(),
      caseRef: z
        .string()
        .nullable()
        .openapi({ description: "The calling system's case reference; identifier-shaped text masked" }),
    }),
    supersedes: z.string().nullable(),
    supersededBy: z.string().nullable(),
    revocation: z.object({ at: z.string(), reason: z.string(), by: z.string() }).nullable(),
    createdAt: z.string(),
  })
  .openapi('Material');

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const subjectParams = z.object({ subjectId: SubjectIdSchema });
const materialParams = z.object({ subjectId: SubjectIdSchema, materialId: MaterialIdSchema });

const listTypesRoute = protectedRoute({
  method: 'get',
  path: '/v1/material-types',
  operationId: 'listMaterialTypes',
  tags: ['materials'],
  summary: 'The catalogue of material types',
  scopes: ['materials:read'],
  responses: {
    200: json(z.object({ items: z.array(MaterialTypeSchema) }), 'Every material type'),
    ...errorResponses(401, 403),
  },
});

const putTypeRoute = protectedRoute({
  method: 'put',
  path: '/v1/material-types/{code}',
  operationId: 'putMaterialType',
  tags: ['materials'],
  summary: 'Create or replace a material type',
  scopes: ['catalogue:admin'],
  request: {
    params: z.object({ code: TypeCodeSchema }),
    body: {
      required: true,
      content: {
        'application/json': {
          schema: MaterialTypeSchema.omit({ code: true }).extend({
            allowedMediaTypes: z.array(DocumentMediaTypeSchema).min(1),
          }),
        },
      },
    },
  },
  responses: {
    200: json(MaterialTypeSchema, 'Replaced'),
    201: json(MaterialTypeSchema, 'Created'),
    ...errorResponses(400, 401, 403),
  },
});

const grantParams = z.object({
  code: TypeCodeSchema,
  clientId: z
    .string()
    .regex(/^cli_[A-Za-z0-9_-]{1,60}$/)
    .openapi({ example: 'cli_Q2x5b3dpbmRvdzE' }),
});
const GrantSchema = z
  .object({ typeCode: z.string(), clientId: z.string(), granted: z.boolean() })
  .openapi('MaterialTypeGrant');

const putGrantRoute = protectedRoute({
  method: 'put',
  path: '/v1/material-types/{code}/grants/{clientId}',
  operationId: 'grantMaterialType',
  tags: ['materials'],
  summary: "Let a department client read every subject's materials of this type",
  scopes: ['catalogue:admin'],
  request: { params: grantParams },
  responses: { 200: json(GrantSchema, 'Granted (or already was)'), ...errorResponses(400, 401, 403, 404, 422) },
});

const deleteGrantRoute = protectedRoute({
  method: 'delete',
  path: '/v1/material-types/{code}/grants/{clientId}',
  operationId: 'withdrawMaterialTypeGrant',
  tags: ['materials'],
  summary: 'Withdraw a material type grant',
  scopes: ['catalogue:admin'],
  request: { params: grantParams },
  responses: { 200: json(GrantSchema, 'Withdrawn (or was not granted)'), ...errorResponses(400, 401, 403, 404, 422) },
});

const binary = { schema: { type: 'string' as const, format: 'binary' } };

const uploadRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/{subjectId}/materials',
  operationId: 'uploadMaterial',
  personalData: 'subject',
  tags: ['materials'],
  summary: 'Upload a document as a material of the subject',
  description:
    'Send the document as the raw body with its Content-Type (optionally `Content-Digest: sha-256=:…:`), or as ' +
    'multipart/form-data with the metadata fields first and the document in the field `file`. The real type is ' +
    "detected from the bytes and must match the declared type and the material type's allowed types (415). " +
    'Bodies over UPLOAD_MAX_BYTES are cut off while reading (413); a digest mismatch is 422. Nothing is stored ' +
    'when the upload fails. Identical bytes are stored once.',
  scopes: ['materials:write'],
  streamingBody: true,
  request: {
    params: subjectParams,
    headers: PurposeHeadersSchema,
    query: UploadMetadataSchema.partial(),
    body: {
      required: true,
      content: {
        'application/pdf': binary,
        'application/ofd': binary,
        'image/jpeg': binary,
        'image/png': binary,
        'application/octet-stream': binary,
        'multipart/form-data': {
          schema: {
            type: 'object' as const,
            required: ['typeCode', 'file'],
            properties: {
              typeCode: { type: 'string' as const },
              validFrom: { type: 'string' as const, format: 'date' },
              validUntil: { type: 'string' as const, format: 'date' },
              fileName: { type: 'string' as const },
              sourceRef: { type: 'string' as const },
              supersedes: { type: 'string' as const },
              sha256: { type: 'string' as const },
              file: { type: 'string' as const, format: 'binary' },
            },
          },
        },
      },
    },
  },
  responses: {
    201: json(MaterialSchema, 'Stored'),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

const listRoute = protectedRoute({
  method: 'get',
  path: '/v1/subjects/{subjectId}/materials',
  operationId: 'listMaterials',
  personalData: 'subject',
  tags: ['materials'],
  summary: "The subject's materials visible to the caller",
  scopes: ['materials:read'],
  request: {
    params: subjectParams,
    headers: PurposeHeadersSchema,
    query: z.object({
      types: z.string().max(2000).optional().openapi({ description: 'Comma-separated material type codes' }),
      current: z.enum(['true', 'false']).optional().openapi({ description: 'Only materials valid today' }),
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(MaterialSchema) }), 'Materials, by type, newest first'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const readRoute = protectedRoute({
  method: 'get',
  path: '/v1/subjects/{subjectId}/materials/{materialId}',
  operationId: 'getMaterial',
  personalData: 'subject',
  tags: ['materials'],
  summary: "A material's metadata: type, content digest, provenance, validity, status",
  scopes: ['materials:read'],
  request: { params: materialParams, headers: PurposeHeadersSchema },
  responses: { 200: json(MaterialSchema, 'The material'), ...errorResponses(400, 401, 403, 404) },
});

const downloadRoute = protectedRoute({
  method: 'get',
  path: '/v1/subjects/{subjectId}/materials/{materialId}/content',
  operationId: 'downloadMaterialContent',
  personalData: 'subject',
  tags: ['materials'],
  summary: "Download a material's document",
  description:
    'Answers with the stored media type, `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, a ' +
    'strong ETag from the SHA-256, and `Repr-Digest`. Supports If-None-Match / If-Match / If-Modified-Since / ' +
    'If-Unmodified-Since, and single byte ranges with If-Range. Stored bytes are checked against the SHA-256 while ' +
    'they stream: a document found corrupt is withheld (`503 content_corrupted`) until the same document is uploaded ' +
    'again, and a 200 that finds it corrupt on the way is cut off before its end (the connection is reset).',
  scopes: ['materials:read'],
  request: { params: materialParams, headers: PurposeHeadersSchema },
  responses: {
    200: { description: 'The document', content: { 'application/octet-stream': binary } },
    206: { description: 'The requested byte range', content: { 'application/octet-stream': binary } },
    304: { description: 'Not modified (If-None-Match / If-Modified-Since)' },
    ...errorResponses(400, 401, 403, 404, 412, 416, 503),
  },
});

const reuseRoute = protectedRoute({
  method: 'get',
  path: '/v1/subjects/{subjectId}/reusable-materials',
  operationId: 'listReusableMaterials',
  personalData: 'subject',
  tags: ['materials'],
  summary: 'Which materials of the given types are valid for the subject on a date, and which are missing',
  scopes: ['materials:read'],
  request: {
    params: subjectParams,
    headers: PurposeHeadersSchema,
    query: z.object({
      types: z
        .string()
        .min(1)
        .max(2000)
        .transform((value) =>
          value
            .split(',')
            .map((code) => code.trim())
            .filter((code) => code.length > 0),
        )
        .pipe(z.array(TypeCodeSchema).min(1).max(50))
        .openapi({
          type: 'string',
          description: 'Comma-separated material type codes',
          example: 'resident_id_card,household_register',
        }),
      on: DateSchema.optional().openapi({ description: 'Default: today (China Standard Time)' }),
    }),
  },
  responses: {
    200: json(
      z
        .object({
          subjectId: z.string(),
          on: z.string(),
          found: z.array(z.object({ typeCode: z.string(), material: MaterialSchema })),
          missing: z.array(z.string()),
        })
        .openapi('ReuseAnswer'),
      'The newest valid material per type, and the types with none',
    ),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

const revokeRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/{subjectId}/materials/{materialId}/revoke',
  operationId: 'revokeMaterial',
  personalData: 'subject',
  tags: ['materials'],
  summary: 'Revoke a material (its provider only)',
  scopes: ['materials:write'],
  request: {
    params: materialParams,
    headers: PurposeHeadersSchema,
    body: {
      required: true,
      content: { 'application/json': { schema: z.object({ reason: z.string().trim().min(1).max(500) }) } },
    },
  },
  responses: { 200: json(MaterialSchema, 'Revoked'), ...errorResponses(400, 401, 403, 404, 409) },
});

export function registerMaterialRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listTypesRoute, async (c) => {
    const rows = await listMaterialTypes(c.get('services').db);
    return c.json({ items: rows.map((row) => MaterialTypeSchema.parse(row)) }, 200);
  });

  app.openapi(putTypeRoute, async (c) => {
    const { code } = c.req.valid('param');
    const { type, created } = await upsertMaterialType(c.get('services').db, { code, ...c.req.valid('json') });
    c.get('services').access.reference.invalidate();
    const body = MaterialTypeSchema.parse(type);
    return created ? c.json(body, 201) : c.json(body, 200);
  });

  app.openapi(putGrantRoute, async (c) => {
    const { code, clientId } = c.req.valid('param');
    const grant = await applyGrant(c.get('services').db, c.get('principal'), code, clientId, true);
    c.get('services').access.reference.invalidate();
    return c.json(grant, 200);
  });

  app.openapi(deleteGrantRoute, async (c) => {
    const { code, clientId } = c.req.valid('param');
    const grant = await applyGrant(c.get('services').db, c.get('principal'), code, clientId, false);
    c.get('services').access.reference.invalidate();
    return c.json(grant, 200);
  });

  app.openapi(uploadRoute, async (c) => {
    const context = accessContext(c, c.req.valid('header'));
    const { subjectId } = c.req.valid('param');
    const query = c.req.valid('query');
    const material = await uploadMaterial(c as unknown as Context<AppEnv>, context, subjectId, query);
    c.header('Location', `/v1/subjects/${subjectId}/materials/${material.id}`);
    return c.json(material, 201);
  });

  app.openapi(listRoute, async (c) => {
    const { types, current } = c.req.valid('query');
    const typeCodes = types
      ?.split(',')
      .map((code) => code.trim())
      .filter((code) => code.length > 0);
    const items = await listMaterials(accessContext(c, c.req.valid('header')), c.req.valid('param').subjectId, {
      types: typeCodes,
      currentOnly: current === 'true',
    });
    return c.json({ items }, 200);
  });

  app.openapi(readRoute, async (c) => {
    const { subjectId, materialId } = c.req.valid('param');
    const { row, names } = await readMaterial(
      accessContext(c, c.req.valid('header')),
      subjectId,
      materialId,
      'material.read',
      auditCoHolderCopyRead,
    );
    return c.json(materialView(row, undefined, names), 200);
  });

  app.openapi(downloadRoute, async (c) => {
    const { subjectId, materialId } = c.req.valid('param');
    // The response is built by hand (binary body, 206/304), which the typed route cannot express.
    return downloadMaterial(
      c as unknown as Context<AppEnv>,
      accessContext(c, c.req.valid('header')),
      subjectId,
      materialId,
      auditCoHolderCopyRead,
    ) as never;
  });

  app.openapi(reuseRoute, async (c) => {
    const { types, on } = c.req.valid('query');
    const context = accessContext(c, c.req.valid('header'));
    // "Today" is the gateway's clock's, like every other date it answers (a test may stop it on a day).
    const answer = await findReusableMaterials(
      context,
      c.req.valid('param').subjectId,
      types,
      on ?? chinaToday(context.access.now),
    );
    return c.json(answer, 200);
  });

  app.openapi(revokeRoute, async (c) => {
    const { subjectId, materialId } = c.req.valid('param');
    return c.json(
      await revokeMaterial(accessContext(c, c.req.valid('header')), subjectId, materialId, c.req.valid('json').reason),
      200,
    );
  });
}
