/**
 * The working-day calendar legal deadlines are counted in: Monday to Friday are working days and
 * Saturday and Sunday are not, except for the public holidays and adjusted workdays (调休: weekend
 * days that are worked to bridge a holiday) the State Council announces for each year.
 *
 * Pure logic over the loaded years, with no database access per call: each year is one table of
 * working-day flags and running counts, so checking a day is a lookup, counting the working days
 * between two dates costs a subtraction per year crossed, and adding working days a binary search.
 * Dates are `YYYY-MM-DD` strings (China Standard Time dates, as in materials/dates.ts); a day in
 * a year that is not loaded is never guessed at: it is `calendar_year_missing`.
 */
import { isCalendarDate } from '../materials/dates.js';
import { ApiError, message } from '../platform/errors.js';

export interface WorkingCalendar {
  /** `YYYY-MM-DD` */
  isWorkingDay(day: string): boolean;
  /** The `days`-th working day strictly after `from` (the acceptance day does not count); days = 0 → from. */
  addWorkingDays(from: string, days: number): string;
  /** Working days d with from < d <= to (0 when to <= from). */
  workingDaysBetween(from: string, to: string): number;
  /** Years loaded. */
  readonly years: readonly number[];
}

/**
 * What a day is: an ordinary `workday` (Mon–Fri) or `weekend`, a public `holiday` (named), or an
 * `adjusted_workday` (a weekend day that is worked).
 */
export type CalendarDayKind = 'workday' | 'weekend' | 'holiday' | 'adjusted_workday';

export interface CalendarDay {
  day: string;
  kind: CalendarDayKind;
  working: boolean;
  /** The holiday's name for a holiday, else null. */
  name: string | null;
}

/** A working calendar that can also say why a day is (not) a working day, e.g. for a due-date answer. */
export interface DescribedWorkingCalendar extends WorkingCalendar {
  describe(day: string): CalendarDay;
}

