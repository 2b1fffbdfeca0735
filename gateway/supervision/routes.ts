/**
 * Supervision: the API (`GET /v1/supervision/warnings`, `GET /v1/supervision/summary`, the figures
 * per centre, the ratings' figures and the monthly rankings) and the page supervisors open in a
 * browser (`GET /supervision`), all for callers holding
 * `supervision:read` (auditor and administrator clients). No personal data: cases are named by
 * their numbers, never by their applicants. Every read is audited.
 */
import { randomBytes } from 'node:crypto';
import { type OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { recordAudit, recordAuditMany } from '../audit/record.js';
import type { Scope } from '../auth/scopes.js';
import { addDays, chinaToday, isRealDate } from '../materials/dates.js';
import type { AppEnv } from '../platform/context.js';
import { BEARER_SCHEME, type NamedRouteConfig, errorResponses } from '../platform/routes.js';
import { protectedRoute } from '../auth/protected-route.js';
import { basicOrBearer } from './access.js';
import { renderCaseListPage, renderSignInRefusalPage, renderSupervisionPage, supervisionPagePolicy } from './page.js';
import { type PageFigures, PAGE_TABLE_IDS, caseListTable, pageTables } from './page-tables.js';
import { pageText } from './page-messages.js';
import { EXPORT_FORMATS, type ExportTable, tableAsCsv, tablesAsXlsx } from './export.js';
import {
  CASE_LIST_BASES,
  CASE_LIST_OUTCOMES,
  CASE_STATUSES,
  type CaseList,
  type CaseListFilter,
  supervisionCases,
} from './case-list.js';
import { supervisionTrends } from './trends.js';
import { LANGUAGES, type Language, requestLanguage } from '../platform/language.js';
import { PERIOD_LIMITS, type SummaryPeriod, checkPeriod, supervisionSummary } from './summary.js';
import { type SupervisionWarnings, supervisionWarnings } from './warnings.js';
import { centreStatistics } from './centre-statistics.js';
import { type SupervisionScope, supervisionScope } from './scope.js';
import { ApiError, message } from '../platform/errors.js';
import { bilingualCheck, fieldProblem } from '../platform/field-problems.js';
import { RATING_GROUPINGS, type Rankings, monthlyRankings, ratingFigures } from '../ratings/figures.js';

const SUPERVISION_SCOPES: Scope[] = ['supervision:read'];
/** The OpenAPI name of HTTP Basic with client credentials, which only the page accepts. */
export const BASIC_SCHEME = 'clientBasicAuth';
/** The default period of the summary: the 30 days up to today. */
const DEFAULT_PERIOD_DAYS = 30;

/** A date of any year: the period's own check (checkPeriod) names the range it takes. */
const DateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, bilingualCheck('dates are written YYYY-MM-DD', '日期格式为 YYYY-MM-DD'))
  .refine(isRealDate, bilingualCheck('not a real calendar date', '不是真实存在的日期'));

const PERIOD_RULE = `Dates from ${PERIOD_LIMITS.earliest} to ${PERIOD_LIMITS.latest}; a period spans at most ${PERIOD_LIMITS.maxDays} days.`;

const CentreQuery = z.object({
  centre: z
    .string()
    .regex(/^[1-8][0-9]{8}$/, bilingualCheck('a centre code is 9 digits', '服务中心代码为 9 位数字'))
    .optional()
    .openapi({
      description:
        'Only the cases handled at this centre and below (default: your own centre, or the whole province for a supervisor of no centre)',
      example: '610100000',
    }),
});

const PeriodQuery = z.object({
  from: DateSchema.optional().openapi({
    description: `First day (China Standard Time); default: 29 days before \`to\`. ${PERIOD_RULE}`,
    example: '2026-10-01',
  }),
  to: DateSchema.optional().openapi({
    description: `Last day, included; default: today. ${PERIOD_RULE}`,
    example: '2026-10-31',
  }),
});

const DepartmentOfCaseSchema = z.object({
  code: z.string(),
  delivery: z.enum(['pending', 'delivered', 'dead', 'held', 'refused', 'cancelled']),
  departmentStatus: z.string().nullable(),
  representative: z
    .object({ name: z.string().openapi({ example: '王**' }), mobile: z.string().openapi({ example: '139****5678' }) })
    .nullable()
    .openapi({
      description:
        "The department's chief representative (首席代表) at the case's centre, masked; null: none named, so no SMS warning is sent",
    }),
  warned: z
    .array(
      z.object({
        at: z.string(),
        level: z.enum(['approaching', 'overdue']),
        representative: z.object({ name: z.string(), mobile: z.string() }),
      }),
    )
    .openapi({ description: 'The SMS warnings sent to the representative about this part of the case, oldest first' }),
});

