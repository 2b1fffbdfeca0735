/**
 * The applicant's progress look-up and rating (好差评): public by design (a citizen has no client
 * credentials), so both are rate limited per address together, and wrong guesses lock the case
 * number whichever door they came through (see proof.ts).
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import { clientAddress, rateLimit } from '../platform/rate-limit.js';
import { errorResponses, publicRoute } from '../platform/routes.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { ApplicantResultSchema } from '../results/schemas.js';
import { COMMENT_MAX_LENGTH, rateCase } from '../ratings/ratings.js';
import { RESULT_DOCUMENT_PATH } from '../results/results.js';
import { downloadResultDocument, lookUpProgress } from './progress.js';
import type { ProofStore } from './proof.js';

/** What checks an applicant's proof (case number and the ID number's last four). */
const proofStore = (services: Pick<ProofStore, 'db'> & { access: Pick<ProofStore, 'protection'> }): ProofStore => ({
  db: services.db,
  protection: services.access.protection,
});

const CaseNumberSchema = z
  .string()
  .regex(/^OW\d{14}$/, bilingualCheck('case numbers look like OW20261130000123', '办件编号形如 OW20261130000123'))
  .openapi({ example: 'OW20261130000123' });
const CheckSchema = z
  .string()
  .regex(
    /^[0-9A-Za-z]{4}$/,
    bilingualCheck(
      'the last 4 characters of the ID number or credit code',
      '应为身份证号码或统一社会信用代码的后 4 位',
    ),
  )
  .openapi({ example: '002X' });

const FollowUpSchema = z
  .object({
    state: z.enum(['open', 'overdue', 'answered']),
    dueOn: z.string().openapi({ description: 'The last working day for the centre to answer' }),
    answer: z.string().nullable().openapi({ description: "The centre's answer, once given" }),
    contacted: z.boolean().nullable().openapi({ description: 'Whether the centre reached the applicant' }),
    answeredAt: z.string().nullable(),
  })
  .openapi('RatingFollowUp');

const ApplicantRatingSchema = z
  .object({
    score: z.number().int().min(1).max(5),
    ratedAt: z.string(),
    hasComment: z.boolean().openapi({ description: 'The comment itself is not shown again to whoever has the proof' }),
    followUp: FollowUpSchema.nullable().openapi({
      description: 'The follow-up of a 差评 (score ≤ 2); null for a good rating',
    }),
  })
  .openapi('ApplicantRating');

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
        reason: z.string().nullable().openapi({
          description: "The department's own words when it refused its part or waits for the applicant (补正)",
        }),
        stage: z.number().int().openapi({ description: 'The stage of a staged item this part belongs to (1 = first)' }),
        withdrawn: z.boolean().openapi({ description: 'Withdrawn because another department refused the case' }),
      }),
    ),
    toSupply: z.array(z.object({ requirementCode: z.string(), name: z.string(), dueOn: z.string().nullable() })),
    timeline: z.array(
      z.object({ at: z.string(), kind: z.string(), department: z.string().nullable(), status: z.string().nullable() }),
    ),
    result: ApplicantResultSchema.nullable().openapi({
      description:
        'How the result reaches the applicant: the pick-up code (only here), where to collect, and how, in Chinese and English',
    }),
    rating: ApplicantRatingSchema.nullable().openapi({
      description: "The applicant's rating (好差评); null: not rated",
    }),
    canRate: z.boolean().openapi({ description: 'Completed and not rated yet: POST /v1/progress/rating' }),
  })
  .openapi('CaseProgress');

const LookupBodySchema = z.object({ caseNumber: CaseNumberSchema, check: CheckSchema }).strict();

const progressRoute = publicRoute({
  method: 'post',
  path: '/v1/progress',
  operationId: 'lookUpProgress',
  tags: ['cases'],
  summary: "An applicant looks up their case's progress with its number and the last 4 characters of their identifier",
  description:
    'No credentials. Rate limited per address; a case number is locked for 15 minutes after repeated wrong checks. A ' +
    'wrong number and a wrong check answer the same 404.',
  middleware: [
    rateLimit(
      (c) => c.get('services').progressLookupLimiter,
      (c) => `progress:${clientAddress(c)}`,
    ),
  ] as const,
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
  responses: {
    200: { description: 'Progress', content: { 'application/json': { schema: ProgressSchema } } },
    ...errorResponses(400, 404, 429),
  },
});

