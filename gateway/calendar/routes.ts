/**
 * Working-day calendar API: administrators load a year's holidays and adjusted workdays; every
 * client can read the loaded years and ask for a due date (window systems quote the promised date
 * to the applicant from it).
 */
import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { recomputeDueDates } from '../cases/deadlines.js';
import type { AppEnv } from '../platform/context.js';
import { ApiError, message } from '../platform/errors.js';
import { fieldProblem } from '../platform/field-problems.js';
import { errorResponses } from '../platform/routes.js';
import { protectedRoute } from '../auth/protected-route.js';
import { dateOfDayNumber, dayNumberOf } from './calendar.js';
import type { ProvisionalCalendarDay } from './provisional.js';
import {
  CalendarDateSchema,
  CalendarDocumentSchema,
  MAX_CALENDAR_YEAR,
  MIN_CALENDAR_YEAR,
  calendarInvalid,
  calendarProblems,
} from './document.js';
import { getCalendarYear, listCalendarYears } from './store.js';

/**
 * The scope of the read routes, meant for any client. The route sweep wants every protected
 * route to name a scope, and `contracts:read` is the one every client kind holds by default
 * (window, department, integrator, auditor, admin); a dedicated scope would have to be granted
 * to every registered client first.
 */
const ANY_CLIENT_SCOPE = 'contracts:read';

/** The longest deadline the due-date endpoint computes; statutory limits are far shorter. */
const MAX_DUE_DATE_WORKING_DAYS = 1000;

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

const YearSummarySchema = z
  .object({
    year: z.number().int(),
    source: z.string(),
    loadedBy: z
      .string()
      .nullable()
      .openapi({ description: "The administrator's client id; null: seeded from the gateway's shipped data" }),
    loadedAt: z.string(),
    workingDayCount: z.number().int(),
    holidayWeekdayCount: z
      .number()
      .int()
      .openapi({ description: 'Holiday days on Monday–Friday (working days taken off)' }),
    adjustedWorkdayCount: z.number().int(),
  })
  .openapi('CalendarYearSummary');

const YearViewSchema = YearSummarySchema.extend({
  holidays: z
    .array(z.object({ name: z.string().nullable(), from: z.string(), to: z.string() }))
    .openapi({ description: 'Days off inside the year, as ranges' }),
  adjustedWorkdays: z.array(z.string()),
}).openapi('CalendarYear');

const SkippedDaySchema = z
  .object({
    day: z.string(),
    kind: z.enum(['weekend', 'holiday']),
    name: z.string().nullable().openapi({ description: "The holiday's name" }),
  })
  .openapi('CalendarSkippedDay');

const DueDateSchema = z
  .object({
    from: z.string().openapi({ description: 'The acceptance day; it does not count' }),
    workingDays: z.number().int(),
    dueDate: z.string(),
    calendarDays: z.number().int().openapi({ description: 'Calendar days from `from` to `dueDate`' }),
    skipped: z
      .array(SkippedDaySchema)
      .openapi({ description: 'The days between `from` and `dueDate` that did not count' }),
    adjustedWorkdays: z
      .array(z.string())
      .openapi({ description: 'Weekend days between `from` and `dueDate` that counted as working days' }),
    provisional: z.boolean().openapi({
      description:
        'True when a day counted lies in a year whose holidays are not loaded: those days count by weekday alone, and the ' +
        'due date may move once the year is loaded (running cases are recomputed then).',
    }),
    provisionalYears: z
      .array(z.number().int())
      .openapi({ description: 'The years counted by weekday alone', example: [] }),
  })
  .openapi('CalendarDueDate');

const YearParamSchema = z.coerce
  .number()
  .int()
  .min(MIN_CALENDAR_YEAR)
  .max(MAX_CALENDAR_YEAR)
  .openapi({ param: { name: 'year', in: 'path' }, example: 2027 });