const WarningsSchema = z
  .object({
    today: z.string(),
    warningShare: z.number().openapi({
      description: 'SUPERVISION_WARNING_SHARE: share of the promised working days at which a case is approaching',
    }),
    provisionalYears: z.array(z.number().int()).openapi({
      description: 'Years the warnings touch whose holidays are not loaded: their days count by weekday alone',
    }),
    counts: z.object({
      overdue: z.number().int(),
      approaching: z.number().int(),
      deferredMaterialsOverdue: z.number().int(),
      cancellationsByHand: z.number().int(),
      ratingFollowUpsOverdue: z.number().int(),
    }),
    cases: z.array(
      z.object({
        kind: z.literal('case_deadline'),
        level: z.enum(['approaching', 'overdue']),
        caseNumber: z.string(),
        itemCode: z.string(),
        itemName: z.string(),
        status: z.enum(['submitted', 'in_progress', 'awaiting_applicant']),
        acceptedOn: z.string(),
        promisedDays: z.number().int(),
        dueOn: z.string(),
        clockStopped: z
          .boolean()
          .openapi({ description: 'Awaiting the applicant: the figures are those of the day the clock stopped' }),
        provisional: z
          .boolean()
          .openapi({ description: 'Counted partly by weekday alone: a year involved has no holidays loaded' }),
        workingDaysUsed: z.number().int(),
        shareUsed: z.number(),
        workingDaysLeft: z
          .number()
          .int()
          .openapi({ description: 'Working days up to the due date; negative: working days past it' }),
        departments: z.array(DepartmentOfCaseSchema),
      }),
    ),
    deferredMaterials: z.array(
      z.object({
        kind: z.literal('deferred_material'),
        level: z.literal('overdue'),
        caseNumber: z.string(),
        itemCode: z.string(),
        itemName: z.string(),
        status: z.string(),
        requirementCode: z.string(),
        requirementName: z.string(),
        dueOn: z.string().openapi({ description: 'The last day the applicant could supply the material (容缺)' }),
        workingDaysOver: z.number().int(),
        provisional: z.boolean(),
        departments: z.array(DepartmentOfCaseSchema),
      }),
    ),
    cancellations: z
      .array(
        z.object({
          kind: z.literal('cancel_by_hand'),
          level: z.literal('overdue'),
          caseNumber: z.string(),
          itemCode: z.string(),
          itemName: z.string(),
          deliveryId: z.string(),
          department: z.string(),
          departmentReference: z.string().nullable(),
          refusedBy: z.array(z.object({ department: z.string() })),
          since: z.string().nullable(),
        }),
      )
      .openapi({
        description:
          "Parts of refused joint cases to withdraw from a department's system by hand (it offers no cancel, or had " +
          'finished); POST /v1/deliveries/{id}/cancellation-handled when done',
      }),
    ratingFollowUps: z
      .array(
        z.object({
          kind: z.literal('rating_follow_up'),
          level: z.literal('overdue'),
          ratingId: z.string(),
          caseNumber: z.string(),
          itemCode: z.string(),
          itemName: z.string(),
          score: z.number().int(),
          centreCode: z.string().nullable(),
          centreName: z.string().nullable(),
          ratedOn: z.string(),
          dueOn: z.string().openapi({ description: 'The last working day the centre had to answer' }),
          workingDaysOver: z.number().int(),
          provisional: z.boolean(),
        }),
      )
      .openapi({
        description: 'Follow-ups of bad ratings (差评) not answered by their due date: POST /v1/ratings/{id}/follow-up',
      }),
  })
  .openapi('SupervisionWarnings');

const MaterialFiguresShape = {
  cases: z.number().int(),
  required: z.number().int(),
  handedIn: z.number().int(),
  reused: z.number().int(),
  fetched: z.number().int(),
  deferred: z.number().int(),
  averageHandedInPerCase: z.number().nullable(),
};

const DeliveryFiguresShape = {
  total: z.number().int(),
  delivered: z.number().int(),
  pending: z.number().int(),
  dead: z.number().int(),
  retried: z.number().int().openapi({ description: 'Deliveries that needed more than one attempt' }),
};

