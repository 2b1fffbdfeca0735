/**
 * Data tracker API: an auditor reads any subject's access log; a portal obtains a short-lived
 * subject-scoped token for a signed-in citizen, with which the citizen reads their own log.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { auditRefusals } from '../access/audit.js';
import type { AccessContext } from '../access/context.js';
import { accessContext, contextWithPurpose } from '../access/request.js';
import { SubjectIdSchema } from '../identity/routes.js';
import { issueTrackerToken } from '../identity/tracker-token.js';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { PurposeHeadersSchema } from '../platform/purpose.js';
import { errorResponses } from '../platform/routes.js';
import { protectedRoute } from '../auth/protected-route.js';
import { readDataTracker } from './tracker.js';

const TrackerPageSchema = z
  .object({
    subjectId: z.string(),
    items: z.array(
      z.object({
        entryId: z.string(),
        occurredAt: z.string(),
        client: z.object({
          id: z.string().nullable().openapi({ description: "The client's id; null in the citizen's own view" }),
          name: z.string().nullable().openapi({ description: 'The organisation (client) name' }),
          kind: z.string(),
          department: z.string().nullable(),
        }),
        operatorId: z
          .string()
          .nullable()
          .openapi({ description: "The operator at the calling system; null in the citizen's own view" }),
        centre: z
          .object({ code: z.string(), name: z.string().nullable() })
          .nullable()
          .openapi({ description: 'Where the data was used: the service centre of the actor' }),
        action: z.string(),
        fields: z.array(z.string()),
        materialTypes: z.array(z.string()),
        purpose: z.string().nullable(),
        caseRef: z
          .string()
          .nullable()
          .openapi({ description: "The case served; in the citizen's view only the gateway's own case numbers" }),
        outcome: z.string(),
      }),
    ),
    nextBefore: z.string().nullable(),
  })
  .openapi('DataTrackerPage');

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z
    .string()
    .regex(/^\d{1,18}$/)
    .openapi({ example: '1042' })
    .optional()
    .openapi({ description: 'nextBefore of the previous page' }),
});

const subjectTrackerRoute = protectedRoute({
  method: 'get',
  path: '/v1/subjects/{subjectId}/access-log',
  operationId: 'getSubjectAccessLog',
  personalData: 'subject',
  tags: ['audit'],
  summary: "A subject's data tracker: who accessed their data, when, what and why (auditors)",
  scopes: ['audit:read'],
  request: { params: z.object({ subjectId: SubjectIdSchema }), headers: PurposeHeadersSchema, query: pageQuery },
  responses: {
    200: { description: 'Newest first', content: { 'application/json': { schema: TrackerPageSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const ownTrackerRoute = protectedRoute({
  method: 'get',
  path: '/v1/me/access-log',
  operationId: 'getOwnAccessLog',
  personalData: 'request',
  tags: ['audit'],
  summary: 'The data tracker of the subject a subject-scoped token was issued for',
  scopes: ['tracker:read'],
  request: { query: pageQuery },
  responses: {
    200: { description: 'Newest first', content: { 'application/json': { schema: TrackerPageSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const PresentedIdentitySchema = z
  .object({
    identifier: z
      .string()
      .trim()
      .min(1)
      .max(40)
      .openapi({ description: 'The ID number on the document the applicant presents', example: '11010519491231002X' }),
    name: z.string().trim().min(1).max(100).openapi({ description: 'The name on that document', example: '张三' }),
  })
  .strict()
  .openapi('PresentedIdentity');

const issueTokenRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/{subjectId}/tracker-token',
  operationId: 'issueTrackerToken',
  personalData: 'subject',
  tags: ['audit'],
  summary: 'Issue a short-lived token with which the applicant reads their own data tracker',
  description:
    "Only at the applicant's own request (`onewindow-purpose: subject_request`) and with the applicant present: the " +
    'identity document they present must match the subject, and their identity must be verified against the ' +
    'population register — earlier in the same case (`onewindow-case-ref`), or now, in this request. The token carries ' +
    'only `tracker:read` and the subject id; it works on GET /v1/me/access-log and nowhere else. Persons only.',
  scopes: ['tracker:issue'],
  request: {
    params: z.object({ subjectId: SubjectIdSchema }),
    headers: PurposeHeadersSchema,
    body: { required: true, content: { 'application/json': { schema: PresentedIdentitySchema } } },
  },
  responses: {
    201: {
      description: 'A subject-scoped access token',
      content: {
        'application/json': {
          schema: z.object({
            access_token: z.string(),
            token_type: z.literal('Bearer'),
            expires_in: z.number().int(),
            scope: z.string(),
          }),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404, 422, 429, 502, 503, 504),
  },
});

export function registerTrackerRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(subjectTrackerRoute, async (c) => {
    const context = accessContext(c, c.req.valid('header'));
    const { subjectId } = c.req.valid('param');
    await requireTrackerRead(context, subjectId);
    const page = await readDataTracker(
      context.db,
      { ...context, citizenView: false },
      { subjectId, ...c.req.valid('query') },
    );
    return c.json(page, 200);
  });

  app.openapi(ownTrackerRoute, async (c) => {
    const subjectId = c.get('principal').subjectId;
    if (!subjectId) throw new ApiError('forbidden', message('audit.subject_token_required'));
    const context = contextWithPurpose(c, { purpose: 'subject_request', caseRef: null, operatorId: null });
    await requireTrackerRead(context, subjectId);
    const page = await readDataTracker(
      context.db,
      { ...context, citizenView: true },
      { subjectId, ...c.req.valid('query') },
    );
    return c.json(page, 200);
  });

  app.openapi(issueTokenRoute, async (c) => {
    const services = c.get('services');
    const context = accessContext(c, c.req.valid('header'));
    const { subjectId } = c.req.valid('param');
    const issued = await issueTrackerToken(
      { ...context, departments: services.departments, logger: services.logger, signal: c.req.raw.signal },
      subjectId,
      c.req.valid('json'),
      (subject) =>
        services.tokens.issueForSubject(
          {
            id: context.principal.clientId,
            kind: context.principal.kind,
            departmentCode: context.principal.departmentCode,
          },
          subject,
          services.config.subjectTokenTtlSeconds,
        ),
      services.presenceFailureLimiter,
    );
    return c.json(
      {
        access_token: issued.accessToken,
        token_type: 'Bearer' as const,
        expires_in: issued.expiresIn,
        scope: issued.scopes.join(' '),
      },
      201,
    );
  });
}

/** The policy's yes to reading this subject's access log (an auditor's, or the citizen's own). */
export async function requireTrackerRead(context: AccessContext, subjectId: string): Promise<void> {
  await auditRefusals(context, { action: 'subject.tracker.read', subjectId }, () =>
    context.access.require(
      context.db,
      'access_log.read',
      { kind: 'access_log', subjectId },
      message('subject.not_found'),
    ),
  );
}
