/**
 * The applicant's progress look-up: public by design (a citizen has no client credentials), so it
 * is rate limited per address, and wrong guesses lock the case number (see progress.ts).
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../platform/context.js';
import { clientAddress, type FixedWindowLimiter, fixedWindowLimiter, rateLimit } from '../platform/rate-limit.js';
import { errorResponses, publicRoute } from '../platform/routes.js';
import type { GatewayServices } from '../platform/services.js';
import { ApplicantResultSchema } from '../results/schemas.js';
import { RESULT_DOCUMENT_PATH } from '../results/results.js';
import { downloadResultDocument, lookUpProgress } from './progress.js';

const limiters = new WeakMap<GatewayServices, FixedWindowLimiter>();

function limiterOf(c: Context<AppEnv>): FixedWindowLimiter {
  const services = c.get('services');
  let limiter = limiters.get(services);
  if (!limiter) {
    limiter = fixedWindowLimiter(services.config.progress.lookupsPerMinute, 60_000);
    limiters.set(services, limiter);
  }
  return limiter;
}

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

const LookupBodySchema = z
  .object({
    caseNumber: z.string().regex(/^OW\d{14}$/, 'case numbers look like OW20261130000123'),
    check: z.string().regex(/^[0-9A-Za-z]{4}$/, 'the last 4 characters of the ID number or credit code'),
  })
  .strict();

const progressRoute = publicRoute({
  method: 'post',
  path: '/v1/progress',
  tags: ['cases'],
  summary: "An applicant looks up their case's progress with its number and the last 4 characters of their identifier",
  description: 'No credentials. Rate limited per address; a case number is locked for 15 minutes after repeated wrong checks. A wrong number and a wrong check answer the same 404.',
  middleware: [rateLimit(limiterOf, (c) => `progress:${clientAddress(c)}`)] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: LookupBodySchema,
        },
      },
    },
  },
  responses: { 200: { description: 'Progress', content: { 'application/json': { schema: ProgressSchema } } }, ...errorResponses(400, 404, 429) },
});

const ResultDocumentSchema = z
  .object({
    caseNumber: z.string(),
    fileName: z.string(),
    mediaType: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    contentBase64: z.string().openapi({ description: 'The document the department issued (PDF or OFD), base64' }),
    envelope: z.string().openapi({ description: "The gateway's compact JWS (ES256) over the certificate and the document's SHA-256: verify offline against /.well-known/jwks.json or at POST /v1/certificates/verify" }),
    certificate: ApplicantResultSchema.shape.certificate.unwrap(),
  })
  .openapi('ResultDocument');

const resultDocumentRoute = publicRoute({
  method: 'post',
  path: RESULT_DOCUMENT_PATH,
  tags: ['cases'],
  summary: 'An applicant downloads their electronic result (电子证照) with the same proof as the progress look-up',
  description:
    'No credentials: the case number and the last 4 characters of the applicant\'s identifier, rate limited and locked out together with the look-up. Answers the signed document once the result is `issued`; `409 result_document_not_available` otherwise. Audited as a read of the certificate.',
  middleware: [rateLimit(limiterOf, (c) => `progress:${clientAddress(c)}`)] as const,
  request: { body: { required: true, content: { 'application/json': { schema: LookupBodySchema } } } },
  responses: { 200: { description: 'The signed result document', content: { 'application/json': { schema: ResultDocumentSchema } } }, ...errorResponses(400, 404, 409, 429) },
});

export function registerProgressRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(progressRoute, async (c) => {
    const services = c.get('services');
    // The look-up's clock: failures and lock-out counted on one time base with the download's.
    return c.json(await lookUpProgress(services.db, services.config.progress, c.req.valid('json'), c.get('requestId')), 200);
  });
  app.openapi(resultDocumentRoute, async (c) => {
    const services = c.get('services');
    const documentServices = { db: services.db, blobStore: services.blobStore, keys: services.keys, envelopes: services.envelopes, issuer: services.config.issuer };
    const answer = await downloadResultDocument(documentServices, services.config.progress, c.req.valid('json'), c.get('requestId'));
    c.header('Cache-Control', 'no-store');
    return c.json(answer, 200);
  });
}
