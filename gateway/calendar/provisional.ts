/**
 * Deadlines that reach into a year whose holidays are not published yet. The State Council
 * announces a year's holidays late in the year before; a centre still accepts cases in December,
 * and their statutory deadlines fall in the next year. Refusing them would stop the service, so
 * days of a year not loaded count by the weekday rule alone, and the dates computed from them are
 * marked provisional; they are recomputed when the year is loaded (see cases/deadlines.ts).
 *
 * The calendar service hands out only this form, so no path of the gateway can stop a window
 * from accepting a case because a year is missing.
 */
import type { CalendarDay, DescribedWorkingCalendar, WorkingCalendar } from './calendar.js';
import { dateOfDayNumber, dayNumberOf, isWeekendDayNumber, yearOfDayNumber } from './calendar.js';

export interface ProvisionalWorkingCalendar extends WorkingCalendar {
  /** Years between the two days (inclusive) that are counted by the weekday rule only. */
  provisionalYears(from: string, to: string): number[];
}

/** A day as the provisional calendar sees it: `provisional` when its year is not loaded. */
export interface ProvisionalCalendarDay extends CalendarDay {
  provisional: boolean;
}

export interface DescribedProvisionalCalendar extends ProvisionalWorkingCalendar {
  describe(day: string): ProvisionalCalendarDay;
}

const PROVISIONAL = Symbol('provisional calendar');

/** Years from `from`'s to `to`'s (inclusive) that are not among `loadedYears`. */
export function yearsNotLoaded(loadedYears: readonly number[], from: string, to: string): number[] {
  const years: number[] = [];
  for (let year = Number(from.slice(0, 4)); year <= Number(to.slice(0, 4)); year += 1)
    if (!loadedYears.includes(year)) years.push(year);
  return years;
}

function isProvisional(calendar: WorkingCalendar): calendar is DescribedProvisionalCalendar {
  return PROVISIONAL in calendar;
}

export function withProvisionalYears(loaded: DescribedWorkingCalendar): DescribedProvisionalCalendar;
export function withProvisionalYears(loaded: WorkingCalendar): ProvisionalWorkingCalendar;
export function withProvisionalYears(loaded: WorkingCalendar): ProvisionalWorkingCalendar {
  if (isProvisional(loaded)) return loaded;
  const known = new Set(loaded.years);
  const isWorking = (dayNumber: number): boolean => {
    const year = yearOfDayNumber(dayNumber);
    return known.has(year) ? loaded.isWorkingDay(dateOfDayNumber(dayNumber)) : !isWeekendDayNumber(dayNumber);
  };
  const spansUnknown = (from: string, to: string): boolean => yearsNotLoaded(loaded.years, from, to).length > 0;
  /** The last day of the loaded years that run on from `day`'s without a gap; undefined when its year is not loaded. */
  const lastLoadedDayFrom = (day: string): string | undefined => {
    let year = Number(day.slice(0, 4));
    if (!known.has(year)) return undefined;
    while (known.has(year + 1)) year += 1;
    return `${year}-12-31`;
  };
  const describe = (day: string): ProvisionalCalendarDay => {
    const dayNumber = dayNumberOf(day);
    if (known.has(yearOfDayNumber(dayNumber)) && 'describe' in loaded) {
      return { ...(loaded as DescribedWorkingCalendar).describe(day), provisional: false };
    }
    const weekend = isWeekendDayNumber(dayNumber);
    return {
      day,
      kind: weekend ? 'weekend' : 'workday',
      working: !weekend,
      name: null,
      provisional: !known.has(yearOfDayNumber(dayNumber)),
    };
  };
  return {
    [PROVISIONAL]: true,
    years: loaded.years,
    isWorkingDay: (day: string) => isWorking(dayNumberOf(day)),
    describe,
    addWorkingDays(from: string, days: number) {
      // Asked first rather than caught: a deadline reaching into next year's unpublished calendar
      // is the rule every December, and building the refusal's error per case cost more than the
      // count (bench:cases profile).
      if (days === 0) return from;
      const lastLoaded = lastLoadedDayFrom(from);
      const loadedDays = lastLoaded === undefined ? 0 : loaded.workingDaysBetween(from, lastLoaded);
      if (loadedDays >= days) return loaded.addWorkingDays(from, days);
      // The loaded years' working days counted at once; the days after them one by one.
      let dayNumber = dayNumberOf(lastLoaded ?? from);
      for (let counted = loadedDays; counted < days; ) {
        dayNumber += 1;
        if (isWorking(dayNumber)) counted += 1;
      }
      return dateOfDayNumber(dayNumber);
    },
    workingDaysBetween(from: string, to: string) {
      if (!spansUnknown(from, to)) return loaded.workingDaysBetween(from, to);
      let count = 0;
      for (let dayNumber = dayNumberOf(from) + 1; dayNumber <= dayNumberOf(to); dayNumber += 1)
        if (isWorking(dayNumber)) count += 1;
      return count;
    },
    provisionalYears: (from: string, to: string) => yearsNotLoaded(loaded.years, from, to),
  } as DescribedProvisionalCalendar;
}
