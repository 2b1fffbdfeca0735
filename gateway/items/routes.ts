/**
 * Item catalogue API: read by every client that works with cases, replaced by administrators.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { errorResponses } from '../platform/routes.js';
import { protectedRoute } from '../auth/protected-route.js';
import { SUBMISSION_TYPE_CODE } from '../../adapters/sdk/submissions.js';
import { RESULT_DELIVERY_METHODS } from '../results/methods.js';
import { listItems, PARTY_ROLES, RESTRICTION_KINDS, requireItem, upsertItem } from './catalogue.js';

const ItemCodeSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{1,59}$/,
    bilingualCheck(
      'item codes are lower-case letters, digits and underscores',
      '事项代码由小写字母、数字和下划线组成，以字母开头',
    ),
  )
  .openapi({ example: 'household_register' });
const TypeCode = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,59}$/)
  .openapi({ example: 'household_register' });
const DepartmentCode = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{1,15}$/)
  .openapi({ example: 'PSB' });

const RequirementSchema = z
  .object({
    requirementCode: z
      .string()
      .regex(/^[a-z][a-z0-9_]{1,59}$/)
      .openapi({ example: 'household_register' }),
    name: z.string().trim().min(1).max(200),
    acceptedTypes: z.array(TypeCode).min(1).max(10),
    optional: z.boolean().default(false),
    deferrableDays: z.number().int().min(1).max(60).nullable().default(null).openapi({
      description: '容缺: may be supplied this many working days after acceptance; null: must be there at submission',
    }),
    formReference: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/)
      .openapi({ example: 'applicant' })
      .nullable()
      .default(null)
      .openapi({
        description:
          'The form field naming the one certificate meant (e.g. certificateNo): reuse, fetch and submission bind to that number',
      }),
    blockingRestrictions: z
      .array(z.enum(RESTRICTION_KINDS))
      .max(RESTRICTION_KINDS.length)
      .default([])
      .openapi({
        description:
          "Restrictions on the certificate's right (mortgage, seizure, objection, pre_notice) that make the case " +
          'unacceptable: the notice says so at once',
      }),
    party: z
      .enum(PARTY_ROLES)
      .default('applicant')
      .openapi({
        description:
          "Whose material: the applicant's, or that of the case's party in this role (the buyer's ID card); listed " +
          'only when the case has that party',
      }),
  })
  .strict()
  .openapi('ItemRequirement');

const GuideText = (max: number) => z.string().trim().min(1).max(max);

/** 办事指南: what a centre publishes about the item; public, so it must hold no personal data. */
export const ItemGuideSchema = z
  .object({
    legalBasis: z
      .array(z.object({ title: GuideText(200), article: GuideText(100).optional() }).strict())
      .min(1)
      .max(20)
      .openapi({ description: '设定依据: the laws and regulations, with the article where one applies' }),
    conditions: z.array(GuideText(500)).max(30).openapi({ description: '受理条件' }),
    procedure: z
      .array(z.object({ name: GuideText(50), description: GuideText(1000) }).strict())
      .min(1)
      .max(20)
      .openapi({ description: '办理流程, in order' }),
    fee: z
      .discriminatedUnion('free', [
        z.object({ free: z.literal(true) }).strict(),
        z
          .object({
            free: z.literal(false),
            amountYuan: z
              .string()
              .regex(
                /^\d{1,9}(\.\d{1,2})?$/,
                bilingualCheck('an amount in yuan, e.g. 80 or 12.50', '应为以元计的金额，如 80 或 12.50'),
              )
              .openapi({ example: '80.00' }),
            basis: GuideText(500).openapi({ description: '收费依据' }),
          })
          .strict(),
      ])
      .openapi({ description: '收费标准: free, or the amount in yuan with its legal basis' }),
    whereToGo: GuideText(500).openapi({ description: '办理地点和时间' }),
    onlineLevel: z.enum(['offline', 'online_application', 'fully_online']).openapi({
      description: 'offline: at a window only; online_application: applied for online; fully_online: 全程网办',
    }),
    maxTrips: z
      .union([z.literal(0), z.literal(1), z.literal(2)])
      .openapi({ description: '最多跑几次: 0 零跑动 (needs fully_online), 1 最多跑一次, 2' }),
    samples: z
      .array(
        z
          .object({
            requirementCode: z
              .string()
              .regex(/^[a-z][a-z0-9_]{1,59}$/)
              .openapi({ example: 'household_register' }),
            title: GuideText(200),
            url: z
              .string()
              .regex(
                /^(\/[\w\-./]*|https:\/\/[\w\-.]+(\/[\w\-./%]*)?)$/,
                bilingualCheck('a path or an https URL', '应为以 / 开头的路径或 https 网址'),
              )
              .openapi({ example: '/samples/household-register-application.pdf' }),
          })
          .strict(),
      )
      .max(50)
      .optional()
      .openapi({ description: '样表和空白模板, per required material (requirementCode)' }),
    notes: GuideText(2000).optional(),
  })
  .strict()
  .openapi('ItemGuide');

const ItemBodySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    nameZh: z.string().trim().min(1).max(200),
    kind: z.enum(['immediate', 'promised', 'joint', 'escalated']),
    subjectKind: z.enum(['person', 'organisation']).nullable(),
    departments: z.array(DepartmentCode).min(1).max(10),
    statutoryDays: z.number().int().min(0).max(365),
    promisedDays: z.number().int().min(0).max(365),
    decidingLevel: z.enum(['province', 'city', 'county', 'town', 'village']).nullable().default(null).openapi({
      description:
        'An escalated item (上报件): the level of centre that decides it; a submitted case goes up the tree to it',
    }),
    formSchema: z
      .record(z.string(), z.unknown())
      .default({})
      .openapi({ description: 'JSON Schema (2020-12) of the application form' }),
    stages: z
      .array(z.array(DepartmentCode).min(1).max(10))
      .min(1)
      .max(10)
      .nullable()
      .default(null)
      .openapi({
        description:
          'A joint item approved in stages: the departments of each stage in order; a stage starts when the one ' +
          'before has completed (null: all at once)',
        example: [['NRB'], ['PSB']],
      }),
    parties: z
      .array(
        z
          .object({
            role: z.enum(['co_applicant', 'counterparty', 'agent', 'legal_representative']),
            name: z.string().trim().min(1).max(100),
            nameZh: z.string().trim().min(1).max(100),
            required: z.boolean().default(false),
            formField: z
              .string()
              .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/)
              .openapi({ example: 'applicant' })
              .optional()
              .openapi({
                description:
                  "The form field that also names this party ({name, idNumber}): its ID number must be valid and be the party's",
              }),
          })
          .strict(),
      )
      .max(4)
      .default([])
      .openapi({
        description:
          'The parties a case has besides its applicant (co-applicant, counterparty such as the buyer, agent 代办人, ' +
          'legal representative), each a resolved subject named when the case is opened',
      }),
    submissions: z
      .record(DepartmentCode, z.string().regex(SUBMISSION_TYPE_CODE))
      .default({})
      .openapi({
        description:
          'Per department, the submission type its cases are delivered as: one its adapter declares (GET ' +
          "/v1/departments lists them), and the item's formSchema must require the fields that type requires. A " +
          "department left out gets its adapter's only type when it declares exactly one",
        example: { NRB: 'transfer_registration', PSB: 'household_move_in' },
      }),
    resultDeliveries: z
      .array(z.enum(RESULT_DELIVERY_METHODS))
      .min(1)
      .max(RESULT_DELIVERY_METHODS.length)
      .default(['window_pickup'])
      .openapi({
        description:
          'How the result may reach the applicant: window_pickup (窗口领取, with a pick-up code), express (邮寄), ' +
          'electronic (电子证照: needs resultCertificate); the window picks one at opening',
      }),
    resultCertificate: z
      .object({
        certificateType: z
          .string()
          .regex(/^[a-z][a-z0-9_]{1,63}$/)
          .openapi({ example: 'business_licence' }),
        department: DepartmentCode,
      })
      .strict()
      .nullable()
      .default(null)
      .openapi({
        description:
          'What the result is when a department issues it as a certificate (a material type and the issuing ' +
          "department, one of the item's): required to offer electronic",
      }),
    allowsPartial: z
      .boolean()
      .default(false)
      .openapi({
        description:
          "A joint item whose departments' parts stand alone: one department's refusal leaves the others, and the case " +
          'ends partially_rejected',
      }),
    guide: ItemGuideSchema.nullable().default(null).openapi({
      description:
        'The published guide (办事指南), served without a token by GET /v1/public/items/{code} and /guides/{code}',
    }),
    active: z.boolean().default(true),
    materials: z.array(RequirementSchema).max(50),
  })
  .strict();

const ItemSchema = ItemBodySchema.extend({ code: z.string() }).openapi('Item');
const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const listRoute = protectedRoute({
  method: 'get',
  path: '/v1/items',
  operationId: 'listItems',
  tags: ['items'],
  summary: 'The service items, with their departments, time limits and required materials',
  scopes: ['contracts:read'],
  responses: { 200: json(z.object({ items: z.array(ItemSchema) }), 'Every item'), ...errorResponses(401) },
});

const getRoute = protectedRoute({
  method: 'get',
  path: '/v1/items/{code}',
  operationId: 'getItem',
  tags: ['items'],
  summary: 'One service item',
  scopes: ['contracts:read'],
  request: { params: z.object({ code: ItemCodeSchema }) },
  responses: { 200: json(ItemSchema, 'The item'), ...errorResponses(401, 404) },
});

const putRoute = protectedRoute({
  method: 'put',
  path: '/v1/items/{code}',
  operationId: 'putItem',
  tags: ['items'],
  summary: 'Create or replace a service item and its required materials',
  scopes: ['catalogue:admin'],
  request: {
    params: z.object({ code: ItemCodeSchema }),
    body: { required: true, content: { 'application/json': { schema: ItemBodySchema } } },
  },
  description:
    'Refused with `422 item_invalid` (every problem listed) when the definition does not make sense, and with `422 ' +
    'item_not_deliverable` when its cases could not be delivered: `gaps` lists, per department, `{department, ' +
    'submissionType, problem, fields?, message}` with `problem` one of department_not_configured, not_receiving, ' +
    'submission_type_missing, submission_type_not_declared, form_field_not_required, form_field_type_mismatch. ' +
    'Nothing is written then.',
  responses: {
    200: json(ItemSchema, 'Replaced'),
    201: json(ItemSchema, 'Created'),
    ...errorResponses(400, 401, 403, 422),
  },
});

export function registerItemRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, async (c) => c.json({ items: await listItems(c.get('services').db) }, 200));

  app.openapi(getRoute, async (c) => {
    const { code } = c.req.valid('param');
    try {
      return c.json(await requireItem(c.get('services').db, code), 200);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'unknown_item')
        throw new ApiError('not_found', message('item.public_not_found', { itemCode: code }));
      throw error;
    }
  });

  app.openapi(putRoute, async (c) => {
    const services = c.get('services');
    const { item, created } = await upsertItem(
      services.db,
      { code: c.req.valid('param').code, ...c.req.valid('json') },
      services.departments,
    );
    services.access.reference.invalidate();
    return c.json(item, created ? 201 : 200);
  });
}
