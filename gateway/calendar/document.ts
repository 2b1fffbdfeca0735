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
import { type FieldProblem, bilingualIssue, fieldProblemsOf } from '../platform/field-problems.js';
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
const WEEKDAY_NAMES_ZH = ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'] as const;

export const CalendarDateSchema = z
  .string()
  .superRefine((value, context) => {
    if (isCalendarDate(value)) return;
    const shown = value.length <= 40 ? JSON.stringify(value) : undefined;
    context.addIssue({
      code: 'custom',
      ...bilingualIssue(
        `${shown ?? 'the value'} is not a calendar date written YYYY-MM-DD (years 1900–2199)`,
        `${shown ? `${shown} ` : '该值'}不是格式为 YYYY-MM-DD 的真实日期（年份 1900–2199）`,
      ),
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
  const problem = (path: (string | number)[], en: string, zh: string) =>
    context.addIssue({ code: 'custom', path, ...bilingualIssue(en, zh) });
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
      problem(
        [...path, 'to'],
        `"${holiday.name}" ends (${holiday.to}) before it begins (${holiday.from})`,
        `“${holiday.name}”的结束日（${holiday.to}）早于开始日（${holiday.from}）`,
      );
      return;
    }
    const length = last - first + 1;
    if (length > MAX_HOLIDAY_DAYS) {
      problem(
        path,
        `"${holiday.name}" runs ${length} days, from ${holiday.from} to ${holiday.to}; a holiday is at most ` +
          `${MAX_HOLIDAY_DAYS} days — check the dates`,
        `“${holiday.name}”从 ${holiday.from} 到 ${holiday.to} 共 ${length} 天；一个假期最长 ${MAX_HOLIDAY_DAYS} 天，` +
          '请核对日期',
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
          `“${holiday.name}”与“${document.holidays[other]?.name}”（holidays.${other}）在 ${dateOfDayNumber(dayNumber)} 重叠`,
        );
      }
      if (other === undefined) dayOff.set(dayNumber, index);
    }
    if (daysInYear === 0) {
      problem(
        path,
        `"${holiday.name}" (${holiday.from} to ${holiday.to}) lies entirely outside ${year}; it belongs in that year's calendar`,
        `“${holiday.name}”（${holiday.from} 至 ${holiday.to}）完全不在 ${year} 年内，应列入它所在年份的日历`,
      );
    } else if (foreignWeekdays.length > 0) {
      problem(
        path,
        `"${holiday.name}" includes ${foreignWeekdays.join(', ')}, outside ${year}: only weekend days of another ` +
          'year may be part of a holiday here; ' +
          `a weekday of another year belongs in that year's calendar`,
        `“${holiday.name}”包含 ${year} 年以外的 ${foreignWeekdays.join('、')}：这里的假期只能跨入另一年的周末，` +
          '另一年的工作日应列入该年的日历',
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
        `${day} 属于 ${dayYear} 年而不是 ${year} 年：请把它加入 ${dayYear} 年的日历（重新加载该年日历）`,
      );
      return;
    }
    const earlier = seenWorkdays.get(dayNumber);
    if (earlier !== undefined) {
      problem(
        path,
        `${day} is listed twice (also adjustedWorkdays.${earlier})`,
        `${day} 重复列出（另见 adjustedWorkdays.${earlier}）`,
      );
      return;
    }
    seenWorkdays.set(dayNumber, index);
    if (!isWeekendDayNumber(dayNumber)) {
      problem(
        path,
        `${day} is a ${WEEKDAY_NAMES[weekdayOfDayNumber(dayNumber)]}, a working day anyway: an adjusted workday is a ` +
          'Saturday or Sunday that is worked',
        `${day} 是${WEEKDAY_NAMES_ZH[weekdayOfDayNumber(dayNumber)]}，本来就是工作日：调休上班日只能是要上班的星期六或星期日`,
      );
    }
    const holiday = dayOff.get(dayNumber);
    if (holiday !== undefined) {
      problem(
        path,
        `${day} is also a day off of "${document.holidays[holiday]?.name}" (holidays.${holiday}): a day is either a ` +
          'holiday or an adjusted workday',
        `${day} 同时是“${document.holidays[holiday]?.name}”（holidays.${holiday}）的休息日：` +
          '一天只能是假日或调休上班日之一',
      );
    }
  });
}

/** The calendar document with every check; the body schema of `PUT /v1/calendar/years/{year}`. */
export const CalendarDocumentSchema =
  CalendarDocumentShape.superRefine(checkCalendarDocument).openapi('CalendarDocument');

/** Every problem of a calendar document, in English and in Chinese. */
export function calendarProblems(error: z.ZodError): FieldProblem[] {
  return fieldProblemsOf(error.issues);
}

export function calendarInvalid(problems: FieldProblem[]): ApiError {
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
