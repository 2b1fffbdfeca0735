/**
 * The calendar document: one year's public holidays and adjusted workdays as the State Council
 * announces them (`gateway/calendar/data/cn-calendar-2026.json` is one). Administrators load such
 * documents for other years, so the validator refuses what would silently corrupt deadlines and
 * lists every problem at once:
 *
 * - every date real and in the document's year — except the weekend days a holiday may run over
 *   at the turn of the year ("2022-12-31 to 2023-01-02"), which are off anyway; a weekday or an
 *   adjusted workday of another year changes that year, so it belongs in that year's document;
 * - a holiday ends on or after the day it begins, is at most 31 days long (a longer one is a typo
 *   that would wipe out weeks of working days), and overlaps no other holiday;
 * - an adjusted workday is a Saturday or Sunday (any other day is a working day already), listed
 *   once, and not also a day off;
 * - unknown members are refused, so a misspelt `adjustedWorkday` cannot load an empty list.
 *
 * A holiday made only of weekend days is accepted: it changes nothing, but is not wrong.
 */
import { z } from '@hono/zod-openapi';
import { isCalendarDate } from '../materials/dates.js';
import { ApiError, message } from '../platform/errors.js';
import {
  dateOfDayNumber,
  dayNumberOf,
  isWeekendDayNumber,
  weekdayOfDayNumber,
  yearOfDayNumber,
  type CalendarYearExceptions,
} from './calendar.js';

export const MIN_CALENDAR_YEAR = 2000;
export const MAX_CALENDAR_YEAR = 2100;
/** Longer than any holiday ever announced (the longest are 8–10 days) with room for exceptional extensions. */
export const MAX_HOLIDAY_DAYS = 31;

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

export const CalendarDateSchema = z
  .string()
  .superRefine((value, context) => {
    if (isCalendarDate(value)) return;
    const shown = value.length <= 40 ? JSON.stringify(value) : 'the value';
    context.addIssue({
      code: 'custom',
      message: `${shown} is not a calendar date written YYYY-MM-DD (years 1900–2199)`,
    });
  })
  .openapi({ example: '2026-10-01', description: 'A date, YYYY-MM-DD' });

export const CalendarYearSchema = z.number().int().min(MIN_CALENDAR_YEAR).max(MAX_CALENDAR_YEAR);

export const CalendarHolidaySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100).openapi({ example: 'National Day' }),
    from: CalendarDateSchema,
    to: CalendarDateSchema.openapi({ description: 'The last day off, inclusive' }),
  })
  .openapi('CalendarHoliday');

const CalendarDocumentShape = z.strictObject({
  year: CalendarYearSchema.openapi({ example: 2026 }),
  source: z
    .string()
    .trim()
    .min(1)
    .max(500)
    .openapi({ description: 'Where the arrangement comes from (the notice and its date)' }),
  note: z.string().max(2000).optional(),
  holidays: z
    .array(CalendarHolidaySchema)
    .max(100)
    .openapi({ description: 'Days off beyond ordinary weekends, weekend days inside a holiday included' }),
  adjustedWorkdays: z
    .array(CalendarDateSchema)
    .max(100)
    .openapi({ description: 'Saturdays and Sundays that are working days' }),
});

export type CalendarDocument = z.infer<typeof CalendarDocumentShape>;

type RefinementContext = Parameters<Parameters<typeof CalendarDocumentShape.superRefine>[0]>[1];

