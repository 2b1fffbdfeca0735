/**
 * Deadlines that reach into a year whose holidays are not published yet. The State Council
 * announces a year's holidays late in the year before; a centre still accepts cases in December,
 * and their statutory deadlines fall in the next year. Refusing them would stop the service, so
 * days of a year not loaded count by the weekday rule alone, and the dates computed from them are
 * marked provisional; they are recomputed when the year is loaded (see cases/deadlines.ts).
 */
import { ApiError } from '../platform/errors.js';
import type { WorkingCalendar } from './calendar.js';
import { dateOfDayNumber, dayNumberOf, isWeekendDayNumber, yearOfDayNumber } from './calendar.js';

export interface ProvisionalWorkingCalendar extends WorkingCalendar {
  /** Years between the two days (inclusive) that are counted by the weekday rule only. */
  provisionalYears(from: string, to: string): number[];
}

/** Years from `from`'s to `to`'s (inclusive) that are not among `loadedYears`. */
export function yearsNotLoaded(loadedYears: readonly number[], from: string, to: string): number[] {
  const years: number[] = [];
  for (let year = Number(from.slice(0, 4)); year <= Number(to.slice(0, 4)); year += 1) if (!loadedYears.includes(year)) years.push(year);
  return years;
}

export function withProvisionalYears(loaded: WorkingCalendar): ProvisionalWorkingCalendar {
  const known = new Set(loaded.years);
  const isWorking = (dayNumber: number): boolean => {
    const year = yearOfDayNumber(dayNumber);
    return known.has(year) ? loaded.isWorkingDay(dateOfDayNumber(dayNumber)) : !isWeekendDayNumber(dayNumber);
  };
  const spansUnknown = (from: string, to: string): boolean => yearsNotLoaded(loaded.years, from, to).length > 0;
  return {
    years: loaded.years,
    isWorkingDay: (day) => isWorking(dayNumberOf(day)),
    addWorkingDays(from, days) {
      try {
        return loaded.addWorkingDays(from, days);
      } catch (error) {
        if (!isCalendarYearMissing(error)) throw error;
      }
      let dayNumber = dayNumberOf(from);
      for (let counted = 0; counted < days; ) {
        dayNumber += 1;
        if (isWorking(dayNumber)) counted += 1;
      }
      return dateOfDayNumber(dayNumber);
    },
    workingDaysBetween(from, to) {
      if (!spansUnknown(from, to)) return loaded.workingDaysBetween(from, to);
      let count = 0;
      for (let dayNumber = dayNumberOf(from) + 1; dayNumber <= dayNumberOf(to); dayNumber += 1) if (isWorking(dayNumber)) count += 1;
      return count;
    },
    provisionalYears: (from, to) => yearsNotLoaded(loaded.years, from, to),
  };
}

function isCalendarYearMissing(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'calendar_year_missing';
}