const SummarySchema = z
  .object({
    period: z.object({ from: z.string(), to: z.string() }),
    completion: z
      .object({
        concluded: z.number().int(),
        completed: z.number().int(),
        rejected: z.number().int(),
        onTime: z.number().int(),
        late: z.number().int(),
        onTimeRate: z.number().nullable(),
      })
      .openapi({
        description: 'Cases concluded (completed or rejected) in the period, against their promised due dates',
      }),
    casesByStatus: z
      .object({
        open: z.number().int(),
        submitted: z.number().int(),
        in_progress: z.number().int(),
        awaiting_applicant: z.number().int(),
        completed: z.number().int(),
        rejected: z.number().int(),
        partially_rejected: z.number().int(),
      })
      .openapi({ description: 'Cases opened in the period, by their current status' }),
    materials: z
      .object({
        ...MaterialFiguresShape,
        byItem: z.array(z.object({ itemCode: z.string(), itemName: z.string(), ...MaterialFiguresShape })),
      })
      .openapi({ description: 'Cases accepted in the period: materials required, handed in, reused and fetched' }),
    deliveries: z
      .object({
        ...DeliveryFiguresShape,
        byDepartment: z.array(
          z.object({
            department: z.string(),
            ...DeliveryFiguresShape,
            latencyMs: z
              .object({ delivered: z.number().int(), p50: z.number().nullable(), p95: z.number().nullable() })
              .openapi({
                description: 'Submission → acknowledgement by the department, of deliveries delivered in the period',
              }),
          }),
        ),
      })
      .openapi({ description: 'Deliveries written in the period' }),
    deadLetters: z
      .object({
        total: z.number().int(),
        items: z.array(
          z.object({
            deliveryId: z.string(),
            caseNumber: z.string(),
            department: z.string(),
            attempts: z.number().int(),
            lastErrorCode: z.string().nullable(),
            createdAt: z.string(),
            deadAt: z.string().nullable(),
          }),
        ),
      })
      .openapi({ description: 'Every delivery dead-lettered now (the newest 100 listed), whatever the period' }),
    resultsAwaitingDocument: z
      .object({
        total: z.number().int(),
        items: z.array(
          z.object({
            caseNumber: z.string(),
            itemCode: z.string(),
            department: z.string().nullable(),
            completedOn: z.string().nullable(),
          }),
        ),
      })
      .openapi({
        description:
          "Completed cases whose electronic result (电子证照) still waits for the issuing department's document (the " +
          'oldest 100 listed), whatever the period',
      }),
    departments: z.array(
      z.object({
        code: z.string(),
        name: z.string(),
        breakerState: z.enum(['closed', 'open', 'half_open']),
        calls: z.number().int().openapi({
          description: 'Calls finished in the period (counted in the database: restarts do not reset them)',
        }),
        errors: z.number().int().openapi({ description: 'Of those, failed' }),
        errorsByKind: z.record(z.string(), z.number().int()),
        lastError: z
          .object({ kind: z.string(), at: z.string() })
          .nullable()
          .openapi({ description: 'The latest failed call of the period' }),
        latencyMs: z.object({ p50: z.number().nullable(), p99: z.number().nullable(), window: z.number().int() }),
      }),
    ),
  })
  .openapi('SupervisionSummary');