const ratingRoute = publicRoute({
  method: 'post',
  path: '/v1/progress/rating',
  operationId: 'rateCase',
  tags: ['cases'],
  summary: 'An applicant rates their completed case (好差评): 1–5 and a comment, proved as in the progress look-up',
  description:
    'No credentials: the case number and the last 4 characters of the identifier, as for `POST /v1/progress`, ' +
    'with the same 404 for an unknown number or a wrong check and the same count of wrong checks (a locked case ' +
    'number is a 429). Only a completed case (`409 case_not_rateable`), once (`409 rating_exists`); refusals write ' +
    'nothing. A score of 2 or less (差评) opens a follow-up the centre answers within RATING_FOLLOW_UP_WORKING_DAYS ' +
    'working days.',
  middleware: [
    rateLimit(
      (c) => c.get('services').progressLookupLimiter,
      (c) => `progress:${clientAddress(c)}`,
    ),
  ] as const,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              caseNumber: CaseNumberSchema,
              check: CheckSchema,
              score: z
                .number()
                .int()
                .min(1)
                .max(5)
                .openapi({ description: '5 very satisfied (非常满意) … 1 very dissatisfied (非常不满意)', example: 5 }),
              comment: z
                .string()
                .max(COMMENT_MAX_LENGTH)
                .optional()
                .openapi({
                  description: `At most ${COMMENT_MAX_LENGTH} characters`,
                  example: '窗口人员服务热情，一次办好。',
                }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: {
      description: 'Rated',
      content: {
        'application/json': {
          schema: ApplicantRatingSchema.extend({
            caseNumber: z.string(),
            message: z.object({ zh: z.string(), en: z.string() }),
          }).openapi('RatingReceipt'),
        },
      },
    },
    ...errorResponses(400, 404, 409, 429),
  },
});

const ResultDocumentSchema = z
  .object({
    caseNumber: z.string(),
    fileName: z.string(),
    mediaType: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    contentBase64: z.string().openapi({ description: 'The document the department issued (PDF or OFD), base64' }),
    envelope: z.string().openapi({
      description:
        "The gateway's compact JWS (ES256) over the certificate and the document's SHA-256: verify offline against " +
        '/.well-known/jwks.json or at POST /v1/certificates/verify',
    }),
    seal: z.string().nullable().openapi({
      description:
        "The gateway's electronic seal over the document: a GB/T 38540-2020 SES_Signature (DER, base64) with SM2/SM3. Verify at POST /v1/seals/verify or offline with OpenSSL (docs/national-cryptography.md); null for a result stored before seals",
    }),
    departmentSeal: z.string().nullable().openapi({
      description:
        "The issuing department's own electronic seal over the document (SES_Signature, DER, base64), verified by the gateway on receipt; null when it sent none",
    }),
    certificate: ApplicantResultSchema.shape.certificate.unwrap(),
  })
  .openapi('ResultDocument');

const resultDocumentRoute = publicRoute({
  method: 'post',
  path: RESULT_DOCUMENT_PATH,
  operationId: 'downloadResultDocument',
  tags: ['cases'],
  summary: 'An applicant downloads their electronic result (电子证照) with the same proof as the progress look-up',
  description:
    "No credentials: the case number and the last 4 characters of the applicant's identifier, rate limited and " +
    'locked out together with the look-up. Answers the signed document once the result is `issued`; `409 ' +
    'result_document_not_available` otherwise, and `409 result_document_revoked` once its department revoked it. ' +
    'Audited as a read of the certificate.',
  middleware: [
    rateLimit(
      (c) => c.get('services').progressLookupLimiter,
      (c) => `progress:${clientAddress(c)}`,
    ),
  ] as const,
  request: { body: { required: true, content: { 'application/json': { schema: LookupBodySchema } } } },
  responses: {
    200: {
      description: 'The signed result document',
      content: { 'application/json': { schema: ResultDocumentSchema } },
    },
    ...errorResponses(400, 404, 409, 429),
  },
});

export function registerProgressRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(progressRoute, async (c) => {
    const services = c.get('services');
    const lookup = c.req.valid('json');
    const now = services.clock.now();
    const progress = await lookUpProgress(
      proofStore(services),
      services.config.progress,
      lookup,
      c.get('requestId'),
      now,
    );
    return c.json(progress, 200);
  });

  app.openapi(ratingRoute, async (c) => {
    const services = c.get('services');
    const { followUpWorkingDays } = services.config.ratings;
    const settings = { limits: services.config.progress, followUpWorkingDays };
    const calendar = await services.calendar.current();
    const input = c.req.valid('json');
    const receipt = await rateCase(
      proofStore(services),
      calendar,
      settings,
      input,
      c.get('requestId'),
      services.clock.now(),
    );
    return c.json(receipt, 201);
  });
  app.openapi(resultDocumentRoute, async (c) => {
    const services = c.get('services');
    const documentServices = {
      db: services.db,
      protection: services.access.protection,
      blobStore: services.blobStore,
      keys: services.keys,
      envelopes: services.envelopes,
      issuer: services.config.issuer,
    };
    const answer = await downloadResultDocument(
      documentServices,
      services.config.progress,
      c.req.valid('json'),
      c.get('requestId'),
      services.clock.now(),
    );
    c.header('Cache-Control', 'no-store');
    return c.json(answer, 200);
  });
}