const putYearRoute = protectedRoute({
  method: 'put',
  path: '/v1/calendar/years/{year}',
  operationId: 'putCalendarYear',
  tags: ['calendar'],
  summary: "Load a year's public holidays and adjusted workdays (replaces the year)",
  description:
    'The body is a calendar document, as `gateway/calendar/data/cn-calendar-2026.json`: `year` (the one in the path), ' +
    '`source`, `holidays` ([{name, from, to}], weekend days inside a holiday included) and `adjustedWorkdays` (weekend ' +
    'days that are worked). Every date must be in the year (a holiday may run over the weekend days at the turn of the ' +
    'year), a holiday ends after it begins and overlaps no other, an adjusted workday is a Saturday or Sunday and not a ' +
    "day off. Any problem: 422 `calendar_invalid` listing them all in `errors`. The year's days are replaced in one " +
    'transaction and used for deadlines at once on this instance, within 60 s on the others. Deadlines already computed ' +
    'are not recomputed.',
  scopes: ['catalogue:admin'],
  request: {
    params: z.object({ year: YearParamSchema }),
    body: { required: true, content: { 'application/json': { schema: CalendarDocumentSchema } } },
  },
  responses: {
    200: json(YearViewSchema, 'The year replaced an earlier load'),
    201: json(YearViewSchema, 'The year is loaded for the first time'),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

const listYearsRoute = protectedRoute({
  method: 'get',
  path: '/v1/calendar/years',
  operationId: 'listCalendarYears',
  tags: ['calendar'],
  summary: 'The loaded calendar years',
  scopes: [ANY_CLIENT_SCOPE],
  responses: {
    200: json(z.object({ items: z.array(YearSummarySchema) }), 'Oldest first'),
    ...errorResponses(401, 403),
  },
});

const getYearRoute = protectedRoute({
  method: 'get',
  path: '/v1/calendar/years/{year}',
  operationId: 'getCalendarYear',
  tags: ['calendar'],
  summary: "One loaded year's holidays and adjusted workdays",
  scopes: [ANY_CLIENT_SCOPE],
  request: { params: z.object({ year: YearParamSchema }) },
  responses: { 200: json(YearViewSchema, 'The year'), ...errorResponses(400, 401, 403, 404) },
});

const dueDateRoute = protectedRoute({
  method: 'get',
  path: '/v1/calendar/due-date',
  operationId: 'computeDueDate',
  tags: ['calendar'],
  summary: 'The due date `workingDays` working days after `from`, and the days skipped',
  description:
    'Counts working days strictly after `from` (the acceptance day does not count); `workingDays=0` answers `from`. ' +
    'Days of a year whose holidays are not loaded yet (the State Council publishes them late in the year before) count ' +
    'by weekday alone: the answer is then `provisional` and names the years, so a window can still quote a date in December.',
  scopes: [ANY_CLIENT_SCOPE],
  request: {
    query: z.object({
      from: CalendarDateSchema.openapi({ example: '2026-09-30' }),
      // A query value arrives as text; coercing makes the generator think it optional, so say it is a required integer.
      workingDays: z.coerce
        .number()
        .int()
        .min(0)
        .max(MAX_DUE_DATE_WORKING_DAYS)
        .openapi({
          type: 'integer',
          minimum: 0,
          maximum: MAX_DUE_DATE_WORKING_DAYS,
          example: 3,
          param: { required: true },
          description: 'Working days to add',
        }),
    }),
  },
  responses: { 200: json(DueDateSchema, 'The due date'), ...errorResponses(400, 401, 403) },
});

function provisionalPart(years: number[]): { provisional: boolean; provisionalYears: number[] } {
  return { provisional: years.length > 0, provisionalYears: years };
}

export function registerCalendarRoutes(app: OpenAPIHono<AppEnv>): void {
  app.openapi(
    putYearRoute,
    async (c) => {
      const { year } = c.req.valid('param');
      const document = c.req.valid('json');
      if (document.year !== year) {
        throw calendarInvalid([
          fieldProblem(
            'year',
            `The document is for ${document.year}, but the path names ${year}`,
            `文档是 ${document.year} 年的日历，但路径中的年份是 ${year}`,
          ),
        ]);
      }
      const { replaced } = await c
        .get('services')
        .calendar.load(document, c.get('principal'), { requestId: c.get('requestId') });
      // Running cases whose deadlines were counted without this year (or with its old version).
      await recomputeDueDates(c.get('services').db, await c.get('services').calendar.current());
      const view = await getCalendarYear(c.get('services').db, year);
      if (!view) throw new Error(`calendar year ${year} missing right after loading it`);
      return replaced ? c.json(view, 200) : c.json(view, 201);
    },
    // A document that fails validation is the calendar's own 422 listing every problem, not the
    // generic 400 of a malformed request.
    (result, c) => {
      if (!result.success && result.target === 'json') throw calendarInvalid(calendarProblems(result.error));
      return app.defaultHook?.(result, c);
    },
  );

  app.openapi(listYearsRoute, async (c) => c.json({ items: await listCalendarYears(c.get('services').db) }, 200));

  app.openapi(getYearRoute, async (c) => {
    const { year } = c.req.valid('param');
    const view = await getCalendarYear(c.get('services').db, year);
    if (!view) throw new ApiError('not_found', message('calendar.not_loaded', { year }));
    return c.json(view, 200);
  });

  app.openapi(dueDateRoute, async (c) => {
    const { from, workingDays } = c.req.valid('query');
    const calendar = await c.get('services').calendar.current();
    const dueDate = calendar.addWorkingDays(from, workingDays);
    const first = dayNumberOf(from);
    const last = dayNumberOf(dueDate);
    const between: ProvisionalCalendarDay[] = [];
    for (let dayNumber = first + 1; dayNumber <= last; dayNumber += 1)
      between.push(calendar.describe(dateOfDayNumber(dayNumber)));
    return c.json(
      {
        from,
        workingDays,
        dueDate,
        calendarDays: last - first,
        skipped: between.flatMap((day) =>
          day.kind === 'weekend' || day.kind === 'holiday' ? [{ day: day.day, kind: day.kind, name: day.name }] : [],
        ),
        adjustedWorkdays: between.filter((day) => day.kind === 'adjusted_workday').map((day) => day.day),
        ...provisionalPart(calendar.provisionalYears(from, dueDate)),
      },
      200,
    );
  });
}
