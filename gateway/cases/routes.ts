/**
 * Cases API for window systems (open, notice, attach, fetch certificates, submit, read, timeline)
 * and the status callback departments push to. A case is its own purpose: every audit entry it
 * writes carries its case number.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { fetchCertificates } from '../certificates/fetch.js';
import { type AccessContext, withPurpose } from '../access/context.js';
import { contextWithPurpose } from '../access/request.js';
import { SubjectIdSchema } from '../identity/routes.js';
import type { AppEnv } from '../platform/context.js';
import { OPERATOR_HEADER, PURPOSE_HEADER } from '../platform/purpose.js';
import { CaseContactSchema, MaskedContactSchema } from '../notifications/schemas.js';
import { errorResponses } from '../platform/routes.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { InstantSchema } from '../platform/time-range.js';
import { protectedRoute } from '../auth/protected-route.js';
import {
  attachFetched,
  attachMaterial,
  auditCaseRefusals,
  type CaseServices,
  caseTimeline,
  fetchPlan,
  refuseCertificatesNotHeld,
  openCase,
  readCase,
  submitCase,
  transferCase,
} from './cases.js';
import { ApiError, message } from '../platform/errors.js';
import { ResultCertificateInputSchema } from '../results/electronic.js';
import { receiveStatusCallback } from './callbacks.js';
import { collectResult } from '../results/collection.js';
import { ResultDeliveryChoiceSchema } from '../results/methods.js';
import { WindowResultSchema } from '../results/schemas.js';
import { withIdempotency } from './idempotency.js';
import { SEALED_JSON_MARK } from '../db/sealed-json.js';

const CaseIdSchema = z
  .string()
  .regex(/^case_[A-Za-z0-9_-]{16}$/, bilingualCheck('case ids look like case_…', '办件标识形如 case_…'))
  .openapi({ example: 'case_V1StGXR8Z5jdHi6B' });
const OperatorHeaders = z.object({
  [OPERATOR_HEADER]: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/)
    .openapi({ example: 'op-xian-0417' })
    .optional(),
});
/** A read may state a purpose besides the case itself: `supervision`, for a centre above the case's. */
const ReadHeaders = OperatorHeaders.extend({
  [PURPOSE_HEADER]: z.string().optional().openapi({
    description:
      'supervision: a centre above the one handling the case reads it for supervision (directors and supervisors)',
  }),
});
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
/** Deeper form data cannot be stored (JSON.stringify recurses: 100 000 levels were a 500) and no item needs it. */
const MAX_FORM_DEPTH = 32;

/** Whether `value` nests at most `maxDepth` levels; iterative, so hostile depth cannot overflow the stack. */
function nestsWithin(value: unknown, maxDepth: number): boolean {
  // Only objects and arrays are queued, each with its depth: a million-element array of numbers
  // allocates nothing per element (a record per element cost ~1 s with its collection).
  const pending: object[] = [];
  const depths: number[] = [];
  if (typeof value === 'object' && value !== null) {
    pending.push(value);
    depths.push(0);
  }
  while (pending.length > 0) {
    const next = pending.pop() as object;
    const depth = depths.pop() as number;
    if (depth >= maxDepth) return false;
    const children: unknown[] = Array.isArray(next) ? next : Object.values(next);
    for (const child of children) {
      if (typeof child !== 'object' || child === null) continue;
      pending.push(child);
      depths.push(depth + 1);
    }
  }
  return true;
}

/** Characters XML 1.0 cannot carry (C0 controls but tab, LF, CR; U+FFFE/F) and lone surrogates. */
const UNTRANSFERABLE =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether every key and text of the form can reach a department: forms travel in JSON and in
 * XML (the AMR registry), and a character XML cannot carry failed every delivery attempt.
 */
