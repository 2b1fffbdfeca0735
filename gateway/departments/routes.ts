/**
 * Departments API: the department systems this gateway talks to, what each offers, and how each is
 * doing right now (breaker state, calls, errors by kind, latency) — for supervisors, operators and
 * integrators (`departments:read`). Base URLs are shown as origins only; credentials never.
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppEnv } from '../platform/context.js';
import { errorResponses } from '../platform/routes.js';
import { bilingualCheck } from '../platform/field-problems.js';
import { protectedRoute } from '../auth/protected-route.js';
import { checkDepartmentHealth, departmentView } from './status.js';
import { requireDepartment } from './calls.js';

const DepartmentCodeParam = z.object({
  code: z
    .string()
    .regex(
      /^[A-Z][A-Z0-9_]{1,15}$/,
      bilingualCheck(
        'department codes are upper-case letters, digits and _ (2–16)',
        '部门代码为 2–16 位大写字母、数字或下划线',
      ),
    )

    .openapi({ example: 'PSB' }),
});

const OutcomeCountsSchema = z.record(z.string(), z.number().int());

const DepartmentSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    adapterKind: z.string(),
    origin: z.string().openapi({ description: 'Scheme, host and port of the base URL' }),
    capabilities: z.array(
      z.enum(['verifyIdentity', 'fetchCertificate', 'submitCase', 'queryCaseStatus', 'cancelCase', 'health']),
    ),
    certificateTypes: z.array(z.string()),
    identityVerification: z
      .object({
        identifierTypes: z
          .array(z.string())
          .openapi({ description: 'The identifier types of persons its system can verify (empty: it verifies none)' }),
        answersByDefault: z.array(z.string()).openapi({
          description:
            'The identifier types the configuration routes to it (identityVerification.identifierTypes in the ' +
            'departments file): it answers verifications of these when the caller names no department',
        }),
      })
      .openapi({ description: 'Who answers identity verification, per identifier type' }),
    submissionTypes: z
      .array(
        z.object({
          code: z.string(),
          name: z.string(),
          nameZh: z.string(),
          formSchema: z.record(z.string(), z.unknown()),
        }),
      )
      .openapi({
        description:
          "The kinds of case the department's system receives (an item names one per department in `submissions`), " +
          "each with the JSON Schema of the form fields it reads: the item's formSchema must require " +
          'what it requires',
      }),
    resources: z.record(z.string(), z.string()).openapi({ description: 'Contract resource code used per capability' }),
    breakerState: z.enum(['closed', 'open', 'half_open']),
    calls: z.number().int(),
    errors: z.number().int(),
    errorsByKind: z.record(z.string(), z.number().int()),
    lastError: z.object({ kind: z.string(), at: z.string() }).nullable(),
    latencyMs: z.object({ p50: z.number().nullable(), p99: z.number().nullable(), window: z.number().int() }),
    contractViolations: z.number().int(),
    traffic: z
      .object({
        since: z.string().openapi({ description: 'When counting started (the gateway process start)' }),
        calls: z.number().int(),
        attempts: z.number().int().openapi({ description: 'HTTP exchanges, first attempts and retries' }),
        retries: z.number().int(),
        outcomes: z
          .object({
            calls: OutcomeCountsSchema.openapi({ description: 'How calls ended after their retries' }),
            attempts: OutcomeCountsSchema.openapi({ description: 'How every HTTP exchange ended' }),
            retries: OutcomeCountsSchema.openapi({ description: 'How the retries ended' }),
            results: OutcomeCountsSchema.openapi({
              description:
                'What capability calls ended with once the adapter read the answer (business_error included)',
            }),
          })
          .openapi({ description: 'Counts by outcome: ok, http_<status>, timeout, connection, business_error…' }),
        operations: z.array(
          z.object({
            operation: z.string(),
            calls: z.number().int(),
            attempts: z.number().int(),
            retries: z.number().int(),
            callOutcomes: OutcomeCountsSchema,
            attemptOutcomes: OutcomeCountsSchema,
            retryOutcomes: OutcomeCountsSchema,
          }),
        ),
        lastFailure: z
          .object({
            at: z.string(),
            level: z.enum(['attempt', 'call', 'result']),
            operation: z.string(),
            outcome: z.string(),
            attempt: z.enum(['first', 'retry']).optional(),
          })
          .nullable(),
      })
      .openapi({
        description: 'Calls, attempts, retries and their outcomes since start, per department and operation',
      }),
  })
  .openapi('Department');

const HealthCheckSchema = z
  .object({
    code: z.string(),
    ok: z.boolean(),
    detail: z.string().nullable(),
    error: z
      .object({
        code: z.string(),
        message: z.string(),
        reason: z.string().openapi({ description: "The adapter's own words for the failure (technical English)" }),
      })
      .nullable(),
    latencyMs: z.number(),
    checkedAt: z.string(),
    breakerState: z.enum(['closed', 'open', 'half_open']),
  })
  .openapi('DepartmentHealthCheck');

const listRoute = protectedRoute({
  method: 'get',
  path: '/v1/departments',
  operationId: 'listDepartments',
  tags: ['departments'],
  summary: 'List the department systems, with breaker state and call figures',
  scopes: ['departments:read'],
  responses: {
    200: {
      description: 'The departments',
      content: { 'application/json': { schema: z.object({ items: z.array(DepartmentSchema) }) } },
    },
    ...errorResponses(401, 403),
  },
});

const readRoute = protectedRoute({
  method: 'get',
  path: '/v1/departments/{code}',
  operationId: 'getDepartment',
  tags: ['departments'],
  summary: 'One department system, with breaker state and call figures',
  scopes: ['departments:read'],
  request: { params: DepartmentCodeParam },
  responses: {
    200: { description: 'The department', content: { 'application/json': { schema: DepartmentSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const healthRoute = protectedRoute({
  method: 'post',
  path: '/v1/departments/{code}/health-check',
  operationId: 'checkDepartmentHealth',
  tags: ['departments'],
  summary: "Ask the department system whether it is up (through its adapter's health call)",
  description:
    'Calls the adapter now, through the same resilient client as every other call (so an open breaker answers at once). ' +
    'A failing department is a normal answer here: 200 with ok=false and the error the gateway would give.',
  scopes: ['departments:read'],
  request: { params: DepartmentCodeParam },
  responses: {
    200: { description: 'The outcome of the check', content: { 'application/json': { schema: HealthCheckSchema } } },
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

export function registerDepartmentRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(listRoute, (c) => {
    const { departments, departmentMetrics } = c.get('services');
    return c.json(
      { items: departments.list().map((department) => departmentView(department, departmentMetrics)) },
      200,
    );
  });

  app.openapi(readRoute, (c) => {
    const { departments, departmentMetrics } = c.get('services');
    return c.json(departmentView(requireDepartment(departments, c.req.valid('param').code), departmentMetrics), 200);
  });

  app.openapi(healthRoute, async (c) => {
    const department = requireDepartment(c.get('services').departments, c.req.valid('param').code);
    return c.json(await checkDepartmentHealth(department, c.get('requestId')), 200);
  });
}
