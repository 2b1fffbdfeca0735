/**
 * Service centres API: the tree, its operators, the items each centre offers and the centres a
 * client system serves. Read by every client that works with centres; changed by administrators.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import type { AppServices } from '../platform/context.js';
import { errorResponses } from '../platform/routes.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { protectedRoute } from '../auth/protected-route.js';
import {
  CENTRE_LEVELS,
  OPERATOR_ROLES,
  centreView,
  listCentreItems,
  listOperators,
  requireCentre,
  setCentreItem,
  setClientCentres,
  subtree,
  upsertCentre,
  upsertOperator,
} from './centres.js';
import { listRepresentatives, setRepresentative } from './representatives.js';

export const CentreCodeSchema = z
  .string()
  .regex(
    /^[1-8][0-9]{8}$/,
    bilingualCheck(
      'a centre code is the 6-digit GB/T 2260 division code and a 3-digit local suffix, e.g. 610113001',
      '服务中心代码为 6 位 GB/T 2260 行政区划代码加 3 位本地编号，如 610113001',
    ),
  )
  .openapi({ example: '610113001' });
const OperatorIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/,
    bilingualCheck(
      'an operator id is 1-64 letters, digits and . _ : / -',
      '经办人标识为 1–64 个字母、数字或 . _ : / -',
    ),
  )
  .openapi({ example: 'clerk-0042' });
const ItemCodeSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,59}$/)
  .openapi({ example: 'household_proof_immediate' });
const text = (max: number) => z.string().trim().max(max);

const CentreBodySchema = z
  .object({
    name: z.string().trim().min(1).max(100).openapi({ example: '雁塔区政务服务中心' }),
    level: z.enum(CENTRE_LEVELS as ['province', 'city', 'county', 'town', 'village']),
    parentCode: CentreCodeSchema.nullable(),
    address: text(200).default(''),
    openingHours: text(200).default('').openapi({ example: '周一至周五 9:00-17:00' }),
  })
  .strict();

const CentreSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    level: z.enum(CENTRE_LEVELS as ['province', 'city', 'county', 'town', 'village']),
    parentCode: z.string().nullable(),
    ancestors: z.array(z.string()),
    address: z.string(),
    openingHours: z.string(),
    children: z.array(z.string()),
  })
  .openapi('Centre');

const OperatorBodySchema = z
  .object({ name: z.string().trim().min(1).max(50), role: z.enum(OPERATOR_ROLES), active: z.boolean().default(true) })
  .strict();
const OperatorSchema = z
  .object({
    centreCode: z.string(),
    operatorId: z.string(),
    name: z.string(),
    role: z.enum(OPERATOR_ROLES),
    active: z.boolean(),
  })
  .openapi('Operator');

const FeeSchema = z
  .object({ name: z.string().trim().min(1).max(100), amountFen: z.number().int().min(0).max(100_000_000) })
  .strict();
const CentreItemBodySchema = z
  .object({
    enabled: z.boolean(),
    promisedDays: z
      .number()
      .int()
      .min(0)
      .max(365)
      .nullable()
      .default(null)
      .openapi({ description: "承诺时限 in working days, at most the statutory limit; null: the catalogue's" }),
    notes: text(2000).default(''),
    fees: z.array(FeeSchema).max(20).default([]).openapi({ description: 'Local fees where law allows, in fen (分)' }),
  })
  .strict();
const CentreItemSchema = CentreItemBodySchema.extend({
  centreCode: z.string(),
  itemCode: z.string(),
  itemName: z.string(),
  statutoryDays: z.number().int(),
  effectivePromisedDays: z.number().int(),
}).openapi('CentreItem');

const DepartmentCodeSchema = z
  .string()
  .regex(
    /^[A-Z][A-Z0-9_]{1,15}$/,
    bilingualCheck(
      'a department code is upper-case letters, digits and _ (2–16), e.g. PSB',
      '部门代码为 2–16 位大写字母、数字或下划线，如 PSB',
    ),
  )
  .openapi({ example: 'AMR' });
const RepresentativeBodySchema = z
  .object({
    name: z.string().trim().min(1).max(50).openapi({ example: '王建国' }),
    mobile: z.string().trim().min(1).max(20).openapi({
      example: '13912345678',
      description: 'A mainland mobile number; supervision warnings are sent to it by SMS',
    }),
  })
  .strict();
const RepresentativeSchema = z
  .object({
    centreCode: z.string(),
    department: z.string(),
    name: z.string().openapi({ example: '王**', description: 'Masked' }),
    mobile: z.string().openapi({ example: '139****5678', description: 'Masked' }),
    updatedAt: z.string(),
  })
  .openapi('ChiefRepresentative');

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const body = <T extends z.ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });

const listRoute = protectedRoute({
  method: 'get',
  path: '/v1/centres',
  operationId: 'listCentres',
  tags: ['centres'],
  summary: 'The service centres, or those at and below one (`under`)',
  scopes: ['centres:read'],
  request: { query: z.object({ under: CentreCodeSchema.optional() }) },
  responses: {
    200: json(z.object({ centres: z.array(CentreSchema) }), 'Root first, each centre before its children'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const getRoute = protectedRoute({
  method: 'get',
  path: '/v1/centres/{code}',
  operationId: 'getCentre',
  tags: ['centres'],
  summary: 'One service centre',
  scopes: ['centres:read'],
  request: { params: z.object({ code: CentreCodeSchema }) },
  responses: { 200: json(CentreSchema, 'The centre'), ...errorResponses(400, 401, 403, 404) },
});

const putRoute = protectedRoute({
  method: 'put',
  path: '/v1/centres/{code}',
  operationId: 'putCentre',
  tags: ['centres'],
  summary: 'Create or change a service centre (a move carries its subtree along)',
  scopes: ['centres:admin'],
  request: { params: z.object({ code: CentreCodeSchema }), body: body(CentreBodySchema) },
  responses: {
    200: json(CentreSchema, 'Changed'),
    201: json(CentreSchema, 'Created'),
    ...errorResponses(400, 401, 403, 404, 409, 422),
  },
});

const listOperatorsRoute = protectedRoute({
  method: 'get',
  path: '/v1/centres/{code}/operators',
  operationId: 'listCentreOperators',
  tags: ['centres'],
  summary: 'The operators registered at a centre, with their roles',
  scopes: ['centres:read'],
  request: { params: z.object({ code: CentreCodeSchema }) },
  responses: {
    200: json(z.object({ operators: z.array(OperatorSchema) }), 'The operators'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const putOperatorRoute = protectedRoute({
  method: 'put',
  path: '/v1/centres/{code}/operators/{operatorId}',
  operationId: 'putCentreOperator',
  tags: ['centres'],
  summary: 'Register or change an operator of a centre (active: false disables them)',
  scopes: ['centres:admin'],
  request: {
    params: z.object({ code: CentreCodeSchema, operatorId: OperatorIdSchema }),
    body: body(OperatorBodySchema),
  },
  responses: {
    200: json(OperatorSchema, 'Changed'),
    201: json(OperatorSchema, 'Registered'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const listItemsRoute = protectedRoute({
  method: 'get',
  path: '/v1/centres/{code}/items',
  operationId: 'listCentreItems',
  tags: ['centres'],
  summary: 'The items a centre offers, with its promised time limits, notes and fees',
  scopes: ['centres:read'],
  request: { params: z.object({ code: CentreCodeSchema }) },
  responses: {
    200: json(z.object({ items: z.array(CentreItemSchema) }), 'The items'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const putItemRoute = protectedRoute({
  method: 'put',
  path: '/v1/centres/{code}/items/{itemCode}',
  operationId: 'putCentreItem',
  tags: ['centres'],
  summary: 'Offer an item at a centre: enabled, promised days (≤ statutory), local notes and fees',
  scopes: ['centres:admin'],
  request: { params: z.object({ code: CentreCodeSchema, itemCode: ItemCodeSchema }), body: body(CentreItemBodySchema) },
  responses: {
    200: json(CentreItemSchema, 'The item as the centre offers it'),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

const putClientCentresRoute = protectedRoute({
  method: 'put',
  path: '/v1/clients/{clientId}/centres',
  operationId: 'setClientCentres',
  tags: ['centres'],
  summary: 'The centres a client system serves (window: one; department: one or more; auditor: at most one)',
  scopes: ['centres:admin'],
  request: {
    params: z.object({
      clientId: z
        .string()
        .regex(/^cli_[A-Za-z0-9_-]{1,64}$/)
        .openapi({ example: 'cli_Q2x5b3dpbmRvdzE' }),
    }),
    body: body(z.object({ centreCodes: z.array(CentreCodeSchema).max(1000) }).strict()),
  },
  responses: {
    200: json(z.object({ clientId: z.string(), centreCodes: z.array(z.string()) }), 'Registered'),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

const listRepresentativesRoute = protectedRoute({
  method: 'get',
  path: '/v1/centres/{code}/representatives',
  operationId: 'listCentreRepresentatives',
  tags: ['centres'],
  summary: "The departments' chief representatives (首席代表) at a centre, names and numbers masked",
  scopes: ['centres:read'],
  request: { params: z.object({ code: CentreCodeSchema }) },
  responses: {
    200: json(z.object({ representatives: z.array(RepresentativeSchema) }), 'By department'),
    ...errorResponses(400, 401, 403, 404),
  },
});

const putRepresentativeRoute = protectedRoute({
  method: 'put',
  path: '/v1/centres/{code}/representatives/{department}',
  operationId: 'putCentreRepresentative',
  tags: ['centres'],
  summary:
    "Name a department's chief representative (首席代表) at a centre: supervision warnings about the department's parts " +
    "of the centre's cases go to them by SMS",
  description:
    'Refused with `404 centre_not_found`, `422 representative_department_unknown` (no department system with this ' +
    'code is configured) and `422 representative_mobile_invalid` (not a mainland mobile number). The answer masks ' +
    'the name and the number.',
  scopes: ['centres:admin'],
  request: {
    params: z.object({ code: CentreCodeSchema, department: DepartmentCodeSchema }),
    body: body(RepresentativeBodySchema),
  },
  responses: {
    200: json(RepresentativeSchema, 'Changed'),
    201: json(RepresentativeSchema, 'Appointed'),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

const centreServices = (services: AppServices) => ({ db: services.db, reference: services.access.reference });

export function registerCentreRoutes(app: OpenAPIHono<AppEnv>): void {
  const actorOf = (c: { get(key: 'principal'): AppEnv['Variables']['principal']; get(key: 'requestId'): string }) => ({
    principal: c.get('principal'),
    requestId: c.get('requestId'),
  });

  app.openapi(listRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    const { under } = c.req.valid('query');
    const directory = await reference.centreDirectoryWith(db, [under]);
    const rows = under
      ? subtree(directory, under)
      : [...directory.centres.values()].sort((a, b) => a.path.localeCompare(b.path));
    return c.json({ centres: rows.map((row) => centreView(directory, row)) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    const { code } = c.req.valid('param');
    const directory = await reference.centreDirectoryWith(db, [code]);
    return c.json(centreView(directory, requireCentre(directory, code)), 200);
  });

  app.openapi(putRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    const { centre, created } = await upsertCentre(
      db,
      reference,
      actorOf(c),
      c.req.valid('param').code,
      c.req.valid('json'),
    );
    return created ? c.json(centre, 201) : c.json(centre, 200);
  });

  app.openapi(listOperatorsRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    return c.json({ operators: await listOperators(db, reference, c.req.valid('param').code) }, 200);
  });

  app.openapi(putOperatorRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    const { code, operatorId } = c.req.valid('param');
    const { operator, created } = await upsertOperator(
      db,
      reference,
      actorOf(c),
      code,
      operatorId,
      c.req.valid('json'),
    );
    return created ? c.json(operator, 201) : c.json(operator, 200);
  });

  app.openapi(listItemsRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    return c.json({ items: await listCentreItems(db, reference, c.req.valid('param').code) }, 200);
  });

  app.openapi(putItemRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    const { code, itemCode } = c.req.valid('param');
    return c.json(await setCentreItem(db, reference, actorOf(c), code, itemCode, c.req.valid('json')), 200);
  });

  app.openapi(listRepresentativesRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    return c.json({ representatives: await listRepresentatives(db, reference, c.req.valid('param').code) }, 200);
  });

  app.openapi(putRepresentativeRoute, async (c) => {
    const services = c.get('services');
    const { db, reference } = centreServices(services);
    const { code, department } = c.req.valid('param');
    const isConfigured = (candidate: string) => services.departments.get(candidate) !== undefined;
    const { representative, created } = await setRepresentative(
      db,
      reference,
      isConfigured,
      actorOf(c),
      code,
      department,
      c.req.valid('json'),
    );
    return created ? c.json(representative, 201) : c.json(representative, 200);
  });

  app.openapi(putClientCentresRoute, async (c) => {
    const { db, reference } = centreServices(c.get('services'));
    return c.json(
      await setClientCentres(db, reference, actorOf(c), c.req.valid('param').clientId, c.req.valid('json').centreCodes),
      200,
    );
  });
}
