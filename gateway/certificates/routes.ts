/**
 * Certificates API: fetch a subject's certificates (window systems, with a purpose), verify a
 * gateway envelope (public: anyone holding one may check it), and revocations (pushed by the
 * issuing department, polled by consumers).
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { accessContext, contextWithPurpose } from '../access/request.js';
import { SubjectIdSchema } from '../identity/routes.js';
import type { AppEnv } from '../platform/context.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { PurposeHeadersSchema } from '../platform/purpose.js';
import { errorResponses, publicRoute } from '../platform/routes.js';
import { InstantSchema } from '../platform/time-range.js';
import { protectedRoute } from '../auth/protected-route.js';
import { fetchCertificates } from './fetch.js';
import { listRevocations, pushRevocation } from './revocations.js';
import { verifyEnvelope } from './verify.js';
import { clientAddress, rateLimit } from '../platform/rate-limit.js';

const TypeCode = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{1,59}$/,
    bilingualCheck(
      'certificate types are material-type codes, e.g. household_register',
      '证照类型为材料类型代码，如 household_register',
    ),
  )
  .openapi({ example: 'household_register' });
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const CertificateMetadataSchema = z
  .object({
    certificateType: z.string(),
    certificateNumber: z.string(),
    holderName: z.string().openapi({ description: 'Masked (first character) unless the token has subjects:unmask' }),
    holderIdentifier: z.string().openapi({ description: 'Masked unless the token has subjects:unmask' }),
    issuingAuthority: z.string(),
    issueDate: z.string(),
    validFrom: z.string(),
    validUntil: z.string().nullable(),
    status: z.enum(['valid', 'revoked', 'cancelled']).openapi({
      description:
        'revoked: 撤销 (withdrawn as wrong); cancelled: 注销, ended by a later event (a divorce, a transfer)',
    }),
    location: z
      .string()
      .optional()
      .openapi({ description: '坐落: where the object of the certificate is (real estate)' }),
    shareType: z
      .enum(['sole', 'joint', 'shares'])
      .optional()
      .openapi({ description: '单独所有 / 共同共有 / 按份共有' }),
    holders: z
      .array(z.object({ name: z.string(), identifier: z.string(), share: z.string().optional() }))
      .optional()
      .openapi({
        description:
          'Every holder of the right (co-owners), masked like the holder unless the token has subjects:unmask',
      }),
    restrictions: z
      .array(
        z.object({
          kind: z.enum(['mortgage', 'seizure', 'objection', 'pre_notice']),
          registeredOn: z.string(),
          party: z.string(),
        }),
      )
      .optional()
      .openapi({
        description:
          '权利限制: 抵押 mortgage, 查封 seizure, 异议登记 objection, 预告登记 pre-notice, with the day and who holds it',
      }),
  })
  .openapi('CertificateMetadata');

const ContentSchema = z.object({
  sha256: z.string(),
  /** SM3 (GB/T 32905) of the rendition, lower-case hex; absent only on copies stored before it was recorded. */
  sm3: z.string().optional(),
  mediaType: z.string(),
  size: z.number().int(),
});

const CertificateAnswerSchema = z
  .object({
    certificateType: z.string(),
    status: z.enum(['ok', 'not_found', 'revoked', 'cancelled', 'department_unavailable', 'denied', 'department_error']),
    department: z.string().nullable(),
    source: z.enum(['stored', 'department']).nullable(),
    stale: z.boolean(),
    certificate: CertificateMetadataSchema.nullable(),
    material: z.object({ id: z.string(), status: z.string(), content: ContentSchema }).nullable(),
    fetchedAt: z.string().nullable(),
    checkedAt: z.string().nullable(),
    envelope: z.string().nullable().openapi({
      description:
        'Compact JWS (typ onewindow-certificate+jws) signed by the gateway; verify against /.well-known/jwks.json',
    }),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    choices: z
      .array(
        z.object({
          certificateNumber: z.string(),
          status: z.enum(['valid', 'revoked', 'cancelled']),
          location: z.string().optional(),
        }),
      )
      .nullable()
      .openapi({
        description:
          'The subject holds several certificates of this type: the others, to choose one and ask again with `numbers`',
      }),
  })
  .openapi('CertificateAnswer');

const fetchRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/{subjectId}/certificates',
  operationId: 'fetchCertificates',
  personalData: 'subject',
  tags: ['certificates'],
  summary: "Fetch a subject's certificates from the issuing departments (or fresh stored copies)",
  description:
    "For each type: a stored copy while it is fresh under the type's policy, otherwise the issuing department, all asked in parallel " +
    'under one deadline. Each result says ok, not_found, revoked, department_unavailable, denied (no grant) or department_error. ' +
    'A certificate is stored once as a material; each ok answer carries a gateway-signed envelope. Needs a purpose; audited.',
  scopes: ['certificates:read'],
  request: {
    params: z.object({ subjectId: SubjectIdSchema }),
    headers: PurposeHeadersSchema,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              types: z
                .array(TypeCode)
                .min(1)
                .max(10)
                .openapi({ example: ['resident_id_card', 'household_register'] }),
              refresh: z
                .boolean()
                .optional()
                .openapi({ description: 'Ask the departments even when a fresh copy is stored' }),
              deadlineMs: z
                .number()
                .int()
                .min(100)
                .max(60_000)
                .optional()
                .openapi({ description: 'Overall deadline (capped by CERTIFICATE_FETCH_DEADLINE_MS)' }),
              numbers: z
                .record(TypeCode, z.string().trim().min(1).max(100))
                .optional()
                .openapi({
                  description: 'Per type, the number of the one certificate meant (e.g. the flat named in the form)',
                  example: { real_estate_certificate: '京(2015)朝阳区不动产权第0031287号' },
                }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: json(
      z
        .object({ subjectId: z.string(), deadlineMs: z.number().int(), results: z.array(CertificateAnswerSchema) })
        .openapi('CertificateFetch'),
      'One result per type',
    ),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

const verifyRoute = publicRoute({
  method: 'post',
  path: '/v1/certificates/verify',
  operationId: 'verifyCertificate',
  tags: ['certificates'],
  summary: 'Verify a certificate envelope signed by this gateway, and whether the certificate still stands',
  // Anonymous and CPU-bound (signature checks): rate limited per address across instances.
  middleware: [
    rateLimit(
      (c) => c.get('services').verificationLimiter,
      (c) => `verify:${clientAddress(c)}`,
    ),
  ] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              envelope: z
                .string()
                .min(1)
                .max(64 * 1024),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: json(
      z
        .object({
          valid: z.boolean(),
          signature: z.literal('valid'),
          kid: z.string(),
          currentStatus: z.enum(['valid', 'revoked', 'superseded', 'cancelled', 'unknown']),
          revocation: z.object({ at: z.string(), reason: z.string() }).nullable(),
          claims: z.record(z.string(), z.unknown()),
        })
        .openapi('EnvelopeVerification'),
      'The signature verifies; `valid` also needs the certificate to be neither revoked nor superseded',
    ),
    ...errorResponses(400, 422, 429),
  },
});

const RevocationSchema = z
  .object({
    id: z.string(),
    department: z.string(),
    certificateType: z.string(),
    certificateNumber: z.string(),
    reason: z.string(),
    reportedBy: z.string(),
    materialsRevoked: z.number().int(),
    revokedAt: z.string(),
  })
  .openapi('CertificateRevocation');

const pushRevocationRoute = protectedRoute({
  method: 'post',
  path: '/v1/certificates/revocations',
  operationId: 'revokeCertificate',
  personalData: 'request',
  tags: ['certificates'],
  summary: 'Revoke a certificate the calling department issued',
  scopes: ['certificates:issue'],
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              certificateType: TypeCode,
              certificateNumber: z.string().trim().min(1).max(64),
              reason: z.string().trim().min(1).max(500),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: json(RevocationSchema, 'Recorded; the materials holding it are revoked'),
    ...errorResponses(400, 401, 403, 422),
  },
});

const listRevocationsRoute = protectedRoute({
  method: 'get',
  path: '/v1/certificates/revocations',
  operationId: 'listCertificateRevocations',
  tags: ['certificates'],
  summary: 'Revocations since a time, oldest first (poll with the last revokedAt)',
  scopes: ['certificates:read'],
  request: {
    query: z.object({
      since: InstantSchema.optional(),
      department: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]{1,15}$/)
        .openapi({ example: 'PSB' })
        .optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(RevocationSchema) }), 'Revocations'),
    ...errorResponses(400, 401, 403),
  },
});

export function registerCertificateRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(fetchRoute, async (c) => {
    const services = c.get('services');
    const answer = await fetchCertificates(
      {
        ...accessContext(c, c.req.valid('header')),
        services: {
          departments: services.departments,
          reference: services.access.reference,
          envelopes: services.envelopes,
          database: services.database,
          blobStore: services.blobStore,
          keys: services.keys,
          logger: services.logger,
          publishedContracts: services.publishedContracts,
          issuer: services.config.issuer,
          defaultDeadlineMs: services.config.certificates.fetchDeadlineMs,
        },
        // The Node adapter builds the web Request (and its AbortController) when this is first read.
        get signal() {
          return c.req.raw.signal;
        },
      },
      c.req.valid('param').subjectId,
      c.req.valid('json'),
    );
    return c.json(answer, 200);
  });

  app.openapi(verifyRoute, async (c) => {
    const services = c.get('services');
    const result = await verifyEnvelope(
      services.db,
      services.keys,
      services.access.protection,
      c.req.valid('json').envelope,
    );
    return c.json({ ...result, claims: { ...result.claims } }, 200);
  });

  app.openapi(pushRevocationRoute, async (c) => {
    const services = c.get('services');
    const context = contextWithPurpose(c, { purpose: 'certificate_issuance', caseRef: null, operatorId: null });
    const view = await pushRevocation({ ...context, departments: services.departments }, c.req.valid('json'));
    return c.json(view, 201);
  });

  app.openapi(listRevocationsRoute, async (c) => {
    const { since, department, limit } = c.req.valid('query');
    return c.json(
      {
        items: await listRevocations(c.get('services').db, c.get('services').access.protection, {
          ...(since ? { since: new Date(since) } : {}),
          ...(department ? { department } : {}),
          limit,
        }),
      },
      200,
    );
  });
}
