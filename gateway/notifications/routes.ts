/**
 * Notifications API: a case's SMS to its applicant (for whoever may read the case), and the
 * outbox's dead letters with their requeue (operations, like deliveries). Numbers are masked.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { contextWithPurpose } from '../access/request.js';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { OPERATOR_HEADER, PURPOSE_HEADER } from '../platform/purpose.js';
import { errorResponses } from '../platform/routes.js';
import { protectedRoute } from '../auth/protected-route.js';
import { caseNotifications, listNotifications, requeueDeadNotification } from './notifications.js';
import { NotificationSchema } from './schemas.js';

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const CaseIdSchema = z
  .string()
  .regex(/^case_[A-Za-z0-9_-]{16}$/, bilingualCheck('case ids look like case_…', '办件标识形如 case_…'))
  .openapi({ example: 'case_V1StGXR8Z5jdHi6B' });
const NotificationIdParam = z.object({
  id: z
    .string()
    .regex(/^ntf_[A-Za-z0-9_-]{1,100}$/, bilingualCheck('notification ids start with ntf_', '通知标识以 ntf_ 开头'))
    .openapi({ example: 'ntf_V1StGXR8Z5jdHi6BmyT2' }),
});
const ReadHeaders = z.object({
  [OPERATOR_HEADER]: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/)
    .openapi({ example: 'op-xian-0417' })
    .optional(),
  [PURPOSE_HEADER]: z.string().optional().openapi({
    description:
      'supervision: a centre above the one handling the case reads it for supervision (directors and supervisors)',
  }),
});

const caseNotificationsRoute = protectedRoute({
  method: 'get',
  path: '/v1/cases/{caseId}/notifications',
  operationId: 'listCaseNotifications',
  personalData: 'case',
  tags: ['cases'],
  summary:
    "The SMS the case's applicant was sent or is due: template, status, the platform's id and the receipt (回执), number masked",
  scopes: ['cases:read'],
  request: { params: z.object({ caseId: CaseIdSchema }), headers: ReadHeaders },
  responses: {
    200: json(z.object({ items: z.array(NotificationSchema) }), 'Oldest first'),
    ...errorResponses(401, 403, 404),
  },
});

const listRoute = protectedRoute({
  method: 'get',
  path: '/v1/notifications',
  operationId: 'listNotifications',
  tags: ['cases'],
  summary: 'Applicant notifications in one status across cases (dead letters by default), newest first; numbers masked',
  scopes: ['catalogue:admin'],
  request: {
    query: z.object({
      status: z.enum(['pending', 'sent', 'delivered', 'failed', 'dead', 'superseded']).default('dead'),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
  },
  responses: {
    200: json(z.object({ items: z.array(NotificationSchema) }), 'The notifications'),
    ...errorResponses(400, 401, 403),
  },
});

const retryRoute = protectedRoute({
  method: 'post',
  path: '/v1/notifications/{id}/retry',
  operationId: 'retryNotification',
  tags: ['cases'],
  summary: 'Requeue a dead-lettered applicant notification',
  description:
    'Puts the notification back in the queue with a fresh set of attempts; a notification worker picks it up at once. It keeps its id, ' +
    'which is the outId the SMS platform recognises a resend by. Only dead-lettered notifications can be requeued ' +
    "(409 otherwise). The phone number's rate limit still applies.",
  scopes: ['catalogue:admin'],
  request: { params: NotificationIdParam },
  responses: { 200: json(NotificationSchema, 'The requeued notification'), ...errorResponses(400, 401, 403, 404, 409) },
});

export function registerNotificationRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(caseNotificationsRoute, async (c) => {
    const headers = c.req.valid('header');
    const stated = headers[PURPOSE_HEADER];
    const purposeCodes = c.get('services').config.purposeCodes;
    if (stated !== undefined && !purposeCodes.includes(stated))
      throw new ApiError('purpose_unknown', message('purpose.unknown', { purposeCodes: purposeCodes.join(', ') }), {
        purposeCodes,
      });
    const context = contextWithPurpose(c, {
      purpose: stated ?? null,
      caseRef: null,
      operatorId: headers[OPERATOR_HEADER] ?? null,
    });
    return c.json({ items: await caseNotifications(context, c.req.valid('param').caseId) }, 200);
  });

  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    return c.json({ items: await listNotifications(c.get('services').db, query) }, 200);
  });

  app.openapi(retryRoute, async (c) => {
    const services = c.get('services');
    const view = await requeueDeadNotification(services.db, {
      principal: c.get('principal'),
      requestId: c.get('requestId'),
      notificationId: c.req.valid('param').id,
    });
    services.notifications.wake();
    return c.json(view, 200);
  });
}
