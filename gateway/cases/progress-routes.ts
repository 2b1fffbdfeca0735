/**
 * The applicant's progress look-up: public by design (a citizen has no client credentials), so it
 * is rate limited per address, and wrong guesses lock the case number (see progress.ts).
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import { clientAddress, rateLimit } from '../platform/rate-limit.js';
import { errorResponses, publicRoute } from '../platform/routes.js';
import { ApplicantResultSchema } from '../results/schemas.js';
import { lookUpProgress } from './progress.js';

const ProgressSchema = z
  .object({
    caseNumber: z.string(),
    item: z.object({ code: z.string(), name: z.string(), nameZh: z.string() }),
    status: z.string(),
    acceptedOn: z.string().nullable(),
    dueOn: z.string().nullable(),
    completedOn: z.string().nullable(),
    clockStopped: z.boolean(),
    centre: z
      .object({ code: z.string(), name: z.string(), address: z.string(), openingHours: z.string() })
      .nullable()
      .openapi({ description: 'The service centre handling the case now: where to ask' }),
    acceptedAt: z.object({ code: z.string(), name: z.string() }).nullable(),
    departments: z.array(
      z.object({
        department: z.string(),
        delivered: z.boolean(),
        status: z.string().nullable(),
        reason: z.string().nullable().openapi({ description: "The department's own words when it refused its part or waits for the applicant (补正)" }),
        stage: z.number().int().openapi({ description: 'The stage of a staged item this part belongs to (1 = first)' }),
        withdrawn: z.boolean().openapi({ description: 'Withdrawn because another department refused the case' }),
      }),
    ),
    toSupply: z.array(z.object({ requirementCode: z.string(), name: z.string(), dueOn: z.string().nullable() })),
    timeline: z.array(z.object({ at: z.string(), kind: z.string(), department: z.string().nullable(), status: z.string().nullable() })),
    result: ApplicantResultSchema.nullable().openapi({ description: 'How the result reaches the applicant: the pick-up code (only here), where to collect, and how, in Chinese and English' }),
  })
  .openapi('CaseProgress');

const progressRoute = publicRoute({
  method: 'post',
  path: '/v1/progress',
  tags: ['cases'],
  summary: "An applicant looks up their case's progress with its number and the last 4 characters of their identifier",
  description: 'No credentials. Rate limited per address; a case number is locked for 15 minutes after repeated wrong checks. A wrong number and a wrong check answer the same 404.',
  middleware: [rateLimit((c) => c.get('services').progressLookupLimiter, (c) => `progress:${clientAddress(c)}`)] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({ caseNumber: z.string().regex(/^OW\d{14}$/, 'case numbers look like OW20261130000123'), check: z.string().regex(/^[0-9A-Za-z]{4}$/, 'the last 4 characters of the ID number or credit code') }).strict(),
        },
      },
    },
  },
  responses: { 200: { description: 'Progress', content: { 'application/json': { schema: ProgressSchema } } }, ...errorResponses(400, 404, 429) },
});

export function registerProgressRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(progressRoute, async (c) => {
    const services = c.get('services');
    return c.json(await lookUpProgress(services.db, services.config.progress, c.req.valid('json'), c.get('requestId')), 200);
  });
}