/** One year's exceptions to "Monday–Friday work, Saturday–Sunday off". */
export interface CalendarYearExceptions {
  year: number;
  /** Every day off of every holiday (weekend days inside a holiday included), with the holiday's name. */
  holidays: readonly { day: string; name: string | null }[];
  /** Weekend days that are working days. */
  adjustedWorkdays: readonly string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date; throws on anything that is not a real date. */
export function dayNumberOf(day: string): number {
  if (!isCalendarDate(day))
    throw new RangeError(`Not a calendar date written YYYY-MM-DD: ${JSON.stringify(day.slice(0, 40))}`);
  return Date.parse(`${day}T00:00:00Z`) / DAY_MS;
}

export function dateOfDayNumber(dayNumber: number): string {
  return new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekdayOfDayNumber(dayNumber: number): number {
  return (((dayNumber + 4) % 7) + 7) % 7;
}

export function isWeekendDayNumber(dayNumber: number): boolean {
  const weekday = weekdayOfDayNumber(dayNumber);
  return weekday === 0 || weekday === 6;
}

export function yearOfDayNumber(dayNumber: number): number {
  return new Date(dayNumber * DAY_MS).getUTCFullYear();
}

export function calendarYearMissing(year: number): ApiError {
  return new ApiError('calendar_year_missing', message('calendar.year_missing', { year }), { year });
}

/** One loaded year: a working-day flag per day and the running count of working days. */
interface YearTable {
  year: number;
  /** Day number of 1 January. */
  firstDay: number;
  length: number;
  working: Uint8Array;
  /** `workingBefore[i]`: working days among the year's first `i` days (`length + 1` entries). */
  workingBefore: Uint16Array;
  kinds: CalendarDayKind[];
  /** Holiday names by index in the year. */
  holidayNames: Map<number, string | null>;
}

function buildYearTable(exceptions: CalendarYearExceptions): YearTable {
  const { year } = exceptions;
  const firstDay = Date.UTC(year, 0, 1) / DAY_MS;
  const length = Date.UTC(year + 1, 0, 1) / DAY_MS - firstDay;
  const kinds: CalendarDayKind[] = [];
  for (let index = 0; index < length; index += 1)
    kinds.push(isWeekendDayNumber(firstDay + index) ? 'weekend' : 'workday');
  const indexInYear = (day: string): number => {
    const index = dayNumberOf(day) - firstDay;
    if (index < 0 || index >= length) throw new RangeError(`${day} is not in ${year}`);
    return index;
  };
  const holidayNames = new Map<number, string | null>();
  for (const holiday of exceptions.holidays) {
    const index = indexInYear(holiday.day);
    kinds[index] = 'holiday';
    holidayNames.set(index, holiday.name);
  }
  for (const day of exceptions.adjustedWorkdays) {
    const index = indexInYear(day);
    if (kinds[index] === 'holiday') throw new RangeError(`${day} is both a holiday and an adjusted workday`);
    kinds[index] = 'adjusted_workday';
  }
  const working = new Uint8Array(length);
  const workingBefore = new Uint16Array(length + 1);
  for (let index = 0; index < length; index += 1) {
    const isWorking = kinds[index] === 'workday' || kinds[index] === 'adjusted_workday';
    working[index] = isWorking ? 1 : 0;
    workingBefore[index + 1] = workingBefore[index]! + (isWorking ? 1 : 0);
  }
  return { year, firstDay, length, working, workingBefore, kinds, holidayNames };
}

class LoadedWorkingCalendar implements DescribedWorkingCalendar {
  readonly years: readonly number[];
  private readonly tables: ReadonlyMap<number, YearTable>;

  constructor(years: readonly CalendarYearExceptions[]) {
    const tables = new Map<number, YearTable>();
    for (const exceptions of years) {
      if (tables.has(exceptions.year)) throw new RangeError(`The year ${exceptions.year} is given twice`);
      tables.set(exceptions.year, buildYearTable(exceptions));
    }
    this.tables = tables;
    this.years = Object.freeze([...tables.keys()].sort((a, b) => a - b));
  }

  private tableOf(dayNumber: number): YearTable {
    const year = yearOfDayNumber(dayNumber);
    const table = this.tables.get(year);
    if (!table) throw calendarYearMissing(year);
    return table;
  }

  isWorkingDay(day: string): boolean {
    const dayNumber = dayNumberOf(day);
    const table = this.tableOf(dayNumber);
    return table.working[dayNumber - table.firstDay] === 1;
  }

  describe(day: string): CalendarDay {
    const dayNumber = dayNumberOf(day);
    const table = this.tableOf(dayNumber);
    const index = dayNumber - table.firstDay;
    const kind = table.kinds[index]!;
    return {
      day,
      kind,
      working: table.working[index] === 1,
      name: kind === 'holiday' ? (table.holidayNames.get(index) ?? null) : null,
    };
  }

  addWorkingDays(from: string, days: number): string {
    if (!Number.isSafeInteger(days) || days < 0)
      throw new RangeError(`Working days must be a whole number ≥ 0, not ${days}`);
    const start = dayNumberOf(from);
    if (days === 0) return from;
    let remaining = days;
    // Each pass consumes the rest of one loaded year, so the loop ends within the loaded years or
    // at the first missing one.
    for (let cursor = start + 1; ; ) {
      const table = this.tableOf(cursor);
      const startIndex = cursor - table.firstDay;
      const countedBefore = table.workingBefore[startIndex]!;
      const availableThisYear = table.workingBefore[table.length]! - countedBefore;
      if (remaining <= availableThisYear) {
        // The smallest k with workingBefore[k] >= countedBefore + remaining; the day is index k − 1.
        const target = countedBefore + remaining;
        let low = startIndex + 1;
        let high = table.length;
        while (low < high) {
          const middle = (low + high) >>> 1;
          if (table.workingBefore[middle]! >= target) high = middle;
          else low = middle + 1;
        }
        return dateOfDayNumber(table.firstDay + low - 1);
      }
      remaining -= availableThisYear;
      cursor = table.firstDay + table.length;
    }
  }

  workingDaysBetween(from: string, to: string): number {
    const start = dayNumberOf(from);
    const end = dayNumberOf(to);
    let count = 0;
    for (let cursor = start + 1; cursor <= end; ) {
      const table = this.tableOf(cursor);
      const startIndex = cursor - table.firstDay;
      const endIndexExclusive = Math.min(end - table.firstDay + 1, table.length);
      count += table.workingBefore[endIndexExclusive]! - table.workingBefore[startIndex]!;
      cursor = table.firstDay + endIndexExclusive;
    }
    return count;
  }
}

/**
 * A calendar over the given years. Throws RangeError when the exceptions contradict themselves
 * (a day outside its year, a day both off and worked): callers pass validated documents or
 * stored rows, so that is a bug, not bad input.
 */
export function createWorkingCalendar(years: readonly CalendarYearExceptions[]): DescribedWorkingCalendar {
  return new LoadedWorkingCalendar(years);
}
