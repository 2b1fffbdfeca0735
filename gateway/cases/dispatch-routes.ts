/**
 * Dispatch administration: requeueing a dead-lettered delivery once whatever made the department
 * refuse it has been fixed. Dead letters are found through supervision; this is the action.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import { errorResponses } from '../platform/routes.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { protectedRoute } from '../auth/protected-route.js';
import { markCancellationHandled, requeueDeadDelivery } from './dispatch.js';

const DeliveryIdParam = z.object({
  id: z
    .string()
    .regex(/^dlv_[A-Za-z0-9_-]{1,100}$/, bilingualCheck('delivery ids start with dlv_', '投递标识以 dlv_ 开头'))
    .openapi({ example: 'dlv_V1StGXR8Z5jdHi6BmyT2' }),
});

const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: 'Also the idempotency key the department deduplicates by' }),
    caseId: z.string(),
    caseNumber: z.string(),
    departmentCode: z.string(),
    status: z.enum(['pending', 'delivered', 'dead', 'held', 'refused', 'cancelled']),
    attempts: z.number().int().openapi({ description: 'Attempts since the delivery was written or last requeued' }),
    nextAttemptAt: z.string().openapi({ format: 'date-time' }),
    lastError: z
      .string()
      .nullable()
      .openapi({ description: 'Error code and department message of the last failed attempt' }),
    departmentReference: z.string().nullable(),
    departmentStatus: z.string().nullable(),
    createdAt: z.string().openapi({ format: 'date-time' }),
    deliveredAt: z.string().nullable().openapi({ format: 'date-time' }),
    deadAt: z.string().nullable().openapi({ format: 'date-time' }),
    departmentMessage: z
      .string()
      .nullable()
      .openapi({ description: "The department's own words with its last status or refusal, verbatim" }),
    cancelStatus: z.string().nullable().openapi({
      description:
        'After another department refused the case: pending, cancelled, manual (withdraw by hand) or handled',
    }),
  })
  .openapi('Delivery');

const retryRoute = protectedRoute({
  method: 'post',
  path: '/v1/deliveries/{id}/retry',
  operationId: 'retryDelivery',
  tags: ['cases'],
  summary: 'Requeue a dead-lettered delivery of a case to its department',
  description:
    'Puts the delivery back in the queue with a fresh set of attempts; a delivery worker picks it up at once. ' +
    'The delivery keeps its id, which is the idempotency key the department deduplicates by, so a department that ' +
    'did receive an earlier attempt does not register the case twice. Only dead-lettered deliveries can be requeued (409 otherwise), ' +
    'and only while the case runs (409 case_already_final once it is concluded: a refused case is never sent on).',
  scopes: ['catalogue:admin'],
  request: { params: DeliveryIdParam },
  responses: {
    200: { description: 'The requeued delivery', content: { 'application/json': { schema: DeliverySchema } } },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const cancellationHandledRoute = protectedRoute({
  method: 'post',
  path: '/v1/deliveries/{id}/cancellation-handled',
  operationId: 'recordCancellationHandled',
  tags: ['cases'],
  summary: "Record that a refused joint case's part was withdrawn from the department's system by hand",
  description:
    "When another department refused a joint case, each other part is withdrawn through its department's cancel " +
    'where the system offers one; ' +
    'otherwise supervision warns (`cancel_by_hand`) until someone withdraws it there and records it here. Only a ' +
    'delivery waiting for that (409 otherwise).',
  scopes: ['catalogue:admin'],
  request: {
    params: DeliveryIdParam,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({ note: z.string().trim().min(1).max(500).openapi({ example: '已电话联系公安户籍科撤件' }) })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The delivery, its withdrawal recorded',
      content: { 'application/json': { schema: DeliverySchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

export function registerDispatchRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(cancellationHandledRoute, async (c) => {
    const { db, access } = c.get('services');
    const view = await markCancellationHandled(db, access.protection, {
      principal: c.get('principal'),
      requestId: c.get('requestId'),
      deliveryId: c.req.valid('param').id,
      note: c.req.valid('json').note,
    });
    return c.json(view, 200);
  });
  app.openapi(retryRoute, async (c) => {
    const { db, access, deliveryWorker } = c.get('services');
    const view = await requeueDeadDelivery(db, access.protection, {
      principal: c.get('principal'),
      requestId: c.get('requestId'),
      deliveryId: c.req.valid('param').id,
    });
    deliveryWorker.wake();
    return c.json(view, 200);
  });
}