function transferable(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      if (UNTRANSFERABLE.test(next)) return false;
    } else if (Array.isArray(next)) {
      // Array indexes are no text of the form: only the items are read (no key strings made).
      for (const item of next) if (typeof item === 'object' || typeof item === 'string') pending.push(item);
    } else if (typeof next === 'object' && next !== null) {
      for (const key in next) {
        if (UNTRANSFERABLE.test(key)) return false;
        pending.push((next as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
}

const FormSchema = z
  .record(z.string(), z.unknown())
  .refine(
    (form) => nestsWithin(form, MAX_FORM_DEPTH),
    bilingualCheck(`form data may nest at most ${MAX_FORM_DEPTH} levels`, `表单数据最多嵌套 ${MAX_FORM_DEPTH} 层`),
  )
  .refine(
    transferable,
    bilingualCheck(
      'form text may not contain control characters other than tab and line breaks',
      '表单文字中除制表符和换行外不能含有控制字符',
    ),
  )
  // The stored form of a sealed value (gateway/db/sealed-json.ts): never a field of a form.
  .refine(
    (form) => !Object.hasOwn(form, SEALED_JSON_MARK),
    bilingualCheck(`${SEALED_JSON_MARK} is not a form field`, `${SEALED_JSON_MARK} 不能用作表单字段名`),
  )
  .openapi({ description: "The item's application form (see the item's formSchema)" });

const NoticeEntrySchema = z
  .object({
    requirementCode: z.string(),
    name: z.string(),
    acceptedTypes: z.array(z.string()),
    optional: z.boolean(),
    deferrableDays: z.number().int().nullable(),
    state: z.enum(['reused', 'fetched', 'handed_in', 'fetchable', 'missing', 'deferrable', 'deferred', 'optional']),
    material: z
      .object({ id: z.string(), typeCode: z.string(), provenance: z.string(), validUntil: z.string().nullable() })
      .nullable(),
    fetchableFrom: z.array(z.object({ department: z.string(), certificateType: z.string() })),
    deferredUntil: z.string().nullable(),
    party: z
      .string()
      .openapi({ description: "Whose material: applicant, or the party's role (counterparty, agent, …)" }),
    partySubjectId: z.string().nullable().openapi({
      description:
        "Whose, for a party's requirement: the party subject (each buyer's ID card is its own entry); null: the applicant's",
    }),
    reference: z.string().nullable().openapi({
      description: "The certificate number the form names for this requirement (the item's formReference); null: any",
    }),
    blocks: z
      .array(
        z.object({
          code: z.enum(['restriction_blocks_acceptance', 'certificate_reference_mismatch']),
          restriction: z
            .object({
              kind: z.enum(['mortgage', 'seizure', 'objection', 'pre_notice']),
              registeredOn: z.string(),
              party: z.string(),
            })
            .nullable(),
          message: z.object({ zh: z.string(), en: z.string() }),
        }),
      )
      .openapi({
        description:
          'Why the attached certificate stops the case (a seized flat, another number than the form names); empty: nothing',
      }),
    choices: z
      .array(
        z.object({
          certificateNumber: z.string(),
          status: z.enum(['valid', 'revoked', 'cancelled']),
          location: z.string().optional(),
        }),
      )
      .openapi({
        description:
          "The applicant's other certificates of the type, when several are held and the form names none: name one in the form",
      }),
  })
  .openapi('NoticeEntry');

const CaseSchema = z
  .object({
    id: z.string(),
    caseNumber: z.string(),
    itemCode: z.string(),
    itemName: z.string(),
    itemKind: z.enum(['immediate', 'promised', 'joint', 'escalated']),
    subjectId: z.string(),
    status: z.enum([
      'open',
      'submitted',
      'in_progress',
      'awaiting_applicant',
      'completed',
      'rejected',
      'partially_rejected',
    ]),
    openedAt: z.string(),
    submittedAt: z.string().nullable(),
    acceptedOn: z.string().nullable(),
    promisedDays: z.number().int(),
    dueOn: z.string().nullable(),
    statutoryDueOn: z.string().nullable(),
    centreCode: z
      .string()
      .nullable()
      .openapi({ description: 'The centre handling the case now (null: accepted by a window of no centre)' }),
    acceptingCentreCode: z.string().nullable().openapi({ description: 'The centre that accepted it (受理)' }),
    transfers: z.number().int().openapi({ description: 'Transfers and escalations so far' }),
    dueDatesProvisional: z.boolean().openapi({
      description:
        'A due date reaches into a year whose holidays are not loaded yet: counted by weekdays, recomputed when the year is loaded',
    }),
    clockStopped: z.boolean(),
    pausedWorkingDays: z.number().int(),
    completedOn: z.string().nullable(),
    onTime: z.boolean().nullable(),
    form: z.record(z.string(), z.unknown()),
    notice: z
      .object({
        entries: z.array(NoticeEntrySchema),
        toHandIn: z.array(z.string()),
        counts: z.object({
          required: z.number().int(),
          reused: z.number().int(),
          fetched: z.number().int(),
          handedIn: z.number().int(),
          fetchable: z.number().int(),
          missing: z.number().int(),
          deferrable: z.number().int(),
          deferred: z.number().int(),
        }),
        acceptable: z.boolean().openapi({
          description: "False: the case cannot be accepted whatever is handed in (see the entries' blocks)",
        }),
        readyToSubmit: z.boolean(),
      })
      .openapi('CaseNotice', {
        description:
          'The one-time notice (一次性告知): what is on file, what departments supply, what the applicant must bring',
      }),
    parties: z
      .array(z.object({ role: z.string(), subjectId: z.string() }))
      .openapi({ description: "The case's parties besides the applicant, by role" }),
    deliveries: z.array(
      z.object({
        department: z.string(),
        status: z.enum(['pending', 'delivered', 'dead', 'held', 'refused', 'cancelled']).openapi({
          description:
            'held: waits for an earlier stage; refused: the department refused the submission; cancelled: never ' +
            'sent, the case was refused first',
        }),
        attempts: z.number().int(),
        departmentReference: z.string().nullable(),
        departmentStatus: z.string().nullable(),
        deliveredAt: z.string().nullable(),
        lastError: z.string().nullable(),
        stage: z.number().int(),
        departmentMessage: z
          .string()
          .nullable()
          .openapi({ description: "The department's own words with its last status or refusal, verbatim" }),
        cancelStatus: z.string().nullable().openapi({
          description:
            'After another department refused the case: pending, cancelled (withdrawn through its system) or manual (withdraw by hand)',
        }),
      }),
    ),
    contact: MaskedContactSchema,
    result: WindowResultSchema.nullable().openapi({
      description:
        'How the result reaches the applicant and where it stands (never the pick-up code); null: a case opened ' +
        'before result delivery existed',
    }),
  })
  .openapi('Case');

const openRoute = protectedRoute({
  method: 'post',
  path: '/v1/cases',
  operationId: 'openCase',
  personalData: 'request',
  tags: ['cases'],
  summary: 'Open a case and get the one-time notice of everything the item needs',
  scopes: ['cases:write'],
  request: {
    headers: OperatorHeaders,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              itemCode: z.string().regex(/^[a-z][a-z0-9_]{1,59}$/),
              subjectId: SubjectIdSchema,
              form: FormSchema.optional(),
              contact: CaseContactSchema.optional(),
              resultDelivery: ResultDeliveryChoiceSchema.optional(),
              parties: z
                .array(
                  z
                    .object({
                      role: z.enum(['co_applicant', 'counterparty', 'agent', 'legal_representative']),
                      subjectId: SubjectIdSchema,
                    })
                    .strict(),
                )
                .max(12)
                .optional()
                .openapi({
                  description:
                    "The case's parties besides the applicant, each a subject resolved first (POST " +
                    '/v1/subjects/resolve): the buyer as counterparty, an agent (代办人), a legal representative. ' +
                    'co_applicant and counterparty may name several subjects (two buyers, co-owners), in order; agent ' +
                    'and legal_representative one (party_role_single); a subject once (party_duplicate)',
                }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    201: json(CaseSchema, 'Opened; `notice` says what is reused, fetchable, missing or deferrable'),
    ...errorResponses(400, 401, 403, 404, 422, 429),
  },
});

const readRoute = protectedRoute({
  method: 'get',
  path: '/v1/cases/{caseId}',
  operationId: 'getCase',
  personalData: 'case',
  tags: ['cases'],
  summary: 'A case, its current notice and its deliveries',
  scopes: ['cases:read'],
  request: { params: z.object({ caseId: CaseIdSchema }), headers: ReadHeaders },
  responses: { 200: json(CaseSchema, 'The case'), ...errorResponses(401, 403, 404) },
});

const timelineRoute = protectedRoute({
  method: 'get',
  path: '/v1/cases/{caseId}/timeline',
  operationId: 'getCaseTimeline',
  personalData: 'case',
  tags: ['cases'],
  summary: "A case's timeline: opened, materials, submission, deliveries, department statuses, clock stops, transfers",
  scopes: ['cases:read'],
  request: { params: z.object({ caseId: CaseIdSchema }), headers: ReadHeaders },
  responses: {
    200: json(
      z.object({
        items: z.array(
          z.object({
            at: z.string(),
            kind: z.string(),
            department: z.string().nullable(),
            detail: z.record(z.string(), z.unknown()),
          }),
        ),
      }),
      'Oldest first',
    ),
    ...errorResponses(401, 403, 404),
  },
});

const attachRoute = protectedRoute({
  method: 'post',
  path: '/v1/cases/{caseId}/materials',
  operationId: 'attachCaseMaterial',
  personalData: 'case',
  tags: ['cases'],
  summary: "Attach one of the applicant's materials to a requirement (upload it first as a material)",
  scopes: ['cases:write'],
  request: {
    params: z.object({ caseId: CaseIdSchema }),
    headers: OperatorHeaders,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              requirementCode: z.string().regex(/^[a-z][a-z0-9_]{1,59}$/),
              materialId: z
                .string()
                .regex(/^mat_[A-Za-z0-9_-]{1,64}$/)
                .openapi({ example: 'mat_4kT9wQz2LmXc8RbN' }),
              partySubjectId: SubjectIdSchema.optional().openapi({
                description:
                  "For a party's requirement whose role has several subjects (two buyers): whose material it is " +
                  '(party_subject_required without it); optional where the role has one',
              }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: json(CaseSchema, 'Attached; the notice is updated'),
    ...errorResponses(400, 401, 403, 404, 409, 422),
  },
});

const fetchRoute = protectedRoute({
  method: 'post',
  path: '/v1/cases/{caseId}/certificates',
  operationId: 'fetchCaseCertificates',
  personalData: 'case',
  tags: ['cases'],
  summary:
    'Fetch every fetchable requirement from its issuing department (the certificate flow) and attach the results; a number the form names that its holder does not hold is 422 certificate_not_held, nothing attached',
  scopes: ['cases:write', 'certificates:read'],
  request: {
    params: z.object({ caseId: CaseIdSchema }),
    headers: OperatorHeaders,
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z.object({ deadlineMs: z.number().int().min(100).max(60_000).optional() }).strict(),
        },
      },
    },
  },
  responses: {
    200: json(
      z.object({
        case: CaseSchema,
        results: z.array(
          z.object({
            requirementCode: z.string(),
            partySubjectId: z.string().nullable(),
            certificateType: z.string(),
            status: z.string(),
            department: z.string().nullable(),
            error: z.object({ code: z.string(), message: z.string() }).nullable(),
          }),
        ),
      }),
      'What each department answered, and the updated case',
    ),
    // 422 certificate_not_held: the form names a certificate number its holder does not hold; nothing attached.
    ...errorResponses(400, 401, 403, 404, 409, 422),
  },
});

const submitRoute = protectedRoute({
  method: 'post',
  path: '/v1/cases/{caseId}/submit',
  operationId: 'submitCase',
  personalData: 'case',
  tags: ['cases'],
  summary:
    'Submit the case: accepted, due dates set, one delivery per department written with it (idempotent by Idempotency-Key)',
  scopes: ['cases:write'],
  request: {
    params: z.object({ caseId: CaseIdSchema }),
    headers: OperatorHeaders.extend({
      'idempotency-key': z.string().optional().openapi({
        description:
          'Required: a unique value per submission (e.g. a UUID); a repeat is answered with the case as it is now (Idempotent-Replayed: true)',
      }),
    }),
    body: {
      required: false,
      content: { 'application/json': { schema: z.object({ form: FormSchema.optional() }).strict() } },
    },
  },
  responses: {
    200: json(CaseSchema, 'Submitted (a repeat of this key: the case as it is now)'),
    ...errorResponses(400, 401, 403, 404, 409, 422, 429, 503),
  },
});

const transferRoute = protectedRoute({
  method: 'post',
  path: '/v1/cases/{caseId}/transfer',
  operationId: 'transferCase',
  personalData: 'case',
  tags: ['cases'],
  summary: 'Transfer a case to another centre that handles its item (就近办、异地受理、跨域通办); the deadline runs on',
  scopes: ['cases:write'],
  request: {
    params: z.object({ caseId: CaseIdSchema }),
    headers: OperatorHeaders,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              toCentre: z
                .string()
                .regex(/^[1-8][0-9]{8}$/, bilingualCheck('a centre code is 9 digits', '服务中心代码为 9 位数字'))
                .openapi({ example: '610113000' }),
              reason: z.string().trim().min(1).max(500).openapi({ example: '由区县中心审批' }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: json(CaseSchema, 'Transferred: the case is at the new centre; both see it'),
    ...errorResponses(400, 401, 403, 404, 409),
  },
});

const callbackRoute = protectedRoute({
  method: 'post',
  path: '/v1/case-status-callbacks',
  operationId: 'reportCaseStatus',
  personalData: 'request',
  tags: ['cases'],
  summary: 'A department pushes the status of its part of a case delivered to it',
  description:
    'With `completed`, a department that issues the result as a certificate sends it in `resultCertificate` (电子证照: ' +
    'the item must declare it as its `resultCertificate`). A malformed or undeclared document is `422 ' +
    'result_certificate_invalid` and nothing is applied: the case stays as it was.',
  scopes: ['cases:status'],
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              caseNumber: z
                .string()
                .regex(/^OW\d{14}$/)
                .openapi({ example: 'OW20261130000123' }),
              eventId: z
                .string()
                .min(1)
                .max(100)
                .openapi({ description: "The department's unique id of this event; a replay is refused" }),
              status: z.enum(['received', 'in_progress', 'awaiting_applicant', 'completed', 'rejected']),
              occurredAt: InstantSchema,
              message: z.string().max(500).optional(),
              resultCertificate: ResultCertificateInputSchema.optional(),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: json(z.object({ caseNumber: z.string(), caseStatus: z.string(), dueOn: z.string().nullable() }), 'Applied'),
    ...errorResponses(400, 401, 403, 404, 409, 422),
  },
});

const collectionRoute = protectedRoute({
  method: 'post',
  path: '/v1/cases/{caseId}/result/collection',
  operationId: 'collectCaseResult',
  personalData: 'case',
  tags: ['cases'],
  summary: 'Hand over the result at the window: the applicant says their pick-up code (窗口领取)',
  description:
    'The window never sees the code: the applicant has it from the SMS or the progress look-up. A wrong code is `422 ' +
    'pickup_code_mismatch` (counted); the fifth wrong code locks collection for 30 minutes (`429 ' +
    'pickup_code_locked`); a collected result is `409 result_already_collected`.',
  scopes: ['cases:write'],
  request: {
    params: z.object({ caseId: CaseIdSchema }),
    headers: OperatorHeaders,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              pickupCode: z
                .string()
                .regex(/^\d{6}$/, bilingualCheck('a pick-up code is 6 digits', '取件码为 6 位数字'))
                .openapi({ example: '428613' }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: json(
      z.object({ caseNumber: z.string(), result: WindowResultSchema }).openapi('ResultCollection'),
      'Handed over: on the timeline (result_collected) and the access log',
    ),
    ...errorResponses(400, 401, 403, 404, 409, 422, 429),
  },
});

/**
 * A case route's context: its purpose is the case itself (the service sets the case reference),
 * and on reads a stated purpose besides (`supervision`), one of the configured codes.
 */
function caseContext(c: Context<AppEnv>, operatorId: string | undefined, statedPurpose?: string): AccessContext {
  const purposeCodes = c.get('services').config.purposeCodes;
  if (statedPurpose !== undefined && !purposeCodes.includes(statedPurpose)) {
    throw new ApiError('purpose_unknown', message('purpose.unknown', { purposeCodes: purposeCodes.join(', ') }), {
      purposeCodes,
    });
  }
  return contextWithPurpose(c, { purpose: statedPurpose ?? null, caseRef: null, operatorId: operatorId ?? null });
}

function caseServices(c: Context<AppEnv>): CaseServices {
  const services = c.get('services');
  return {
    departments: services.departments,
    reference: services.access.reference,
    calendar: () => services.calendar.current(),
    clock: services.clock,
    identifierProbes: services.identifierProbeLimiter,
  };
}

export function registerCaseRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(openRoute, async (c) => {
    const view = await openCase(
      caseContext(c, c.req.valid('header')[OPERATOR_HEADER]),
      caseServices(c),
      c.req.valid('json'),
    );
    return c.json(view, 201);
  });

  app.openapi(readRoute, async (c) => {
    const headers = c.req.valid('header');
    return c.json(
      await readCase(
        caseContext(c, headers[OPERATOR_HEADER], headers[PURPOSE_HEADER]),
        caseServices(c),
        c.req.valid('param').caseId,
      ),
      200,
    );
  });

  app.openapi(collectionRoute, async (c) => {
    const answer = await collectResult(
      caseContext(c, c.req.valid('header')[OPERATOR_HEADER]),
      c.req.valid('param').caseId,
      c.req.valid('json'),
      c.get('services').clock.now(),
    );
    return c.json(answer, 200);
  });

  app.openapi(timelineRoute, async (c) => {
    const headers = c.req.valid('header');
    return c.json(
      {
        items: await caseTimeline(
          caseContext(c, headers[OPERATOR_HEADER], headers[PURPOSE_HEADER]),
          c.req.valid('param').caseId,
        ),
      },
      200,
    );
  });

  app.openapi(transferRoute, async (c) => {
    const view = await transferCase(
      caseContext(c, c.req.valid('header')[OPERATOR_HEADER]),
      caseServices(c),
      c.req.valid('param').caseId,
      c.req.valid('json'),
    );
    return c.json(view, 200);
  });

  app.openapi(attachRoute, async (c) => {
    const view = await attachMaterial(
      caseContext(c, c.req.valid('header')[OPERATOR_HEADER]),
      caseServices(c),
      c.req.valid('param').caseId,
      c.req.valid('json'),
    );
    return c.json(view, 200);
  });

  app.openapi(fetchRoute, async (c) => {
    const services = c.get('services');
    const caseId = c.req.valid('param').caseId;
    const context = caseContext(c, c.req.valid('header')[OPERATOR_HEADER]);
    const body = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : {};
    const { row, planned, numbers } = await fetchPlan(context, caseServices(c), caseId);
    const results: {
      requirementCode: string;
      partySubjectId: string | null;
      certificateType: string;
      status: string;
      department: string | null;
      error: { code: string; message: string } | null;
    }[] = [];
    const attached: {
      requirementCode: string;
      partySubjectId: string | null;
      materialId: string;
      source: 'stored' | 'department';
    }[] = [];
    if (planned.length > 0) {
      const fetchContext = {
        ...withPurpose(context, { ...context.purpose, caseRef: row.caseNumber }),
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
        signal: c.req.raw.signal,
      };
      // One fetch per subject of the case: the applicant's certificates, and each party subject's (each buyer's ID card).
      const subjectIds = [...new Set(planned.map((entry) => entry.subjectId))];
      const answers = await Promise.all(
        subjectIds.map(async (subjectId) => {
          const types = [
            ...new Set(planned.filter((entry) => entry.subjectId === subjectId).map((entry) => entry.certificateType)),
          ];
          const typeNumbers = Object.fromEntries(Object.entries(numbers).filter(([type]) => types.includes(type)));
          const answer = await fetchCertificates(fetchContext, subjectId, {
            types,
            numbers: typeNumbers,
            // Decided below per requirement, with the case's words, once every subject has answered.
            refuseNotHeld: false,
            ...(body.deadlineMs ? { deadlineMs: body.deadlineMs } : {}),
          });
          return [subjectId, answer] as const;
        }),
      );
      const bySubject = new Map(answers);
      refuseCertificatesNotHeld(
        planned,
        bySubject,
        numbers,
        await services.access.reference.materialTypes(services.db, Object.keys(numbers)),
      );
      for (const { requirementCode, partySubjectId, certificateType, subjectId } of planned) {
        const result = bySubject.get(subjectId)?.results.find((entry) => entry.certificateType === certificateType);
        if (!result) continue;
        results.push({
          requirementCode,
          partySubjectId,
          certificateType,
          status: result.status,
          department: result.department,
          error: result.error,
        });
        if (result.status === 'ok' && result.material && result.source)
          attached.push({
            requirementCode,
            partySubjectId,
            materialId: result.material.id,
            source: result.stale ? 'stored' : result.source,
          });
      }
    }
    const view =
      attached.length > 0
        ? await attachFetched(context, caseServices(c), caseId, attached)
        : await readCase(context, caseServices(c), caseId);
    return c.json({ case: view, results }, 200);
  });

  app.openapi(submitRoute, async (c) => {
    const services = c.get('services');
    const caseId = c.req.valid('param').caseId;
    const headers = c.req.valid('header');
    const body = c.req.header('content-type')?.includes('json') ? c.req.valid('json') : {};
    const context = caseContext(c, headers[OPERATOR_HEADER]);
    const answer = await auditCaseRefusals(context, 'case.submit', () =>
      withIdempotency(
        services.db,
        {
          clientId: c.get('principal').clientId,
          key: headers['idempotency-key'],
          scope: `POST /v1/cases/${caseId}/submit`,
          body,
          protection: services.access.protection,
        },
        async (tx) => {
          const { view, written } = await submitCase(tx, context, caseServices(c), caseId, body);
          // The key keeps which case it submitted, not the view: a repeat is answered with the case
          // as it is now, read through the policy now (a material whose grant lapsed since is gone
          // from it), and a week of keys does not keep a copy of every form.
          return { status: 200, body: view, written, stored: { caseId: view.id } };
        },
      ),
    );
    if (answer.replayed) {
      // The case read again, as a read: the policy decides and the disclosure is on the record.
      const view = await readCase(context, caseServices(c), caseId, 'case.submit_replay');
      c.header('Idempotent-Replayed', 'true');
      return c.json(view, 200);
    }
    // The local worker delivers at once; other instances' workers find it on their next poll.
    services.deliveryWorker.wake();
    // The JSON text this request's answer was written as: not serialised twice.
    return c.body(answer.json, 200, { 'Content-Type': 'application/json' }) as never;
  });

  app.openapi(callbackRoute, async (c) => {
    const services = c.get('services');
    const callback = c.req.valid('json');
    const context = contextWithPurpose(c, { purpose: null, caseRef: callback.caseNumber, operatorId: null });
    const result = await receiveStatusCallback(
      {
        ...context,
        calendar: () => services.calendar.current(),
        blobStore: services.blobStore,
        sharingResourceOf: (department, type) => services.departments.sharingResourceOf(department, type),
        sealing: { seal: services.seal, now: () => services.clock.now() },
        now: () => services.clock.now(),
      },
      callback,
    );
    return c.json(result, 200);
  });
}
