/**
 * Data tracker API: an auditor reads any subject's access log; a portal obtains a short-lived
 * subject-scoped token for a signed-in citizen, with which the citizen reads their own log.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { subjects } from '../db/schema.js';
import { accessContext, SubjectIdSchema } from '../identity/routes.js';
import type { AppEnv } from '../platform/context.js';
import { ApiError } from '../platform/errors.js';
import { PurposeHeadersSchema } from '../platform/purpose.js';
import { errorResponses, protectedRoute } from '../platform/routes.js';
import { recordAudit } from './record.js';
import { readDataTracker } from './tracker.js';

const TrackerPageSchema = z
  .object({
    subjectId: z.string(),
    items: z.array(
      z.object({
        entryId: z.string(),
        occurredAt: z.string(),
        client: z.object({ id: z.string(), name: z.string().nullable(), kind: z.string() }),
        operatorId: z.string().nullable(),
        action: z.string(),
        fields: z.array(z.string()),
        materialTypes: z.array(z.string()),
        purpose: z.string().nullable(),
        caseRef: z.string().nullable(),
        outcome: z.string(),
      }),
    ),
    nextBefore: z.string().nullable(),
  })
  .openapi('DataTrackerPage');

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.string().regex(/^\d{1,18}$/).optional().openapi({ description: 'nextBefore of the previous page' }),
});

const subjectTrackerRoute = protectedRoute({
  method: 'get',
  path: '/v1/subjects/{subjectId}/access-log',
  tags: ['audit'],
  summary: "A subject's data tracker: who accessed their data, when, what and why (auditors)",
  scopes: ['audit:read'],
  request: { params: z.object({ subjectId: SubjectIdSchema }), headers: PurposeHeadersSchema, query: pageQuery },
  responses: { 200: { description: 'Newest first', content: { 'application/json': { schema: TrackerPageSchema } } }, ...errorResponses(400, 401, 403, 404) },
});

const ownTrackerRoute = protectedRoute({
  method: 'get',
  path: '/v1/me/access-log',
  tags: ['audit'],
  summary: 'The data tracker of the subject a subject-scoped token was issued for',
  scopes: ['tracker:read'],
  request: { query: pageQuery },
  responses: { 200: { description: 'Newest first', content: { 'application/json': { schema: TrackerPageSchema } } }, ...errorResponses(400, 401, 403, 404) },
});

const issueTokenRoute = protectedRoute({
  method: 'post',
  path: '/v1/subjects/{subjectId}/tracker-token',
  tags: ['audit'],
  summary: "Issue a short-lived token with which a signed-in citizen reads their own data tracker (portals)",
  description:
    'The portal vouches that the person signed in is this subject. The token carries only `tracker:read` and ' +
    'the subject id; it works on GET /v1/me/access-log and nowhere else.',
  scopes: ['tracker:issue'],
  request: { params: z.object({ subjectId: SubjectIdSchema }), headers: PurposeHeadersSchema },
  responses: {
    201: {
      description: 'A subject-scoped access token',
      content: {
        'application/json': {
          schema: z.object({ access_token: z.string(), token_type: z.literal('Bearer'), expires_in: z.number().int(), scope: z.string() }),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerTrackerRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(subjectTrackerRoute, async (c) => {
    const context = accessContext(c, c.req.valid('header'));
    const query = c.req.valid('query');
    const page = await readDataTracker(context.db, context, { subjectId: c.req.valid('param').subjectId, ...query });
    return c.json(page, 200);
  });

  app.openapi(ownTrackerRoute, async (c) => {
    const { principal, services, requestId } = c.var;
    const subjectId = principal.subjectId;
    if (!subjectId) throw new ApiError('forbidden', 'This route needs a subject-scoped token.');
    const page = await readDataTracker(
      services.db,
      { principal, purpose: { purpose: 'subject_request', caseRef: null, operatorId: null }, requestId },
      { subjectId, ...c.req.valid('query') },
    );
    return c.json(page, 200);
  });

  app.openapi(issueTokenRoute, async (c) => {
    const context = accessContext(c, c.req.valid('header'));
    const { subjectId } = c.req.valid('param');
    const { services, principal } = c.var;
    const issued = await services.db.transaction(async (tx) => {
      const [subject] = await tx.select({ id: subjects.id }).from(subjects).where(eq(subjects.id, subjectId));
      if (!subject) throw new ApiError('not_found', 'No such subject.');
      await recordAudit(tx, {
        actor: principal,
        operatorId: context.purpose.operatorId,
        action: 'subject.tracker_token.issue',
        subjectRef: subjectId,
        purpose: context.purpose.purpose,
        caseRef: context.purpose.caseRef,
        outcome: 'allowed',
        requestId: context.requestId,
      });
      return services.tokens.issueForSubject({ id: principal.clientId, kind: principal.kind, departmentCode: principal.departmentCode }, subjectId, services.config.subjectTokenTtlSeconds);
    });
    return c.json({ access_token: issued.accessToken, token_type: 'Bearer' as const, expires_in: issued.expiresIn, scope: issued.scopes.join(' ') }, 201);
  });
}