const warningsRoute = protectedRoute({
  method: 'get',
  path: '/v1/supervision/warnings',
  operationId: 'listSupervisionWarnings',
  tags: ['supervision'],
  summary: 'Cases approaching or past their promised due date, and deferred materials not supplied in time',
  description:
    'Accepted, unfinished cases that have used SUPERVISION_WARNING_SHARE of their promised working days ' +
    '(`approaching`) or whose due date has ' +
    'passed (`overdue`); a case awaiting the applicant is read on the day its clock stopped. Days of a year whose ' +
    'holidays are not loaded ' +
    'count by weekday alone, and the warnings they affect are `provisional`. Case numbers only, no personal data.',
  scopes: SUPERVISION_SCOPES,
  request: { query: CentreQuery },
  responses: {
    200: {
      description: 'The current warnings, overdue first',
      content: { 'application/json': { schema: WarningsSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 503),
  },
});

const summaryRoute = protectedRoute({
  method: 'get',
  path: '/v1/supervision/summary',
  operationId: 'getSupervisionSummary',
  tags: ['supervision'],
  summary:
    'On-time rate, materials handed in versus reused, delivery latency and failures, dead letters and department health',
  description:
    'The figures of a period of China Standard Time dates (default: the 30 days up to today). ' +
    `${PERIOD_RULE} Anything else is a 400 \`validation_failed\` whose \`limits\` member names the limits.`,
  scopes: SUPERVISION_SCOPES,
  request: { query: PeriodQuery.extend(CentreQuery.shape) },
  responses: {
    200: { description: 'The figures of the period', content: { 'application/json': { schema: SummarySchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const FiguresShape = {
  accepted: z.number().int(),
  concluded: z.number().int(),
  onTime: z.number().int(),
  onTimeRate: z.number().nullable(),
  overdue: z.number().int().openapi({ description: 'Concluded after the due date, or still open past it today' }),
  averageHandlingDays: z.number().nullable().openapi({ description: 'Calendar days from acceptance to conclusion' }),
  materialsHandedIn: z.number().int(),
  materialsReused: z.number().int(),
  transfers: z.number().int(),
};

const CentreStatisticsSchema = z
  .object({
    centre: z.object({ code: z.string(), name: z.string(), level: z.string(), path: z.string() }),
    period: z.object({ from: z.string(), to: z.string() }),
    today: z.string(),
    totals: z.object(FiguresShape),
    centres: z.array(
      z.object({
        code: z.string(),
        name: z.string(),
        level: z.string(),
        parentCode: z.string().nullable(),
        ...FiguresShape,
      }),
    ),
    windows: z.array(z.object({ clientId: z.string(), ...FiguresShape })),
    operators: z.array(z.object({ centreCode: z.string().nullable(), operatorId: z.string(), ...FiguresShape })),
  })
  .openapi('CentreStatistics');

const centreStatisticsRoute = protectedRoute({
  method: 'get',
  path: '/v1/supervision/centres',
  operationId: 'getSupervisionCentreFigures',
  tags: ['supervision'],
  summary: 'Figures per centre (rolled up the tree), window and operator for the cases accepted in a period',
  description: `A centre's subtree (default: your own centre; a supervisor of no centre names one). ${PERIOD_RULE}`,
  scopes: SUPERVISION_SCOPES,
  request: { query: PeriodQuery.extend(CentreQuery.shape) },
  responses: {
    200: { description: 'The figures', content: { 'application/json': { schema: CentreStatisticsSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const FollowUpFiguresSchema = z.object({
  total: z.number().int(),
  answeredOnTime: z.number().int(),
  answeredLate: z.number().int(),
  open: z.number().int(),
  overdue: z.number().int(),
  onTimeRate: z.number().nullable().openapi({ description: 'Answered on time / (answered + overdue)' }),
});

const RatingFiguresShape = {
  ratings: z.number().int(),
  averageScore: z.number().nullable(),
  badRatings: z.number().int().openapi({ description: '差评: score 2 or less' }),
  badShare: z.number().nullable(),
  followUps: FollowUpFiguresSchema,
};

const RatingFiguresSchema = z
  .object({
    by: z.enum(RATING_GROUPINGS),
    period: z.object({ from: z.string(), to: z.string() }),
    today: z.string(),
    totals: z.object(RatingFiguresShape),
    rows: z.array(
      z.object({
        key: z.string().openapi({ description: 'The centre, department, window client, operator or item code' }),
        name: z.string().nullable(),
        centreCode: z.string().nullable().openapi({ description: "The operator's centre (by=operator)" }),
        ...RatingFiguresShape,
      }),
    ),
  })
  .openapi('RatingFigures');

const ratingFiguresRoute = protectedRoute({
  method: 'get',
  path: '/v1/supervision/ratings',
  operationId: 'getRatingFigures',
  tags: ['supervision'],
  summary: 'Satisfaction ratings (好差评) of a period per centre, department, window, operator or item',
  description:
    "Ratings given in the period within your centre's subtree: count, average score, share of 差评 and how their " +
    `follow-ups went. No comments, no applicants. ${PERIOD_RULE}`,
  scopes: SUPERVISION_SCOPES,
  request: {
    query: PeriodQuery.extend(CentreQuery.shape).extend({
      by: z.enum(RATING_GROUPINGS).default('centre').openapi({ description: 'How to group the ratings' }),
    }),
  },
  responses: {
    200: { description: 'The figures', content: { 'application/json': { schema: RatingFiguresSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const RankedSchema = z.object({
  rank: z.number().int(),
  id: z.string().openapi({ description: 'The window client id, or the operator id' }),
  name: z.string().nullable(),
  centreCode: z.string().nullable().openapi({ description: "The operator's centre; null for a window" }),
  ratings: z.number().int(),
  averageScore: z.number(),
  volume: z.number().int().openapi({ description: 'Cases concluded in the month' }),
  onTime: z.number().int(),
  onTimeRate: z.number(),
  points: z
    .number()
    .openapi({ description: '60·(average − 1)/4 + 30·onTimeRate + 10·volume/highest volume (docs/ratings.md)' }),
});

const RankingListSchema = z.object({
  ranked: z.array(RankedSchema),
  unranked: z.number().int().openapi({ description: 'Rated, but fewer times than the minimum' }),
});

const RankingsSchema = z
  .object({
    month: z.string(),
    period: z.object({ from: z.string(), to: z.string() }),
    minimumRatings: z.number().int(),
    weights: z.object({ rating: z.number(), onTime: z.number(), volume: z.number() }),
    satisfiedWindows: RankingListSchema.openapi({ description: '群众满意窗口' }),
    serviceStars: RankingListSchema.openapi({ description: '为民服务标兵' }),
  })
  .openapi('RatingRankings');

const MonthSchema = z
  .string()
  .regex(/^20\d{2}-(0[1-9]|1[0-2])$/, bilingualCheck('a month is written YYYY-MM', '月份格式为 YYYY-MM'))
  .openapi({ description: 'The month (China Standard Time); default: the current month', example: '2026-12' });

const rankingsRoute = protectedRoute({
  method: 'get',
  path: '/v1/supervision/rankings',
  operationId: 'getMonthlyRankings',
  tags: ['supervision'],
  summary: "A month's 群众满意窗口 (windows) and 为民服务标兵 (operators), from ratings, on-time rate and volume",
  description:
    "Within your centre's subtree. Ranked: at least RANKING_MINIMUM_RATINGS ratings in the month. " +
    'The formula and its tie-break: docs/ratings.md.',
  scopes: SUPERVISION_SCOPES,
  request: { query: CentreQuery.extend({ month: MonthSchema.optional() }) },
  responses: {
    200: { description: 'The rankings', content: { 'application/json': { schema: RankingsSchema } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

/** Like `protectedRoute`, with HTTP Basic client credentials accepted besides bearer tokens (see access.ts). */
function basicOrBearerRoute<R extends NamedRouteConfig>(config: R) {
  // Either requirement suffices (OpenAPI: alternatives); bearerAuth first, as on every protected route.
  const security: Record<string, string[]>[] = [
    { [BEARER_SCHEME]: [...SUPERVISION_SCOPES] },
    { [BASIC_SCHEME]: [...SUPERVISION_SCOPES] },
  ];
  return createRoute({
    ...config,
    security,
    middleware: [
      basicOrBearer({
        scopes: SUPERVISION_SCOPES,
        htmlRefusal: (error, c) => {
          const language = pageLanguage(c);
          c.header('Content-Language', language);
          c.header('Vary', 'Accept-Language', { append: true });
          return renderSignInRefusalPage(language, error.status, error.code);
        },
        htmlHeaders: { 'Content-Security-Policy': supervisionPagePolicy(null) },
      }),
    ],
  });
}

const PageLanguageQuery = z.object({
  lang: z
    .enum(LANGUAGES)
    .optional()
    .openapi({ description: 'The language of the page; default: from Accept-Language, then DEFAULT_LANGUAGE.' }),
});

/**
 * The page's language: `?lang=` when it names one the gateway writes (the switch link sets it),
 * else Accept-Language, else the configured default. Read raw because a refusal is written
 * before the query is validated.
 */
function pageLanguage(c: Context<AppEnv>): Language {
  const asked = c.req.query('lang');
  const named = LANGUAGES.find((language) => language === asked);
  return named ?? requestLanguage(c, c.get('services').config.defaultLanguage);
}

/**
 * The page is not an API operation, but it is in the OpenAPI document like every route, with its
 * two ways in: a bearer token, or HTTP Basic with an auditor's or administrator's client id and
 * secret (what a browser asks a person for). `protectedRoute` knows only bearer tokens, hence
 * `basicOrBearerRoute`: the same policy plus Basic.
 */
const pageRoute = basicOrBearerRoute({
  method: 'get',
  path: '/supervision',
  operationId: 'getSupervisionPage',
  tags: ['supervision'],
  summary: 'The supervision page (HTML) for supervisors in a browser',
  description:
    'The same figures as the supervision API, at a glance. A browser asks for the client id and secret of an auditor ' +
    'or administrator client ' +
    '(HTTP Basic); scripts may send an access token instead. Every view is audited (`supervision.view`).',
  request: { query: PeriodQuery.extend(CentreQuery.shape).extend(PageLanguageQuery.shape) },
  responses: {
    200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
    ...errorResponses(400, 401, 403),
  },
});

const CaseListQuery = PeriodQuery.extend(CentreQuery.shape)
  .extend(PageLanguageQuery.shape)
  .extend({
    basis: z
      .enum(CASE_LIST_BASES)
      .default('accepted')
      .openapi({ description: 'Which date of a case puts it in the period: acceptance, opening, conclusion' }),
    status: z.enum(CASE_STATUSES).optional().openapi({ description: 'Only cases in this status now' }),
    department: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]{1,31}$/, bilingualCheck('a department code', '应为部门代码'))
      .optional()
      .openapi({ description: 'Only cases with a delivery to this department', example: 'PSB' }),
    outcome: z.enum(CASE_LIST_OUTCOMES).optional().openapi({
      description:
        'on_time / late: concluded by / after the due date; overdue: concluded late, or open past the due date today',
    }),
    overdueOn: DateSchema.refine(
      (day) => day >= PERIOD_LIMITS.earliest && day <= PERIOD_LIMITS.latest,
      bilingualCheck(
        `dates run from ${PERIOD_LIMITS.earliest} to ${PERIOD_LIMITS.latest}`,
        `日期须在 ${PERIOD_LIMITS.earliest} 至 ${PERIOD_LIMITS.latest} 之间`,
      ),
    )
      .optional()
      .openapi({
        description: 'Only cases overdue on this day, as the trend counts them (the period is then not used)',
        example: '2026-06-17',
      }),
    page: z.coerce.number().int().min(1).max(10_000).default(1).openapi({ description: '1-based' }),
  });

const caseListRoute = basicOrBearerRoute({
  method: 'get',
  path: '/supervision/cases',
  operationId: 'getSupervisionCaseList',
  tags: ['supervision'],
  summary: 'The cases behind a figure of the supervision page (HTML), 50 a page',
  description:
    "Within your centre's subtree, as every supervision read. Applicants are named masked (张**); no identifier or contact. " +
    `Every view is audited (\`supervision.view\`, fields \`cases\`), and on the record of each person whose case it lists. ${PERIOD_RULE}`,
  request: { query: CaseListQuery },
  responses: {
    200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

const exportRoute = basicOrBearerRoute({
  method: 'get',
  path: '/supervision/export',
  operationId: 'exportSupervisionTable',
  tags: ['supervision'],
  summary: 'A table of the supervision page, or the cases behind a figure, as CSV or XLSX',
  description:
    'The same figures, scope and masking as the page; column headers in the page language (Chinese by default, ' +
    '`?lang=en`). CSV is UTF-8 with a byte order mark; `table=all` (XLSX only) writes every table of the page, one ' +
    'worksheet each; `table=cases` takes the case list filters. Every export is audited (`supervision.export`); ' +
    "a case list's is on the record of each person whose case it lists too.",
  request: {
    query: CaseListQuery.extend({
      table: z
        .enum([...PAGE_TABLE_IDS, 'cases', 'all'])
        .openapi({ description: 'The id of the table on the page', example: 'trend-days' }),
      format: z.enum(EXPORT_FORMATS).default('csv'),
    }),
  },
  responses: {
    200: {
      description: 'The file',
      content: {
        'text/csv': { schema: z.string() },
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {
          schema: z.string().openapi({ format: 'binary' }),
        },
      },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

/**
 * The period asked for, with defaults; refused (400, naming the limits) when it starts after it
 * ends, leaves PERIOD_LIMITS or is longer than they allow.
 */
export function resolvePeriod(
  query: { from?: string | undefined; to?: string | undefined },
  today: string,
): SummaryPeriod {
  const to = query.to ?? today;
  const defaultFrom = addDays(to, -(DEFAULT_PERIOD_DAYS - 1));
  // A default never makes a valid `to` fail: it stops at the earliest date.
  const from =
    query.from ??
    (defaultFrom < PERIOD_LIMITS.earliest && to >= PERIOD_LIMITS.earliest ? PERIOD_LIMITS.earliest : defaultFrom);
  const period = { from, to };
  checkPeriod(period);
  return period;
}

async function currentWarnings(
  c: Context<AppEnv>,
  today: string,
  scope: SupervisionScope | null,
): Promise<SupervisionWarnings> {
  const services = c.get('services');
  return supervisionWarnings(services.db, await services.calendar.current(), {
    today,
    warningShare: services.config.supervision.warningShare,
    scope,
  });
}

/** The part of the tree this read covers (see scope.ts). */
async function scopeOf(c: Context<AppEnv>, requested: string | undefined): Promise<SupervisionScope | null> {
  const services = c.get('services');
  const directory = await services.access.reference.centreDirectoryWith(services.db, [requested]);
  return supervisionScope(directory, c.get('principal'), requested);
}

/** Everything the page shows, read for one request (the page and its exports). */
async function loadPageFigures(
  c: Context<AppEnv>,
  query: { from?: string | undefined; to?: string | undefined; centre?: string | undefined },
): Promise<{ figures: PageFigures; scope: SupervisionScope | null }> {
  const services = c.get('services');
  const today = chinaToday(services.clock.now());
  const period = resolvePeriod(query, today);
  const scope = await scopeOf(c, query.centre);
  const summary = await supervisionSummary(services.db, services, period, scope);
  const warnings = await currentWarnings(c, today, scope);
  const centres =
    scope === null
      ? null
      : await centreStatistics(
          services.db,
          await services.access.reference.centreDirectory(services.db),
          scope,
          period,
          today,
        );
  const ratings = await ratingFigures(services.db, scope, period, 'centre', today);
  const minimum = services.config.ratings.rankingMinimumRatings;
  const rankings = await monthlyRankings(services.db, scope, period.to.slice(0, 7), minimum);
  // Trends run to the period's last day, never past today.
  const trends = await supervisionTrends(services.db, scope, period.to < today ? period.to : today);
  const language = pageLanguage(c);
  return { figures: { today, summary, warnings, centres, ratings, rankings, trends, language }, scope };
}

type CaseListQueryValues = z.infer<typeof CaseListQuery>;

/** The case list a request asks for, within the caller's scope, and what it is in words. */
async function loadCaseList(
  c: Context<AppEnv>,
  query: CaseListQueryValues,
): Promise<{ list: CaseList; scope: SupervisionScope | null; description: string; today: string }> {
  const services = c.get('services');
  const today = chinaToday(services.clock.now());
  const period = resolvePeriod(query, today);
  const scope = await scopeOf(c, query.centre);
  const filter: CaseListFilter = {
    period,
    basis: query.basis,
    status: query.status,
    department: query.department,
    outcome: query.outcome,
    overdueOn: query.overdueOn,
    page: query.page,
  };
  const list = await supervisionCases(services.db, services.access.protection, scope, filter, today);
  const language = pageLanguage(c);
  const t = (key: Parameters<typeof pageText>[1], values?: Record<string, string | number>) =>
    pageText(language, key, values);
  const parts = [t('caseListTitle'), scope ? t('caseListCentre', { name: scope.name }) : t('caseListProvince')];
  if (filter.overdueOn !== undefined) parts.push(t('caseListOverdueOn', { day: filter.overdueOn }));
  else
    parts.push(
      t(
        filter.basis === 'accepted'
          ? 'caseListBasisAccepted'
          : filter.basis === 'opened'
            ? 'caseListBasisOpened'
            : 'caseListBasisConcluded',
        { from: period.from, to: period.to },
      ),
    );
  if (filter.status !== undefined) parts.push(t('caseListStatus', { status: t(STATUS_KEYS[filter.status]) }));
  if (filter.department !== undefined) parts.push(t('caseListDepartment', { code: filter.department }));
  if (filter.outcome !== undefined)
    parts.push(
      t(
        filter.outcome === 'on_time'
          ? 'caseListOutcomeOnTime'
          : filter.outcome === 'late'
            ? 'caseListOutcomeLate'
            : 'caseListOutcomeOverdue',
      ),
    );
  return { list, scope, description: parts.join(' · '), today };
}

const STATUS_KEYS = {
  open: 'statusOpen',
  submitted: 'statusSubmitted',
  in_progress: 'statusInProgress',
  awaiting_applicant: 'statusAwaitingApplicant',
  completed: 'statusCompleted',
  rejected: 'statusRejected',
  partially_rejected: 'statusPartiallyRejected',
} as const;

/** The case list's own query again (for its pages and exports), with `changes`. */
function caseListHref(path: string, query: CaseListQueryValues, language: string, changes: Record<string, string>) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && name !== 'lang') search.set(name, String(value));
  search.set('lang', language);
  for (const [name, value] of Object.entries(changes)) search.set(name, value);
  return `${path}?${search.toString()}`;
}

/** A download name: `supervision-trend-days-2026-06-17.csv`. */
const fileName = (table: string, today: string, format: string) => `supervision-${table}-${today}.${format}`;

/**
 * The view or export on record; a case list's also on the record of each person whose case it
 * shows (masked, but their case: the citizen sees who looked at it and why), in one transaction.
 */
async function auditRead(
  c: Context<AppEnv>,
  action: string,
  fields: string[],
  scope: SupervisionScope | null,
  applicants: CaseList['applicants'] = [],
): Promise<void> {
  const centre = scope === null ? [] : [`centre:${scope.code}`];
  const entry = {
    actor: c.get('principal'),
    action,
    outcome: 'allowed' as const,
    requestId: c.get('requestId'),
    purpose: 'supervision',
  };
  const summary = { ...entry, fields: [...fields, ...centre] };
  const db = c.get('services').db;
  if (applicants.length === 0) {
    await recordAudit(db, summary);
    return;
  }
  const perApplicant = applicants.map(({ subjectId, caseNumber }) => ({
    ...entry,
    subjectRef: subjectId,
    caseRef: caseNumber,
    fields: ['case_list', 'applicant_name:masked', ...centre],
  }));
  await db.transaction((tx) => recordAuditMany(tx, [summary, ...perApplicant]));
}

export function registerSupervisionRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', BASIC_SCHEME, {
    type: 'http',
    scheme: 'basic',
    description:
      'The client id and secret of a client holding the scopes (an auditor or administrator); only the supervision page accepts it.',
  });

  app.openapi(warningsRoute, async (c) => {
    const scope = await scopeOf(c, c.req.valid('query').centre);
    const warnings = await currentWarnings(c, chinaToday(c.get('services').clock.now()), scope);
    await auditRead(c, 'supervision.read', ['warnings'], scope);
    return c.json(warnings, 200);
  });

  app.openapi(summaryRoute, async (c) => {
    const services = c.get('services');
    const query = c.req.valid('query');
    const period = resolvePeriod(query, chinaToday(services.clock.now()));
    const scope = await scopeOf(c, query.centre);
    const summary = await supervisionSummary(services.db, services, period, scope);
    await auditRead(c, 'supervision.read', ['summary'], scope);
    return c.json(summary, 200);
  });

  app.openapi(centreStatisticsRoute, async (c) => {
    const services = c.get('services');
    const query = c.req.valid('query');
    const today = chinaToday(services.clock.now());
    const period = resolvePeriod(query, today);
    const scope = await scopeOf(c, query.centre);
    if (scope === null)
      throw new ApiError('validation_failed', message('supervision.centre_required'), {
        errors: [
          fieldProblem('centre', 'required for a supervisor of no centre', '未隶属任何服务中心的督查人员须指定中心'),
        ],
      });
    const directory = await services.access.reference.centreDirectory(services.db);
    const statistics = await centreStatistics(services.db, directory, scope, period, today);
    await auditRead(c, 'supervision.read', ['centres'], scope);
    return c.json(statistics, 200);
  });

  app.openapi(ratingFiguresRoute, async (c) => {
    const services = c.get('services');
    const query = c.req.valid('query');
    const today = chinaToday(services.clock.now());
    const period = resolvePeriod(query, today);
    const scope = await scopeOf(c, query.centre);
    const figures = await ratingFigures(services.db, scope, period, query.by, today);
    await auditRead(c, 'supervision.read', ['ratings'], scope);
    return c.json(figures, 200);
  });

  app.openapi(rankingsRoute, async (c) => {
    const services = c.get('services');
    const query = c.req.valid('query');
    const scope = await scopeOf(c, query.centre);
    const month = query.month ?? chinaToday(services.clock.now()).slice(0, 7);
    const minimum = services.config.ratings.rankingMinimumRatings;
    const rankings: Rankings = await monthlyRankings(services.db, scope, month, minimum);
    await auditRead(c, 'supervision.read', ['rankings'], scope);
    return c.json(rankings, 200);
  });

  app.openapi(pageRoute, async (c) => {
    const { figures, scope } = await loadPageFigures(c, c.req.valid('query'));
    await auditRead(c, 'supervision.view', ['warnings', 'summary', 'ratings', 'rankings', 'trends'], scope);
    const nonce = randomBytes(16).toString('base64');
    const viewer = c.get('principal').clientId;
    const html = await renderSupervisionPage({ ...figures, viewer, nonce });
    c.header('Content-Security-Policy', supervisionPagePolicy(nonce));
    c.header('Content-Language', figures.language);
    c.header('Vary', 'Accept-Language', { append: true });
    return c.html(html, 200);
  });

  app.openapi(caseListRoute, async (c) => {
    const query = c.req.valid('query');
    const { list, scope, description, today } = await loadCaseList(c, query);
    await auditRead(
      c,
      'supervision.view',
      ['cases', `page:${list.filter.page}`, `rows:${list.items.length}`],
      scope,
      list.applicants,
    );
    const language = pageLanguage(c);
    const nonce = randomBytes(16).toString('base64');
    const backQuery = new URLSearchParams({ from: list.filter.period.from, to: list.filter.period.to });
    if (query.centre !== undefined) backQuery.set('centre', query.centre);
    backQuery.set('lang', language);
    const html = await renderCaseListPage({
      list,
      description,
      pageHref: (page) => caseListHref('/supervision/cases', query, language, { page: String(page) }),
      exportHref: (format) =>
        caseListHref('/supervision/export', query, language, {
          table: 'cases',
          format,
          page: String(list.filter.page),
        }),
      backHref: `/supervision?${backQuery.toString()}`,
      viewer: c.get('principal').clientId,
      today,
      nonce,
      language,
    });
    c.header('Content-Security-Policy', supervisionPagePolicy(nonce));
    c.header('Content-Language', language);
    c.header('Vary', 'Accept-Language', { append: true });
    return c.html(html, 200);
  });

  app.openapi(exportRoute, async (c) => {
    const query = c.req.valid('query');
    const language = pageLanguage(c);
    let tables: ExportTable[];
    let scope: SupervisionScope | null;
    let today: string;
    let applicants: CaseList['applicants'] = [];
    if (query.table === 'cases') {
      const loaded = await loadCaseList(c, query);
      tables = [caseListTable(loaded.list, language, loaded.description)];
      applicants = loaded.list.applicants;
      scope = loaded.scope;
      today = loaded.today;
    } else {
      const loaded = await loadPageFigures(c, query);
      const all = pageTables(loaded.figures);
      tables = query.table === 'all' ? all : all.filter((table) => table.id === query.table);
      scope = loaded.scope;
      today = loaded.figures.today;
      if (tables.length === 0)
        throw new ApiError('not_found', message('supervision.no_table', { table: query.table }), {
          table: query.table,
        });
    }
    if (query.format === 'csv' && tables.length !== 1)
      throw new ApiError('validation_failed', message('supervision.csv_one_table'), {
        errors: [fieldProblem('format', 'table=all is written as xlsx only', 'table=all 只能导出为 xlsx 格式')],
      });
    await auditRead(
      c,
      'supervision.export',
      [
        `table:${query.table}`,
        `format:${query.format}`,
        ...tables.map((table) => `rows:${table.id}:${table.rows.length}`),
      ],
      scope,
      applicants,
    );
    c.header('Content-Language', language);
    c.header('Vary', 'Accept-Language', { append: true });
    c.header('Cache-Control', 'no-store');
    c.header('Content-Disposition', `attachment; filename="${fileName(query.table, today, query.format)}"`);
    const [only] = tables;
    if (query.format === 'csv' && only) {
      c.header('Content-Type', 'text/csv; charset=utf-8');
      return c.body(tableAsCsv(only), 200);
    }
    const workbook = await tablesAsXlsx(tables, c.get('principal').clientId);
    c.header('Content-Type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    return c.body(new Uint8Array(workbook), 200);
  });
}