function checkCalendarDocument(document: CalendarDocument, context: RefinementContext): void {
  const { year } = document;
  // Problems with the year itself are reported by its own schema; without a year there is nothing to check against.
  if (!CalendarYearSchema.safeParse(year).success) return;
  const problem = (path: (string | number)[], message: string) => context.addIssue({ code: 'custom', path, message });
  /** Day number → the holiday (index) that takes that day off, for days inside the year. */
  const dayOff = new Map<number, number>();

  // Zod runs this even when a date above failed its own check (those problems are listed
  // already), so every step skips what is not a real date.
  document.holidays.forEach((holiday, index) => {
    const path = ['holidays', index];
    if (!isCalendarDate(holiday.from) || !isCalendarDate(holiday.to)) return;
    const first = dayNumberOf(holiday.from);
    const last = dayNumberOf(holiday.to);
    if (last < first) {
      problem([...path, 'to'], `"${holiday.name}" ends (${holiday.to}) before it begins (${holiday.from})`);
      return;
    }
    const length = last - first + 1;
    if (length > MAX_HOLIDAY_DAYS) {
      problem(
        path,
        `"${holiday.name}" runs ${length} days, from ${holiday.from} to ${holiday.to}; a holiday is at most ` +
          `${MAX_HOLIDAY_DAYS} days — check the dates`,
      );
      return;
    }
    const foreignWeekdays: string[] = [];
    const overlapped = new Set<number>();
    let daysInYear = 0;
    for (let dayNumber = first; dayNumber <= last; dayNumber += 1) {
      if (yearOfDayNumber(dayNumber) !== year) {
        if (!isWeekendDayNumber(dayNumber)) foreignWeekdays.push(dateOfDayNumber(dayNumber));
        continue;
      }
      daysInYear += 1;
      const other = dayOff.get(dayNumber);
      if (other !== undefined && !overlapped.has(other)) {
        overlapped.add(other);
        problem(
          path,
          `"${holiday.name}" overlaps "${document.holidays[other]?.name}" (holidays.${other}) on ${dateOfDayNumber(dayNumber)}`,
        );
      }
      if (other === undefined) dayOff.set(dayNumber, index);
    }
    if (daysInYear === 0) {
      problem(
        path,
        `"${holiday.name}" (${holiday.from} to ${holiday.to}) lies entirely outside ${year}; it belongs in that year's calendar`,
      );
    } else if (foreignWeekdays.length > 0) {
      problem(
        path,
        `"${holiday.name}" includes ${foreignWeekdays.join(', ')}, outside ${year}: only weekend days of another ` +
          'year may be part of a holiday here; ' +
          `a weekday of another year belongs in that year's calendar`,
      );
    }
  });

  const seenWorkdays = new Map<number, number>();
  document.adjustedWorkdays.forEach((day, index) => {
    const path = ['adjustedWorkdays', index];
    if (!isCalendarDate(day)) return;
    const dayNumber = dayNumberOf(day);
    const dayYear = yearOfDayNumber(dayNumber);
    if (dayYear !== year) {
      problem(
        path,
        `${day} is in ${dayYear}, not ${year}: add it to the ${dayYear} calendar (load that year again with it)`,
      );
      return;
    }
    const earlier = seenWorkdays.get(dayNumber);
    if (earlier !== undefined) {
      problem(path, `${day} is listed twice (also adjustedWorkdays.${earlier})`);
      return;
    }
    seenWorkdays.set(dayNumber, index);
    if (!isWeekendDayNumber(dayNumber)) {
      problem(
        path,
        `${day} is a ${WEEKDAY_NAMES[weekdayOfDayNumber(dayNumber)]}, a working day anyway: an adjusted workday is a ` +
          'Saturday or Sunday that is worked',
      );
    }
    const holiday = dayOff.get(dayNumber);
    if (holiday !== undefined) {
      problem(
        path,
        `${day} is also a day off of "${document.holidays[holiday]?.name}" (holidays.${holiday}): a day is either a ` +
          'holiday or an adjusted workday',
      );
    }
  });
}

/** The calendar document with every check; the body schema of `PUT /v1/calendar/years/{year}`. */
export const CalendarDocumentSchema =
  CalendarDocumentShape.superRefine(checkCalendarDocument).openapi('CalendarDocument');

export interface CalendarProblem {
  path: string;
  message: string;
}

export function calendarProblems(error: z.ZodError): CalendarProblem[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
}

export function calendarInvalid(problems: CalendarProblem[]): ApiError {
  return new ApiError('calendar_invalid', message('calendar.invalid', { count: problems.length }), {
    errors: problems,
  });
}

/** The validated document, or `calendar_invalid` listing every problem. */
export function parseCalendarDocument(input: unknown): CalendarDocument {
  const result = CalendarDocumentSchema.safeParse(input);
  if (!result.success) throw calendarInvalid(calendarProblems(result.error));
  return result.data;
}

/** The days a valid document sets inside its year: each day off with its holiday's name, and the adjusted workdays. */
export function exceptionsOf(document: CalendarDocument): CalendarYearExceptions {
  const holidays: { day: string; name: string }[] = [];
  for (const holiday of document.holidays) {
    for (let dayNumber = dayNumberOf(holiday.from); dayNumber <= dayNumberOf(holiday.to); dayNumber += 1) {
      if (yearOfDayNumber(dayNumber) === document.year)
        holidays.push({ day: dateOfDayNumber(dayNumber), name: holiday.name });
    }
  }
  return { year: document.year, holidays, adjustedWorkdays: [...document.adjustedWorkdays] };
}
